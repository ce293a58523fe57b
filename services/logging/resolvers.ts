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

/**
 * A field the request's session answers, which answers its empty value (for its arguments) while Elasticsearch is
 * unavailable (orEmpty).
 */
function degrading<A, T, P = unknown>(
  empty: (args: A) => T,
  answer: (session: LoggingSession, args: A, parent: P) => Promise<T>,
): (parent: P, args: A, ctx: LoggingContext, info: GraphQLResolveInfo) => Promise<T> {
  return (parent, args, ctx, info) =>
    orEmpty(
      ctx,
      info,
      () => empty(args),
      () => answer(ctx.session, args, parent),
    );
}

type HistogramArgs = FilterArgs & { interval?: string | null };
type ContextArgs = { cursor: string; before?: number | null; after?: number | null };
type PodLogsArgs = LogsArgs & { container?: string | null };

export function createResolvers(): SubgraphResolvers<LoggingContext> {
  return {
    DateTime: DateTimeScalar,
    Query: {
      logs: degrading(emptyConnection, (session, args: LogsArgs) => session.logs(args)),
      logHistogram: degrading(
        (args: HistogramArgs) => emptyHistogram(args.interval),
        (session, args) => session.histogram(args.filter, args.interval),
      ),
      logStatistics: degrading(emptyStatistics, (session, args: FilterArgs) => session.statistics(args.filter)),
      logContext: degrading(
        (): LogLineView[] => [],
        (session, args: ContextArgs) => session.context(args.cursor, args.before, args.after),
      ),
    },
    Pod: {
      // Each lookup validates the key and authorizes through the session.
      __resolveReference: (ref: { namespace: unknown; name: unknown }, ctx: LoggingContext) => ctx.session.pod(ref),
      logs: degrading(emptyConnection, (session, args: PodLogsArgs, pod: PodRef) => session.podLogs(pod, args)),
    },
    LogLine: {
      // A reference to workloads' Pod: workloads answers null for a pod that no longer exists.
      pod: (line: LogLineView) =>
        line.namespace && line.podName ? { __typename: 'Pod', namespace: line.namespace, name: line.podName } : null,
    },
  } as SubgraphResolvers<LoggingContext>;
}

export type { LogOrder };
