// GraphQL resolvers of the logging subgraph's search part: arguments in, model (session) calls out. No I/O and no
// domain rules here; the one GraphQL-specific rule is `orEmpty`: a logging field whose Elasticsearch is unavailable
// answers its empty value with the error at its path, instead of nulling the whole response around a non-null field.
import { GraphQLError, responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import type { Viewer } from '../common/authz.js';
import { ErrorCode } from '../common/errors.js';
import { DateTimeScalar } from '../common/scalars.js';
import type { SubgraphResolvers } from '../common/subgraph-server.js';
import type {
  LogConnectionView,
  LogFilterInput,
  LogHistogramView,
  LogLineView,
  LogOrder,
  LoggingSession,
  LogsArgs,
  LogStatisticsView,
  PodRef,
} from './model/index.js';

export interface LoggingContext {
  viewer: Viewer;
  session: LoggingSession;
  /** Errors of fields that answered their empty value instead of failing; the server appends them to the response. */
  fieldErrors: GraphQLError[];
}

async function orEmpty<T>(
  ctx: LoggingContext,
  info: GraphQLResolveInfo,
  empty: () => T,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (!(e instanceof GraphQLError) || e.extensions?.code !== ErrorCode.UPSTREAM_UNAVAILABLE) throw e;
    ctx.fieldErrors.push(
      new GraphQLError(e.message, {
        nodes: info.fieldNodes,
        path: responsePathAsArray(info.path),
        extensions: e.extensions,
      }),
    );
    return empty();
  }
}

const emptyConnection = (): LogConnectionView => ({
  edges: [],
  pageInfo: { hasNextPage: false, endCursor: null },
  totalCount: 0,
  totalCountIsExact: false,
});
const emptyHistogram = (interval?: string | null): LogHistogramView => ({
  interval: interval ?? '',
  total: 0,
  buckets: [],
});
const emptyStatistics = (): LogStatisticsView => ({ containers: 0, lines: 0 });

type FilterArgs = { filter?: LogFilterInput | null };

export function createResolvers(): SubgraphResolvers<LoggingContext> {
  return {
    DateTime: DateTimeScalar,
    Query: {
      logs: (_: unknown, args: LogsArgs, ctx: LoggingContext, info: GraphQLResolveInfo) =>
        orEmpty(ctx, info, emptyConnection, () => ctx.session.logs(args)),
      logHistogram: (
        _: unknown,
        args: FilterArgs & { interval?: string | null },
        ctx: LoggingContext,
        info: GraphQLResolveInfo,
      ) =>
        orEmpty(
          ctx,
          info,
          () => emptyHistogram(args.interval),
          () => ctx.session.histogram(args.filter, args.interval),
        ),
      logStatistics: (_: unknown, args: FilterArgs, ctx: LoggingContext, info: GraphQLResolveInfo) =>
        orEmpty(ctx, info, emptyStatistics, () => ctx.session.statistics(args.filter)),
      logContext: (
        _: unknown,
        args: { cursor: string; before?: number | null; after?: number | null },
        ctx: LoggingContext,
        info: GraphQLResolveInfo,
      ) =>
        orEmpty(
          ctx,
          info,
          (): LogLineView[] => [],
          () => ctx.session.context(args.cursor, args.before, args.after),
        ),
    },
    Pod: {
      // Each lookup validates the key and authorizes through the session.
      __resolveReference: (ref: { namespace: unknown; name: unknown }, ctx: LoggingContext) => ctx.session.pod(ref),
      logs: (
        pod: PodRef,
        args: LogsArgs & { container?: string | null },
        ctx: LoggingContext,
        info: GraphQLResolveInfo,
      ) => orEmpty(ctx, info, emptyConnection, () => ctx.session.podLogs(pod, args)),
    },
    LogLine: {
      // A reference to workloads' Pod: workloads answers null for a pod that no longer exists.
      pod: (line: LogLineView) =>
        line.namespace && line.podName ? { __typename: 'Pod', namespace: line.namespace, name: line.podName } : null,
    },
  } as SubgraphResolvers<LoggingContext>;
}

export type { LogOrder };
