// The logging model: the one API resolvers (and the export endpoint) call. A session per request holds the viewer;
// every root field, entity and export is authorized (model/filter.ts) before anything is sent to Elasticsearch.
import { authorize, authorizeList, withTenancy, type Viewer } from '../../common/authz.js';
import { badUserInput } from '../../common/errors.js';
import { validateName, validateNamespace } from '../../common/k8s/names.js';
import { context, contextSize, emptyHistogram, histogram, statistics } from './aggregates.js';
import { coversNothing, scopeOf, type LogFilterInput, type LogScope } from './filter.js';
import type { LogConnectionView, LogLineView, LoggingModelOptions } from './lines.js';
import { emptyConnection, logsPage, pageSize, walkLines } from './search.js';

export type { LogFilterInput } from './filter.js';
export type { LogConnectionView, LogLineView, LoggingModelOptions } from './lines.js';
export type { LogHistogramView, LogStatisticsView } from './aggregates.js';
export { ElasticsearchAccess, NOT_CONFIGURED, SERVICE } from './es-access.js';
export { CursorCodec } from './cursor.js';

export type LogOrder = 'NEWEST_FIRST' | 'OLDEST_FIRST';

export interface LogsArgs {
  filter?: LogFilterInput | null;
  order?: LogOrder | null;
  first?: number | null;
  after?: string | null;
}

export interface PodRef {
  namespace: string;
  name: string;
}

export type LoggingModel = ReturnType<typeof createLoggingModel>;

export function createLoggingModel(opts: LoggingModelOptions) {
  return {
    options: opts,
    /** A session for one request. */
    session: (viewer: Viewer) => new LoggingSession(opts, withTenancy(viewer, opts.tenancy)),
  };
}

const isDesc = (order: LogOrder | null | undefined) => order !== 'OLDEST_FIRST';

export class LoggingSession {
  constructor(
    private readonly opts: LoggingModelOptions,
    readonly viewer: Viewer,
  ) {}

  /** The filter checked and authorized for this viewer (FORBIDDEN before any upstream call). */
  scope(filter: LogFilterInput | null | undefined): LogScope {
    return scopeOf(this.viewer, filter, (ws) => this.viewer.tenancy?.namespacesOf(ws) ?? []);
  }

  async logs(args: LogsArgs, narrow?: (scope: LogScope) => LogScope): Promise<LogConnectionView> {
    let scope = this.scope(args.filter);
    if (narrow) scope = narrow(scope);
    const first = pageSize(args.first);
    const after = args.after ? this.opts.cursors.decode(args.after, 'after') : undefined;
    if (coversNothing(scope) || first === 0) return emptyConnection();
    return logsPage(this.opts, scope, isDesc(args.order), first, after);
  }

  async histogram(filter: LogFilterInput | null | undefined, interval: string | null | undefined) {
    const scope = this.scope(filter);
    if (coversNothing(scope)) return emptyHistogram(scope, interval);
    return histogram(this.opts, scope, interval);
  }

  async statistics(filter: LogFilterInput | null | undefined) {
    const scope = this.scope(filter);
    if (coversNothing(scope)) return { containers: 0, lines: 0 };
    return statistics(this.opts, scope);
  }

  async context(cursor: string, before: number | null | undefined, after: number | null | undefined) {
    authorizeList(this.viewer);
    const at = this.opts.cursors.decode(cursor, 'cursor');
    const b = contextSize(before, 'before');
    const a = contextSize(after, 'after');
    // The cursor names the line's namespace, pod and container (signed by us); the caller must read there now.
    const scope = this.scope({ namespaces: [at.namespace] });
    return context(this.opts, { ...scope, pods: [at.pod], containers: [at.container] }, at, b, a);
  }

  /** A Pod entity (reference from the gateway): its key checked and its namespace readable. */
  pod(ref: { namespace: unknown; name: unknown }): PodRef {
    validateNamespace(ref.namespace, 'namespace');
    validateName('dns1123-subdomain', ref.name, 'name', 'pod');
    const pod = { namespace: ref.namespace as string, name: ref.name as string };
    authorize(this.viewer, 'read', pod.namespace);
    return pod;
  }

  /** Pod.logs: the pod's lines (and its `container`'s only, when given), narrowed further by the filter. */
  podLogs(pod: PodRef, args: LogsArgs & { container?: string | null }) {
    if (args.container !== null && args.container !== undefined)
      validateName('dns1123-label', args.container, 'container', 'container');
    const container = args.container ?? undefined;
    return this.logs(args, (scope) => ({
      ...scope,
      namespaces: scope.namespaces === 'all' || scope.namespaces.includes(pod.namespace) ? [pod.namespace] : [],
      pods: scope.pods.length && !scope.pods.includes(pod.name) ? [] : [pod.name],
      containers:
        container === undefined
          ? scope.containers
          : scope.containers.length && !scope.containers.includes(container)
            ? []
            : [container],
    }));
  }

  /**
   * The export: every matching line in pages of `pageLines`, at most `limit`, checked and authorized before the first
   * page is asked for (a FORBIDDEN or BAD_USER_INPUT is thrown by this call, not by the iteration).
   */
  export(
    filter: LogFilterInput | null | undefined,
    order: LogOrder | null | undefined,
    limit: number,
    pageLines: number,
    signal: AbortSignal,
  ): AsyncGenerator<LogLineView[]> {
    const scope = this.scope(filter);
    if (!Number.isInteger(limit) || limit < 1)
      throw badUserInput('limit must be a positive integer', { argument: 'limit' });
    if (coversNothing(scope)) return (async function* () {})();
    return walkLines(this.opts, scope, isDesc(order), pageLines, limit, signal);
  }
}
