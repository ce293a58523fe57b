// GraphQL resolvers of the monitoring subgraph: arguments in, model (session) calls out. No I/O and no domain rules
// here; the one GraphQL-specific rule is `orEmpty` for the contract's non-null lists (see schema/monitoring.graphql).
import { GraphQLError, responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import { DateTimeScalar, JSONScalar } from '../common/scalars.js';
import type { SubgraphResolvers } from '../common/subgraph-server.js';
import { METRICS, type Level } from './model/metrics.js';
import type { MetricHandle, MetricsOf, MonitoringSession, RankArgs, RankView, Viewer } from './model/index.js';
import type { AlertArgs } from './model/alerts.js';

export interface MonitoringContext {
  viewer: Viewer;
  session: MonitoringSession;
  /** Errors of fields that answered an empty list instead of failing; the server appends them to the response. */
  fieldErrors: GraphQLError[];
}

type Ref = Record<string, unknown>;

/**
 * A non-null list field that fails answers [] and reports its error at its path (in the response's `errors`),
 * instead of nulling every non-null parent up to the page it is in.
 */
async function orEmpty<T>(ctx: MonitoringContext, info: GraphQLResolveInfo, work: () => Promise<T[]>): Promise<T[]> {
  try {
    return await work();
  } catch (e) {
    if (!(e instanceof GraphQLError) || !e.extensions?.code) throw e;
    ctx.fieldErrors.push(
      new GraphQLError(e.message, {
        nodes: info.fieldNodes,
        path: responsePathAsArray(info.path),
        extensions: e.extensions,
      }),
    );
    return [];
  }
}

/** The Metric fields of a `<Level>Metrics` type: one per metric of the level. */
function metricFields(level: Level) {
  return Object.fromEntries(
    Object.keys(METRICS[level]).map((name) => [
      name,
      (parent: MetricsOf, _args: unknown, ctx: MonitoringContext) => ctx.session.metric(parent, name),
    ]),
  );
}

const rank = <A extends Omit<RankArgs, 'by'> & { by: string }>(args: A): RankArgs => args;

export function createResolvers(): SubgraphResolvers<MonitoringContext> {
  return {
    DateTime: DateTimeScalar,
    JSON: JSONScalar,
    Query: {
      alerts: (_: unknown, args: AlertArgs, ctx: MonitoringContext, info: GraphQLResolveInfo) =>
        orEmpty(ctx, info, () => ctx.session.alerts(args)),
      alertingRules: (_: unknown, args: AlertArgs, ctx: MonitoringContext) => ctx.session.alertingRules(args),
      cluster: (_: unknown, __: unknown, ctx: MonitoringContext) => ctx.session.cluster(),
      workspaceMetrics: (_: unknown, args: { name: string }, ctx: MonitoringContext) => ctx.session.workspace(args),
      topPods: (_: unknown, args: RankArgs, ctx: MonitoringContext) => ctx.session.top('pod', rank(args)),
      topWorkloads: (_: unknown, args: RankArgs, ctx: MonitoringContext) => ctx.session.top('workload', rank(args)),
      topProjects: (_: unknown, args: RankArgs, ctx: MonitoringContext) => ctx.session.top('project', rank(args)),
      topNodes: (_: unknown, args: RankArgs, ctx: MonitoringContext) => ctx.session.top('node', rank(args)),
      promQuery: (_: unknown, args: { query: string; time?: string | null }, ctx: MonitoringContext) =>
        ctx.session.promQuery(args.query, args.time),
      promQueryRange: (
        _: unknown,
        args: { query: string; start: string; end: string; step: string },
        ctx: MonitoringContext,
      ) => ctx.session.promQueryRange(args.query, args.start, args.end, args.step),
    },

    // ---- entities: each lookup validates the key and authorizes through the session
    Pod: {
      __resolveReference: (ref: Ref, ctx: MonitoringContext) => (
        ctx.session.pod(ref as { namespace: unknown; name: unknown }),
        ref
      ),
      metrics: (pod: { namespace: string; name: string }, _: unknown, ctx: MonitoringContext) => ctx.session.pod(pod),
    },
    Node: {
      __resolveReference: (ref: Ref, ctx: MonitoringContext) => (ctx.session.node(ref as { name: unknown }), ref),
      metrics: (node: { name: string }, _: unknown, ctx: MonitoringContext) => ctx.session.node(node),
    },
    Project: {
      __resolveReference: (ref: Ref, ctx: MonitoringContext) => (ctx.session.project(ref as { name: unknown }), ref),
      metrics: (project: { name: string }, _: unknown, ctx: MonitoringContext) => ctx.session.project(project),
    },
    Workspace: {
      __resolveReference: (ref: Ref, ctx: MonitoringContext) => (ctx.session.workspace(ref as { name: unknown }), ref),
      metrics: (ws: { name: string }, _: unknown, ctx: MonitoringContext) => ctx.session.workspace(ws),
    },
    Workload: {
      __resolveReference: (ref: Ref, ctx: MonitoringContext) => (
        ctx.session.workload(ref as { namespace: unknown; kind: unknown; name: unknown }),
        ref
      ),
      metrics: (w: { namespace: string; kind: string; name: string }, _: unknown, ctx: MonitoringContext) =>
        ctx.session.workload(w),
    },
    Cluster: {
      metrics: (c: MetricsOf<'cluster'>) => c,
    },

    // ---- metrics
    PodMetrics: {
      ...metricFields('pod'),
      container: (parent: MetricsOf<'pod'>, args: { name: string }, ctx: MonitoringContext) =>
        ctx.session.container(parent.target, args.name),
    },
    ContainerMetrics: { ...metricFields('container'), name: (c: { name: string }) => c.name },
    NodeMetrics: metricFields('node'),
    ProjectMetrics: metricFields('project'),
    WorkspaceMetrics: metricFields('workspace'),
    WorkloadMetrics: metricFields('workload'),
    ClusterMetrics: metricFields('cluster'),
    Metric: {
      value: (h: MetricHandle, args: { at?: string | null }, ctx: MonitoringContext) => ctx.session.value(h, args.at),
      series: (
        h: MetricHandle,
        args: { start: string; end: string; step: string },
        ctx: MonitoringContext,
        info: GraphQLResolveInfo,
      ) => orEmpty(ctx, info, () => ctx.session.series(h, args.start, args.end, args.step)),
      unit: (h: MetricHandle) => h.unit,
    },

    // ---- rankings: the key, the value, and the object as an entity reference
    PodRank: {
      namespace: (r: RankView<'pod'>) => r.target.namespace,
      name: (r: RankView<'pod'>) => r.target.pod,
      pod: (r: RankView<'pod'>) => ({ namespace: r.target.namespace, name: r.target.pod }),
    },
    WorkloadRank: {
      namespace: (r: RankView<'workload'>) => r.target.namespace,
      kind: (r: RankView<'workload'>) => r.target.kind,
      name: (r: RankView<'workload'>) => r.target.name,
      workload: (r: RankView<'workload'>) => ({
        namespace: r.target.namespace,
        kind: r.target.kind,
        name: r.target.name,
      }),
    },
    ProjectRank: {
      name: (r: RankView<'project'>) => r.target.namespace,
      project: (r: RankView<'project'>) => ({ name: r.target.namespace }),
    },
    NodeRank: {
      name: (r: RankView<'node'>) => r.target.node,
      node: (r: RankView<'node'>) => ({ name: r.target.node }),
    },
  } as SubgraphResolvers<MonitoringContext>;
}
