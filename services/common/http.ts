// The HTTP side every kubegraph service shares: GraphQL through Apollo Server on a plain node:http server, with
// /healthz, /readyz and /metrics next to it.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext, type ContextFunction } from '@apollo/server';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Viewer } from './authz.js';
import { metricsTokenFromEnv } from './config.js';
import { IDENTITY_HEADER, IdentityError, verifyIdentity } from './identity.js';
import { readBody as readLimitedBody } from './read-body.js';

export interface ServiceHttpOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  context: ContextFunction<[{ req: IncomingMessage; res: ServerResponse }], TContext>;
  /** Ready to serve (caches synced, dependencies reachable). */
  ready: () => boolean | Promise<boolean>;
  metrics: Registry;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes?: number;
  /** Extra routes tried before GraphQL (return true when handled). */
  routes?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;
  graphqlPath?: string;
  /** Called once per request when its response has been sent (access logs, metrics of rejected requests). */
  onResponse?: (info: { req: IncomingMessage; path: string; status: number; seconds: number }) => void;
  /**
   * The key of the gateway's identity signature (services/common/identity.ts): when set, a GraphQL request without a
   * valid signed identity is refused with 401 before anything else, and the context reads the viewer with
   * `viewerOf(req)`.
   */
  identityKey?: Uint8Array;
  /**
   * The bearer token /metrics wants; default: METRICS_TOKEN from the environment (config.ts); null: open whatever the
   * environment says.
   */
  metricsToken?: string | null;
}

const requestViewers = new WeakMap<IncomingMessage, Viewer>();

/** The verified viewer of a request (set when the server checks identities). */
export const viewerOf = (req: IncomingMessage): Viewer | undefined => requestViewers.get(req);

export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return readLimitedBody(req, limit, {
    tooLarge: () => new BodyTooLarge(`request body larger than ${limit} bytes`),
    overflow: 'drain',
  }).then((buf) => buf.toString('utf8'));
}

export function createServiceHttpServer<TContext extends BaseContext>(opts: ServiceHttpOptions<TContext>): Server {
  const path = opts.graphqlPath ?? '/graphql';
  const limit = opts.maxBodyBytes ?? 1024 * 1024;
  const metricsToken = opts.metricsToken === undefined ? metricsTokenFromEnv() : (opts.metricsToken ?? undefined);
  // Compared as hashes: equal lengths for timingSafeEqual, and nothing about the token's length leaks in timing.
  const expectedMetricsAuth = metricsToken ? sha256(`Bearer ${metricsToken}`) : undefined;
  return createServer((req, res) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (opts.onResponse) {
      const onResponse = opts.onResponse;
      res.once('finish', () =>
        onResponse({
          req,
          path: url.pathname,
          status: res.statusCode,
          seconds: Number(process.hrtime.bigint() - started) / 1e9,
        }),
      );
    }
    void (async () => {
      try {
        if (url.pathname === '/healthz') return send(res, 200, 'text/plain', 'ok');
        if (url.pathname === '/readyz') {
          const ok = await opts.ready();
          return send(res, ok ? 200 : 503, 'text/plain', ok ? 'ok' : 'not ready');
        }
        if (url.pathname === '/metrics') {
          if (expectedMetricsAuth && !timingSafeEqual(sha256(req.headers.authorization ?? ''), expectedMetricsAuth)) {
            res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
            return send(res, 401, 'text/plain', 'metrics need Authorization: Bearer <METRICS_TOKEN>');
          }
          return send(res, 200, opts.metrics.contentType, await opts.metrics.metrics());
        }
        if (opts.routes && (await opts.routes(req, res, url))) return;
        if (url.pathname !== path) return send(res, 404, 'text/plain', 'not found');
        if (opts.identityKey) {
          const header = req.headers[IDENTITY_HEADER];
          try {
            requestViewers.set(req, await verifyIdentity(opts.identityKey, Array.isArray(header) ? header[0] : header));
          } catch (e) {
            if (!(e instanceof IdentityError)) throw e;
            return send(
              res,
              401,
              'application/json',
              JSON.stringify({ errors: [{ message: e.message, extensions: { code: 'UNAUTHENTICATED' } }] }),
            );
          }
        }
        // A GET carries its query in the URL: the same size limit applies.
        if (url.search.length > limit) throw new BodyTooLarge(`request query string larger than ${limit} bytes`);
        let body: unknown;
        if (req.method === 'POST') {
          const raw = await readBody(req, limit);
          const type = String(req.headers['content-type'] ?? '');
          if (raw && /json/.test(type)) {
            try {
              body = JSON.parse(raw);
            } catch {
              return send(
                res,
                400,
                'application/json',
                JSON.stringify({
                  errors: [{ message: 'request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }],
                }),
              );
            }
          } else body = raw;
        }
        const headers = new HeaderMap();
        for (const [k, v] of Object.entries(req.headers))
          if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        const response = await opts.apollo.executeHTTPGraphQLRequest({
          httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: url.search, body },
          context: () => opts.context({ req, res }),
        });
        for (const [k, v] of response.headers) res.setHeader(k, v);
        res.statusCode = response.status ?? 200;
        if (response.body.kind === 'complete') {
          res.end(response.body.string);
          return;
        }
        for await (const chunk of response.body.asyncIterator) res.write(chunk);
        res.end();
      } catch (e) {
        if (e instanceof BodyTooLarge) {
          return send(
            res,
            413,
            'application/json',
            JSON.stringify({ errors: [{ message: e.message, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] }),
          );
        }
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error');
        else res.end();
      }
    })();
  });
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export async function listen(server: Server, port: number, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** A GraphQL-shaped error answer (`{ errors: [{ message, extensions: { code } }] }`) for plain HTTP routes. */
export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { ...extra, code } }] });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}
