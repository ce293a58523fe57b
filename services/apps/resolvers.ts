// The apps subgraph's resolvers: thin, each a call into the model with the viewer of the request.
import type { Viewer } from '../common/authz.js';
import { DateTimeScalar, JSONScalar } from '../common/scalars.js';
import type { SubgraphResolvers } from '../common/subgraph-server.js';
import type { ReleaseRecord } from './clients/release-secrets.js';
import type { ChartVersionFiles } from './model/catalog.js';
import type { OperationsModel } from './model/operations.js';
import type { Release } from './model/release-index.js';
import type { ReleaseEventPayload, ReleasesModel } from './model/releases.js';

export interface AppsContext {
  viewer: Viewer;
  /** Chart files read in this request (repository, chart, version → readme, values, schema). */
  chartFiles: Map<string, Promise<ChartVersionFiles>>;
}

type Args = Record<string, never>;
/* eslint-disable @typescript-eslint/no-explicit-any -- GraphQL arguments arrive as the schema declares them */
type AnyArgs = any;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Helm's status text as the enum: pending-install → PENDING_INSTALL; anything unknown → UNKNOWN. */
const STATUSES = new Set([
  'UNKNOWN',
  'DEPLOYED',
  'UNINSTALLED',
  'SUPERSEDED',
  'FAILED',
  'UNINSTALLING',
  'PENDING_INSTALL',
  'PENDING_UPGRADE',
  'PENDING_ROLLBACK',
]);
export const statusEnum = (status: string): string => {
  const s = status.toUpperCase().replace(/-/g, '_');
  return STATUSES.has(s) ? s : 'UNKNOWN';
};

export interface AppsModels {
  releases: ReleasesModel;
  operations: OperationsModel;
}

export function createReleaseResolvers({ releases, operations }: AppsModels): SubgraphResolvers<AppsContext> {
  const revision = {
    revision: (r: ReleaseRecord) => r.revision,
    status: (r: ReleaseRecord) => statusEnum(r.status),
    chartVersion: (r: ReleaseRecord) => r.chartVersion,
    appVersion: (r: ReleaseRecord) => r.appVersion,
    updatedAt: (r: ReleaseRecord) => r.lastDeployed,
    description: (r: ReleaseRecord) => r.description,
  };
  return {
    DateTime: DateTimeScalar,
    JSON: JSONScalar,
    Query: {
      helmReleases: (_: unknown, args: AnyArgs, ctx: AppsContext) => releases.list(ctx.viewer, args),
      helmRelease: (_: unknown, args: AnyArgs, ctx: AppsContext) => releases.get(ctx.viewer, args.namespace, args.name),
    },
    Mutation: {
      installRelease: (_: unknown, args: AnyArgs, ctx: AppsContext) => operations.install(ctx.viewer, args),
      upgradeRelease: (_: unknown, args: AnyArgs, ctx: AppsContext) => operations.upgrade(ctx.viewer, args),
      rollbackRelease: (_: unknown, args: AnyArgs, ctx: AppsContext) => operations.rollback(ctx.viewer, args),
      uninstallRelease: (_: unknown, args: AnyArgs, ctx: AppsContext) => operations.uninstall(ctx.viewer, args),
    },
    Subscription: {
      helmOperation: {
        subscribe: (_: unknown, args: AnyArgs, ctx: AppsContext) =>
          operations.follow(ctx.viewer, args.id, args.resumeToken),
        resolve: (op: unknown) => op,
      },
      helmReleaseChanged: {
        subscribe: (_: unknown, args: AnyArgs, ctx: AppsContext) => releases.changes(ctx.viewer, args),
        resolve: (payload: ReleaseEventPayload) => payload,
      },
    },
    HelmReleaseEvent: {
      release: (p: ReleaseEventPayload) => p.release,
      snapshot: (p: ReleaseEventPayload) => p.snapshot,
    },
    HelmRelease: {
      // async: a refused lookup rejects its own item (null + error at _entities.i), not the whole _entities list.
      __resolveReference: async (ref: { namespace: string; name: string }, ctx: AppsContext) =>
        releases.get(ctx.viewer, ref.namespace, ref.name),
      namespace: (r: Release) => r.namespace,
      name: (r: Release) => r.name,
      revision: (r: Release) => r.current.revision,
      status: (r: Release) => statusEnum(r.current.status),
      chartName: (r: Release) => r.current.chartName,
      chartVersion: (r: Release) => r.current.chartVersion,
      appVersion: (r: Release) => r.current.appVersion,
      updatedAt: (r: Release) => r.current.lastDeployed,
      description: (r: Release) => r.current.description,
      notes: (r: Release) => r.current.notes,
      values: (r: Release) => r.current.values,
      manifest: (r: Release, _: Args, ctx: AppsContext) => releases.manifest(ctx.viewer, r.current),
      history: (r: Release) => r.revisions,
      workloads: (r: Release, _: Args, ctx: AppsContext) => releases.workloads(ctx.viewer, r),
    },
    HelmReleaseRevision: revision,
    Workload: {
      __resolveReference: async (ref: { namespace: string; kind: string; name: string }, ctx: AppsContext) =>
        releases.workloadReference(ctx.viewer, ref),
      helmRelease: (ref: { namespace: string; kind: string; name: string }, _: Args, ctx: AppsContext) =>
        releases.releaseOfWorkload(ctx.viewer, ref),
    },
  } as SubgraphResolvers<AppsContext>;
}
