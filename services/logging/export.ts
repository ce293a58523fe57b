// GET /logs/export on the logging subgraph (the gateway's /logs/export proxies here with the caller's signed
// identity): the filter as query parameters, every matching line as text/plain, one per line
// (timestamp, namespace, pod, container, message; tab-separated), paged through Elasticsearch with a point in time,
// written as the client reads it (constant memory) and stopped when the client goes away.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { DEV_VIEWER, type Viewer } from '../common/authz.js';
import { drained } from '../common/drained.js';
import { ErrorCode } from '../common/errors.js';
import { sendError } from '../common/http.js';
import { IDENTITY_HEADER, IdentityError, verifyIdentity } from '../common/identity.js';
import type { Logger } from '../common/log.js';
import type { LogFilterInput, LogLineView, LogOrder, LoggingModel } from './model/index.js';

export const EXPORT_PATH = '/logs/export';
/** Lines per Elasticsearch page of an export. */
export const EXPORT_PAGE_LINES = 2000;

const LIST_PARAMS = [
  'workspaces',
  'namespaces',
  'pods',
  'containers',
  'nodes',
  'streams',
  'contains',
  'excludes',
] as const;
const SINGLE_PARAMS = ['start', 'end', 'order', 'limit'] as const;

class BadParameter extends Error {}

/** The filter of an export's query string: LogFilter's field names, lists as repeated parameters. */
export function exportRequestOf(params: URLSearchParams): {
  filter: LogFilterInput;
  order: LogOrder;
  limit: number;
} {
  const known = new Set<string>([...LIST_PARAMS, ...SINGLE_PARAMS, 'workloads']);
  for (const key of params.keys())
    if (!known.has(key)) throw new BadParameter(`unknown parameter ${JSON.stringify(key)}`);
  for (const key of SINGLE_PARAMS)
    if (params.getAll(key).length > 1) throw new BadParameter(`parameter ${key} is given more than once`);
  const filter: { -readonly [K in keyof LogFilterInput]: LogFilterInput[K] } = {};
  for (const key of LIST_PARAMS) {
    const values = params.getAll(key);
    if (values.length) filter[key] = values;
  }
  const workloads = params.getAll('workloads').map((w) => {
    const m = /^([^/]+)\/([A-Z_]+)\/([^/]+)$/.exec(w);
    if (!m)
      throw new BadParameter(`workloads ${JSON.stringify(w)} is not namespace/KIND/name (e.g. shop/DEPLOYMENT/web)`);
    return { namespace: m[1]!, kind: m[2]!, name: m[3]! };
  });
  if (workloads.length) filter.workloads = workloads;
  const start = params.get('start');
  const end = params.get('end');
  if (start !== null) filter.start = start;
  if (end !== null) filter.end = end;
  const order = params.get('order') ?? 'NEWEST_FIRST';
  if (order !== 'NEWEST_FIRST' && order !== 'OLDEST_FIRST')
    throw new BadParameter(`order ${JSON.stringify(order)} is not NEWEST_FIRST or OLDEST_FIRST`);
  const rawLimit = params.get('limit');
  const limit = rawLimit === null ? Number.MAX_SAFE_INTEGER : Number(rawLimit);
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new BadParameter(`limit ${JSON.stringify(rawLimit)} is not a positive integer`);
  return { filter, order, limit };
}

/** One exported line; a newline inside a message is written as \n so that each line stays one line. */
export const exportLine = (l: LogLineView): string =>
  `${l.timestamp}\t${l.namespace}\t${l.podName}\t${l.container}\t${l.message.replace(/\r?\n/g, '\\n')}\n`;

const STATUS: Record<string, number> = {
  [ErrorCode.BAD_USER_INPUT]: 400,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.UPSTREAM_UNAVAILABLE]: 503,
};

export interface ExportRouteOptions {
  model: LoggingModel;
  /** The key of the gateway's identity signature; undefined: every request is the development identity. */
  identityKey?: Uint8Array;
  log: Logger;
}

/** The subgraph route (createSubgraphServer `routes`): true when it handled the request. */
export function exportRoute(opts: ExportRouteOptions) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (url.pathname !== EXPORT_PATH) return false;
    if (req.method !== 'GET') {
      res.setHeader('Allow', 'GET');
      sendError(res, 405, 'METHOD_NOT_ALLOWED', 'the export is a GET');
      return true;
    }
    let viewer: Viewer = DEV_VIEWER;
    if (opts.identityKey) {
      const header = req.headers[IDENTITY_HEADER];
      try {
        viewer = await verifyIdentity(opts.identityKey, Array.isArray(header) ? header[0] : header);
      } catch (e) {
        if (!(e instanceof IdentityError)) throw e;
        sendError(res, 401, ErrorCode.UNAUTHENTICATED, e.message);
        return true;
      }
    }
    const aborted = new AbortController();
    res.once('close', () => aborted.abort());
    let pages: AsyncGenerator<LogLineView[]>;
    try {
      const { filter, order, limit } = exportRequestOf(url.searchParams);
      pages = opts.model.session(viewer).export(filter, order, limit, EXPORT_PAGE_LINES, aborted.signal);
    } catch (e) {
      if (e instanceof BadParameter) sendError(res, 400, ErrorCode.BAD_USER_INPUT, e.message);
      else if (e instanceof GraphQLError && typeof e.extensions.code === 'string')
        sendError(res, STATUS[e.extensions.code] ?? 500, e.extensions.code, e.message, e.extensions);
      else throw e;
      return true;
    }
    let started = false;
    try {
      for await (const lines of pages) {
        if (!started) {
          started = true;
          res.writeHead(200, {
            'Content-Type': 'text/plain; charset=utf-8',
            'Content-Disposition': `attachment; filename="logs-${new Date().toISOString().replace(/[:.]/g, '-')}.txt"`,
            'Cache-Control': 'no-store',
            'X-Content-Type-Options': 'nosniff',
          });
        }
        if (aborted.signal.aborted) break;
        if (!res.write(lines.map(exportLine).join(''))) await drained(res);
        if (aborted.signal.aborted) break;
      }
    } catch (e) {
      if (!started && e instanceof GraphQLError && typeof e.extensions.code === 'string') {
        sendError(res, STATUS[e.extensions.code] ?? 500, e.extensions.code, e.message, e.extensions);
        return true;
      }
      // Part of the file is out: cut the connection so the client sees an incomplete download, not a short file.
      opts.log.warn('log export failed midway', { error: (e as Error).message });
      res.destroy();
      return true;
    } finally {
      await pages.return(undefined).catch(() => {});
    }
    if (aborted.signal.aborted) return true;
    if (!started)
      res.writeHead(200, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Disposition': `attachment; filename="logs-${new Date().toISOString().replace(/[:.]/g, '-')}.txt"`,
        'Cache-Control': 'no-store',
      });
    res.end();
    return true;
  };
}
