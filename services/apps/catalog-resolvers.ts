// The catalog's resolvers (repositories, charts, chart files): thin, each a call into model/catalog.ts with the viewer.
import type { SubgraphResolvers } from '../common/subgraph-server.js';
import type { Catalog, ChartVersionFiles, ChartVersionView, ChartView, HelmRepositoryView } from './model/catalog.js';
import type { AppsContext } from './resolvers.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- GraphQL arguments arrive as the schema declares them */
type AnyArgs = any;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** readme, values and valuesSchema come from one read of the archive per version and request. */
function versionFiles(catalog: Catalog, ctx: AppsContext, v: ChartVersionView): Promise<ChartVersionFiles> {
  const key = `${v.repository}\n${v.chart}\n${v.version}`;
  let files = ctx.chartFiles.get(key);
  if (!files) {
    files = catalog.chartVersionFiles(ctx.viewer, v.repository, v.chart, v.version);
    ctx.chartFiles.set(key, files);
  }
  return files;
}

export function createCatalogResolvers(catalog: Catalog): SubgraphResolvers<AppsContext> {
  return {
    Query: {
      helmRepositories: (_: unknown, args: AnyArgs, ctx: AppsContext) =>
        catalog.listRepositories(ctx.viewer, args.workspace),
      charts: (_: unknown, args: AnyArgs, ctx: AppsContext) => catalog.charts(ctx.viewer, args),
      chart: (_: unknown, args: AnyArgs, ctx: AppsContext) => catalog.chart(ctx.viewer, args.repository, args.name),
    },
    Mutation: {
      addHelmRepository: (_: unknown, args: AnyArgs, ctx: AppsContext) => catalog.addRepository(ctx.viewer, args.input),
      removeHelmRepository: (_: unknown, args: AnyArgs, ctx: AppsContext) =>
        catalog.removeRepository(ctx.viewer, args.name),
      syncHelmRepository: (_: unknown, args: AnyArgs, ctx: AppsContext) =>
        catalog.syncRepository(ctx.viewer, args.name),
    },
    HelmRepository: {
      workspace: (r: HelmRepositoryView) => (r.workspace === null ? null : { name: r.workspace }),
      charts: (r: HelmRepositoryView, args: AnyArgs, ctx: AppsContext) =>
        catalog.charts(ctx.viewer, { ...args, repository: r.name }),
    },
    Chart: {
      repository: async (c: ChartView, _: AnyArgs, ctx: AppsContext) => catalog.repository(ctx.viewer, c.repository),
    },
    ChartVersion: {
      readme: async (v: ChartVersionView, _: AnyArgs, ctx: AppsContext) => (await versionFiles(catalog, ctx, v)).readme,
      values: async (v: ChartVersionView, _: AnyArgs, ctx: AppsContext) => (await versionFiles(catalog, ctx, v)).values,
      valuesSchema: async (v: ChartVersionView, _: AnyArgs, ctx: AppsContext) =>
        (await versionFiles(catalog, ctx, v)).valuesSchema,
    },
  } as SubgraphResolvers<AppsContext>;
}
