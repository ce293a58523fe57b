// GET /logs/export on the gateway: the caller is authenticated as for /graphql (the Authorization bearer token through
// the gateway's Authenticator), and the request goes to the logging subgraph's /logs/export with the caller's identity
// signed as GraphQL fetches carry it. The subgraph's text/plain answer is passed through as it comes, with
// back-pressure (the gateway holds one chunk at a time whatever the export's size), and the upstream request is
// aborted when the client goes away.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isAnonymous } from '../services/common/authz.js';
import { ErrorCode } from '../services/common/errors.js';
import { sendError } from '../services/common/http.js';
import { IDENTITY_HEADER, signIdentity } from '../services/common/identity.js';
import type { Logger } from '../services/common/log.js';
import { bearerToken, isUnauthenticated, type Authenticator } from './identity.js';

export const LOG_EXPORT_PATH = '/logs/export';

export interface LogExportOptions {
  authenticator: Authenticator;
  /** The key the forwarded identity is signed with; unset: none is forwarded (subgraphs without checks). */
  signingKey?: Uint8Array;
  /** The logging subgraph's GraphQL URL now (undefined: the supergraph has no logging subgraph). */
  loggingUrl: () => string | undefined;
  /** Time to the first byte of the subgraph's answer (ms); the stream itself runs as long as it needs. */
  timeoutMs: number;
  log: Logger;
}

/** A `routes` handler of the gateway's HTTP server: true when it handled the request. */
export function logExportRoute(opts: LogExportOptions) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (url.pathname !== LOG_EXPORT_PATH) return false;
    if (req.method !== 'GET') {
      res.setHeader('Allow', 'GET');
      sendError(res, 405, 'METHOD_NOT_ALLOWED', 'the export is a GET');
      return true;
    }
    let identity;
    try {
      identity = await opts.authenticator.authenticate(bearerToken(req.headers.authorization));
    } catch (e) {
      if (!isUnauthenticated(e)) throw e;
      sendError(res, 401, ErrorCode.UNAUTHENTICATED, e.message);
      return true;
    }
    if (isAnonymous(identity)) {
      sendError(res, 401, ErrorCode.UNAUTHENTICATED, 'sign in first: the export needs an access token or an API token');
      return true;
    }
    const graphqlUrl = opts.loggingUrl();
    if (!graphqlUrl) {
      sendError(res, 503, ErrorCode.UPSTREAM_UNAVAILABLE, 'no logging subgraph is configured', { service: 'logging' });
      return true;
    }
    const target = new URL(LOG_EXPORT_PATH, graphqlUrl);
    target.search = url.search;
    const headers: Record<string, string> = {};
    if (opts.signingKey) headers[IDENTITY_HEADER] = await signIdentity(opts.signingKey, identity);
    const upstream = new AbortController();
    const clientGone = () => upstream.abort();
    res.once('close', clientGone);
    const firstByte = setTimeout(() => upstream.abort(), opts.timeoutMs);
    let answer: Response;
    try {
      answer = await fetch(target, { headers, signal: upstream.signal });
    } catch (e) {
      clearTimeout(firstByte);
      if (res.destroyed || res.writableEnded) return true;
      sendError(
        res,
        503,
        ErrorCode.UPSTREAM_UNAVAILABLE,
        `the logging subgraph cannot be reached: ${(e as Error).message}`,
        {
          service: 'logging',
        },
      );
      return true;
    }
    clearTimeout(firstByte);
    const pass: Record<string, string> = {};
    for (const h of ['content-type', 'content-disposition', 'cache-control', 'x-content-type-options']) {
      const v = answer.headers.get(h);
      if (v !== null) pass[h] = v;
    }
    res.writeHead(answer.status, pass);
    if (!answer.body) {
      res.end();
      return true;
    }
    try {
      await pipeline(Readable.fromWeb(answer.body as import('node:stream/web').ReadableStream), res);
    } catch (e) {
      // The client went away (the upstream request is aborted with it), or the subgraph cut its answer (the client's
      // connection is cut too, so it sees an incomplete download).
      if (!upstream.signal.aborted) opts.log.warn('log export stopped', { error: (e as Error).message });
      res.destroy();
    } finally {
      res.off('close', clientGone);
    }
    return true;
  };
}
