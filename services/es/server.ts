// The Elasticsearch stand-in's HTTP server: routes of the REST API the logging subgraph, Fluent Bit's es output and
// Kibana-style clients use, JSON in and out, Elasticsearch's error envelope and status codes, and the
// `X-Elastic-Product: Elasticsearch` header on every answer (the official clients refuse to talk without it).
//
// startEs(options?: EsServerOptions): Promise<EsServer>  — { url, port, cluster, close() }
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';
import * as admin from './admin.js';
import { analyzeApi } from './analysis.js';
import { Cluster, parseTimeValue } from './cluster.js';
import { filterPath, parseJson, readBody } from './http-body.js';
import { bulk, deleteDocument, getDocument, indexDocument, updateDocument } from './documents.js';
import { EsError, NODE_ID, illegalArgument } from './errors.js';
import { toJson, withDocTypes } from './json.js';
import { clearScroll, continueScroll, startScroll } from './scroll.js';
import { count, search } from './search.js';
import { authenticateInfo, EsSecurity, WWW_AUTHENTICATE, type EsSecurityOptions, type Principal } from './security.js';

export interface EsServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Largest request body accepted (default 100 MB, Elasticsearch's http.max_content_length). */
  maxBodyBytes?: number;
  cluster?: Cluster;
  /** Serve HTTPS with this PEM certificate and key (as `xpack.security.http.ssl`). */
  tls?: { cert: string; key: string };
  /** Require basic-auth users or API keys (as `xpack.security.enabled`); unset: anyone may ask anything. */
  security?: EsSecurityOptions;
}

export interface EsServer {
  url: string;
  port: number;
  cluster: Cluster;
  close(): Promise<void>;
}

export const ES_VERSION = '8.15.0';

interface Request {
  method: string;
  parts: string[];
  params: URLSearchParams;
  text: string;
  json: () => unknown;
  principal?: Principal;
}

interface Reply {
  status: number;
  body?: unknown;
  /** Plain text instead of JSON (`_cat` tables). */
  text?: string;
}

type Handler = (req: Request, cluster: Cluster, p: Record<string, string>) => Reply | Promise<Reply>;

const ok = (body: unknown, status = 200): Reply => ({ status, body });

function rootInfo(): unknown {
  return {
    name: 'kubegraph-es',
    cluster_name: admin.CLUSTER_NAME,
    cluster_uuid: 'kubegraphStandInClusterA',
    version: {
      number: ES_VERSION,
      build_flavor: 'default',
      build_type: 'tar',
      build_hash: '1a77947f34deddb41af25e6f0ddb8e830159c179',
      build_date: '2024-08-05T10:05:34.233336849Z',
      build_snapshot: false,
      lucene_version: '9.11.1',
      minimum_wire_compatibility_version: '7.17.0',
      minimum_index_compatibility_version: '7.0.0',
    },
    tagline: 'You Know, for Search',
  };
}

/** Routes: method, path pattern (`{name}` a segment), handler. The first match wins. */
const ROUTES: [string[], string, Handler][] = [
  [['GET', 'HEAD'], '/', () => ok(rootInfo())],
  [['GET'], '/_security/_authenticate', (r) => ok(authenticateInfo(r.principal))],
  [['GET', 'POST'], '/_analyze', (r) => ok(analyzeApi(r.json()))],
  [['GET', 'POST'], '/{index}/_analyze', (r, c, p) => ok(analyzeApi(r.json(), admin.fieldAnalyzer(c, p.index)))],
  [['GET'], '/_cluster/health', (r, c) => health(c, undefined, r)],
  [['GET'], '/_cluster/health/{index}', (r, c, p) => health(c, p.index, r)],
  [['POST', 'GET'], '/_refresh', (_r, c) => ok(admin.refresh(c, undefined))],
  [['POST', 'GET'], '/{index}/_refresh', (_r, c, p) => ok(admin.refresh(c, p.index))],
  [['POST', 'GET'], '/_flush', (_r, c) => ok(admin.refresh(c, undefined))],
  [['POST', 'GET'], '/{index}/_flush', (_r, c, p) => ok(admin.refresh(c, p.index))],
  [['POST', 'PUT'], '/_bulk', (r, c) => ok(bulk(c, r.text, undefined))],
  [['POST', 'PUT'], '/{index}/_bulk', (r, c, p) => ok(bulk(c, r.text, p.index))],
  [['GET', 'POST'], '/_search/scroll', (r, c) => ok(scrollPage(c, r, undefined))],
  [['GET', 'POST'], '/_search/scroll/{id}', (r, c, p) => ok(scrollPage(c, r, p.id))],
  [['DELETE'], '/_search/scroll', (r, c) => scrollClear(c, r, undefined)],
  [['DELETE'], '/_search/scroll/{id}', (r, c, p) => scrollClear(c, r, p.id)],
  [['GET', 'POST'], '/_search', (r, c) => ok(searchOrScroll(c, undefined, r))],
  [['GET', 'POST'], '/{index}/_search', (r, c, p) => ok(searchOrScroll(c, p.index, r))],
  [['GET', 'POST'], '/_msearch', (r, c) => ok(msearch(c, r, undefined))],
  [['GET', 'POST'], '/{index}/_msearch', (r, c, p) => ok(msearch(c, r, p.index))],
  [['GET', 'POST'], '/_count', (r, c) => ok(count(c, {}, r.json(), r.params))],
  [['GET', 'POST'], '/{index}/_count', (r, c, p) => ok(count(c, { expression: p.index }, r.json(), r.params))],
  [['POST'], '/{index}/_pit', (r, c, p) => openPit(c, p.index, r)],
  [['DELETE'], '/_pit', (r, c) => closePit(c, r)],
  [['GET'], '/_cat/indices', (r, c) => cat(admin.catIndices(c, undefined, r.params))],
  [['GET'], '/_cat/indices/{index}', (r, c, p) => cat(admin.catIndices(c, p.index, r.params))],
  [['GET'], '/_cat/health', (r, c) => catHealth(c, r)],
  [['GET'], '/_mapping', (r, c) => ok(admin.getMapping(c, undefined, r.params))],
  [['GET'], '/{index}/_mapping', (r, c, p) => ok(admin.getMapping(c, p.index, r.params))],
  [['PUT', 'POST'], '/{index}/_mapping', (r, c, p) => ok(admin.putMapping(c, p.index, r.json()))],
  [['GET'], '/_settings', (_r, c) => ok(admin.getSettings(c, undefined))],
  [['GET'], '/{index}/_settings', (_r, c, p) => ok(admin.getSettings(c, p.index))],
  [['PUT'], '/_settings', (r, c) => ok(admin.putSettings(c, undefined, r.json()))],
  [['PUT'], '/{index}/_settings', (r, c, p) => ok(admin.putSettings(c, p.index, r.json()))],
  [['POST'], '/_aliases', (r, c) => ok(admin.updateAliases(c, r.json()))],
  [['GET'], '/_alias', (_r, c) => aliasReply(admin.getAliases(c, undefined, undefined))],
  [['GET'], '/_alias/{name}', (_r, c, p) => aliasReply(admin.getAliases(c, undefined, p.name))],
  [['GET'], '/{index}/_alias', (_r, c, p) => aliasReply(admin.getAliases(c, p.index, undefined))],
  [['GET'], '/{index}/_alias/{name}', (_r, c, p) => aliasReply(admin.getAliases(c, p.index, p.name))],
  [
    ['PUT', 'POST'],
    '/{index}/_alias/{name}',
    (r, c, p) =>
      ok(admin.updateAliases(c, { actions: [{ add: { index: p.index, alias: p.name, ...(r.json() as object) } }] })),
  ],
  [
    ['DELETE'],
    '/{index}/_alias/{name}',
    (_r, c, p) => ok(admin.updateAliases(c, { actions: [{ remove: { index: p.index, alias: p.name } }] })),
  ],
  [['GET'], '/_index_template', (_r, c) => ok(admin.getIndexTemplates(c, undefined))],
  [['GET'], '/_index_template/{name}', (_r, c, p) => ok(admin.getIndexTemplates(c, p.name))],
  [['HEAD'], '/_index_template/{name}', (_r, c, p) => ({ status: c.templates.has(p.name) ? 200 : 404 })],
  [
    ['PUT', 'POST'],
    '/_index_template/{name}',
    (r, c, p) => ok(admin.putIndexTemplate(c, p.name, r.json(), r.params.get('create') === 'true')),
  ],
  [['DELETE'], '/_index_template/{name}', (_r, c, p) => ok(admin.deleteIndexTemplate(c, p.name))],
  [['PUT', 'POST'], '/_component_template/{name}', (r, c, p) => putComponent(c, p.name, r)],
  [['GET'], '/_component_template', (_r, c) => ok(components(c, undefined))],
  [['GET'], '/_component_template/{name}', (_r, c, p) => ok(components(c, p.name))],
  [['DELETE'], '/_component_template/{name}', (_r, c, p) => deleteComponent(c, p.name)],
  [['GET'], '/_template', (_r, c) => admin.getLegacyTemplates(c, undefined)],
  [['GET'], '/_template/{name}', (_r, c, p) => admin.getLegacyTemplates(c, p.name)],
  [['HEAD'], '/_template/{name}', (_r, c, p) => ({ status: c.legacyTemplates.has(p.name) ? 200 : 404 })],
  [
    ['PUT', 'POST'],
    '/_template/{name}',
    (r, c, p) => ok(admin.putLegacyTemplate(c, p.name, r.json(), r.params.get('create') === 'true')),
  ],
  [['DELETE'], '/_template/{name}', (_r, c, p) => ok(admin.deleteLegacyTemplate(c, p.name))],
  [['POST'], '/{index}/_doc', (r, c, p) => docWrite(indexDocument(c, p.index, undefined, r.json(), 'create'))],
  [
    ['PUT', 'POST'],
    '/{index}/_doc/{id}',
    (r, c, p) =>
      docWrite(indexDocument(c, p.index, p.id, r.json(), r.params.get('op_type') === 'create' ? 'create' : 'index')),
  ],
  [
    ['PUT', 'POST'],
    '/{index}/_create/{id}',
    (r, c, p) => docWrite(indexDocument(c, p.index, p.id, r.json(), 'create')),
  ],
  [['POST'], '/{index}/_update/{id}', (r, c, p) => docWrite(updateDocument(c, p.index, p.id, r.json()))],
  [['GET'], '/{index}/_doc/{id}', (_r, c, p) => docWrite(getDocument(c, p.index, p.id))],
  [['HEAD'], '/{index}/_doc/{id}', (_r, c, p) => ({ status: getDocument(c, p.index, p.id).status })],
  [['GET'], '/{index}/_source/{id}', (_r, c, p) => sourceOnly(getDocument(c, p.index, p.id))],
  [['DELETE'], '/{index}/_doc/{id}', (_r, c, p) => docWrite(deleteDocument(c, p.index, p.id))],
  [['PUT'], '/{index}', (r, c, p) => ok(admin.createIndex(c, p.index, r.json()))],
  [['GET'], '/{index}', (r, c, p) => ok(admin.getIndices(c, p.index, r.params))],
  [['HEAD'], '/{index}', (r, c, p) => indexExists(c, p.index, r)],
  [['DELETE'], '/{index}', (r, c, p) => ok(admin.deleteIndices(c, p.index, r.params))],
];

/** The literal first segments of the routes (`_search`, `_bulk`, ...). */
const ENDPOINTS = new Set(ROUTES.map(([, pattern]) => pattern.split('/')[1]).filter((seg) => seg.startsWith('_')));

const docWrite = (r: { status: number; body: unknown }): Reply => ({ status: r.status, body: r.body });

function sourceOnly(r: { status: number; body: Record<string, unknown> }): Reply {
  if (r.status !== 200) {
    throw new EsError(
      404,
      'resource_not_found_exception',
      `Document not found [${String(r.body._index)}]/[${String(r.body._id)}]`,
    );
  }
  return ok(r.body._source);
}

function aliasReply(r: { status: number; body: unknown }): Reply {
  return { status: r.status, body: r.body };
}

function cat(r: { json: boolean; body: unknown }): Reply {
  return r.json ? ok(r.body) : { status: 200, text: r.body as string };
}

function catHealth(c: Cluster, r: Request): Reply {
  const h = admin.clusterHealth(c, undefined, new URLSearchParams()).body as Record<string, unknown>;
  const now = Date.now();
  const row = {
    epoch: String(Math.floor(now / 1000)),
    timestamp: new Date(now).toISOString().slice(11, 19),
    cluster: String(h.cluster_name),
    status: String(h.status),
    'node.total': '1',
    'node.data': '1',
    shards: String(h.active_shards),
    pri: String(h.active_primary_shards),
    relo: '0',
    init: '0',
    unassign: String(h.unassigned_shards),
    unassign_pri: '0',
    pending_tasks: '0',
    max_task_wait_time: '-',
    active_shards_percent: `${(h.active_shards_percent_as_number as number).toFixed(1)}%`,
  };
  if (r.params.get('format') === 'json') return ok([row]);
  return { status: 200, text: Object.values(row).join(' ') + '\n' };
}

function health(c: Cluster, index: string | undefined, r: Request): Reply {
  const h = admin.clusterHealth(c, index, r.params);
  return { status: h.status, body: h.body };
}

function indexExists(c: Cluster, expression: string, r: Request): Reply {
  try {
    const found = c.resolve(expression, {
      ignoreUnavailable: r.params.get('ignore_unavailable') === 'true',
      allowNoIndices: r.params.get('allow_no_indices') !== 'false',
    });
    return { status: found.length || expression.includes('*') ? 200 : 404 };
  } catch {
    return { status: 404 };
  }
}

function searchOrScroll(c: Cluster, expression: string | undefined, r: Request): unknown {
  const target = expression === undefined ? {} : { expression };
  return r.params.has('scroll') ? startScroll(c, target, r.json(), r.params) : search(c, target, r.json(), r.params);
}

function scrollPage(c: Cluster, r: Request, pathId: string | undefined): unknown {
  const body = (r.json() ?? {}) as { scroll_id?: unknown; scroll?: unknown };
  return continueScroll(
    c,
    pathId ?? body.scroll_id ?? r.params.get('scroll_id') ?? undefined,
    body.scroll ?? r.params.get('scroll') ?? undefined,
  );
}

function scrollClear(c: Cluster, r: Request, pathId: string | undefined): Reply {
  const body = (r.json() ?? {}) as { scroll_id?: unknown };
  const result = clearScroll(c, pathId ?? body.scroll_id);
  return { status: result.status, body: result.body };
}

/** `_msearch`: header and body lines in pairs; each search answers alone (its error in its place). */
function msearch(c: Cluster, r: Request, defaultIndex: string | undefined): unknown {
  const started = Date.now();
  const lines = r.text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0)
    throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: no requests added;');
  const responses: unknown[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    try {
      const header = parseJson(lines[i]) as Record<string, unknown> | undefined;
      const body = lines[i + 1] === undefined ? {} : parseJson(lines[i + 1]);
      const params = new URLSearchParams(r.params);
      for (const [k, v] of Object.entries(header ?? {})) if (k !== 'index' && v !== undefined) params.set(k, String(v));
      const idx = header?.index;
      const expression = Array.isArray(idx) ? idx.join(',') : typeof idx === 'string' ? idx : defaultIndex;
      responses.push({ ...search(c, { expression }, body, params), status: 200 });
    } catch (e) {
      if (!(e instanceof EsError)) throw e;
      responses.push(e.body());
    }
  }
  return { took: Date.now() - started, responses };
}

function openPit(c: Cluster, expression: string, r: Request): Reply {
  const keepAlive = r.params.get('keep_alive');
  if (!keepAlive)
    throw new EsError(
      400,
      'action_request_validation_exception',
      'Validation Failed: 1: [keep_alive] is not specified;',
    );
  const ms = parseTimeValue(keepAlive, 'keep_alive');
  const indices = c.resolve(expression, {
    ignoreUnavailable: r.params.get('ignore_unavailable') === 'true',
    allowNoIndices: r.params.get('allow_no_indices') !== 'false',
  });
  const pit = c.openPit(indices, ms);
  return ok({ id: pit.id, _shards: { total: indices.length, successful: indices.length, skipped: 0, failed: 0 } });
}

function closePit(c: Cluster, r: Request): Reply {
  const body = r.json() as { id?: unknown } | undefined;
  if (!body || typeof body.id !== 'string')
    throw new EsError(
      400,
      'action_request_validation_exception',
      'Validation Failed: 1: no point-in-time id specified;',
    );
  const freed = c.closePit(body.id);
  return { status: freed ? 200 : 404, body: { succeeded: true, num_freed: freed ? 1 : 0 } };
}

function putComponent(c: Cluster, name: string, r: Request): Reply {
  const body = r.json() as { template?: unknown } | undefined;
  if (!body || typeof body.template !== 'object')
    throw new EsError(400, 'x_content_parse_exception', '[1:2] Required [template]');
  c.componentTemplates.set(name, body as { template: never });
  return ok({ acknowledged: true });
}

function components(c: Cluster, name: string | undefined): unknown {
  const list = [...c.componentTemplates].filter(([n]) => name === undefined || n === name);
  if (name !== undefined && list.length === 0)
    throw new EsError(404, 'resource_not_found_exception', `component template matching [${name}] not found`);
  return { component_templates: list.map(([n, t]) => ({ name: n, component_template: t })) };
}

function deleteComponent(c: Cluster, name: string): Reply {
  if (!c.componentTemplates.delete(name)) throw new EsError(404, 'resource_not_found_exception', `${name}`);
  return ok({ acknowledged: true });
}

function match(pattern: string, parts: string[]): Record<string, string> | undefined {
  const want = pattern === '/' ? [] : pattern.slice(1).split('/');
  if (want.length !== parts.length) return undefined;
  const p: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    if (w.startsWith('{')) {
      // An `{index}` segment never stands for an API endpoint (`GET /_bulk` is the wrong method, not an index).
      if (w === '{index}' && ENDPOINTS.has(parts[i])) return undefined;
      p[w.slice(1, -1)] = parts[i];
    } else if (w !== parts[i]) return undefined;
  }
  return p;
}

async function handle(
  cluster: Cluster,
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  security: EsSecurity | undefined,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = (req.method ?? 'GET').toUpperCase();
  const params = url.searchParams;
  const accept = String(req.headers.accept ?? '');
  const compat =
    /compatible-with=(\d+)/.exec(accept) ?? /compatible-with=(\d+)/.exec(String(req.headers['content-type'] ?? ''));
  const contentType = compat ? `application/vnd.elasticsearch+json;compatible-with=${compat[1]}` : 'application/json';
  const send = (reply: Reply) => {
    // A secured Elasticsearch sends its product header only to authenticated requests (the 401 has none).
    if (reply.status !== 401) res.setHeader('X-Elastic-Product', 'Elasticsearch');
    else res.setHeader('WWW-Authenticate', WWW_AUTHENTICATE);
    if (reply.text !== undefined) {
      const buf = Buffer.from(reply.text);
      res.writeHead(reply.status, { 'content-type': 'text/plain; charset=UTF-8', 'content-length': buf.length });
      res.end(method === 'HEAD' ? undefined : buf);
      return;
    }
    if (reply.body === undefined) {
      res.writeHead(reply.status, { 'content-type': contentType, 'content-length': 0 });
      res.end();
      return;
    }
    let body: unknown = compat?.[1] === '7' ? withDocTypes(reply.body) : reply.body;
    const fp = params.get('filter_path');
    if (fp) body = filterPath(body, fp);
    const buf = Buffer.from(
      toJson(body, params.has('pretty') && params.get('pretty') !== 'false') + (params.has('pretty') ? '\n' : ''),
    );
    res.writeHead(reply.status, { 'content-type': contentType, 'content-length': buf.length });
    res.end(method === 'HEAD' ? undefined : buf);
  };
  try {
    const principal = security?.authenticate(req.headers.authorization, `${url.pathname}${url.search}`);
    let raw = await readBody(req, limit);
    // Clients may compress request bodies (the official client's `compression`, Fluent Bit's `Compress gzip`).
    const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
    if (encoding === 'gzip' || encoding === 'deflate') {
      try {
        raw =
          encoding === 'gzip'
            ? gunzipSync(raw, { maxOutputLength: limit })
            : inflateSync(raw, { maxOutputLength: limit });
      } catch {
        throw new EsError(
          400,
          'parse_exception',
          `request body is not valid ${encoding} data or is larger than ${limit} bytes`,
        );
      }
    }
    const text = raw.toString('utf8');
    const parts = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    let parsed: { value: unknown } | undefined;
    const request: Request = {
      method,
      parts,
      params,
      text,
      json: () => (parsed ??= { value: parseJson(text) }).value,
      principal,
    };
    const allowed: string[] = [];
    for (const [methods, pattern, handler] of ROUTES) {
      const p = match(pattern, parts);
      if (!p) continue;
      if (!methods.includes(method)) {
        allowed.push(...methods);
        continue;
      }
      send(await handler(request, cluster, p));
      return;
    }
    if (allowed.length) {
      send({
        status: 405,
        body: {
          error: `Incorrect HTTP method for uri [${url.pathname}${url.search}] and method [${method}], allowed: [${[...new Set(allowed)].sort().join(', ')}]`,
          status: 405,
        },
      });
      return;
    }
    send({
      status: 400,
      body: { error: `no handler found for uri [${url.pathname}${url.search}] and method [${method}]`, status: 400 },
    });
  } catch (e) {
    if (e instanceof EsError) {
      send({ status: e.status, body: method === 'HEAD' ? undefined : e.body() });
      return;
    }
    const message = e instanceof Error ? e.message : String(e);
    send({
      status: 500,
      body: {
        error: { root_cause: [{ type: 'exception', reason: message }], type: 'exception', reason: message },
        status: 500,
      },
    });
  }
}

export async function startEs(options: EsServerOptions = {}): Promise<EsServer> {
  const cluster = options.cluster ?? new Cluster();
  const limit = options.maxBodyBytes ?? 100 * 1024 * 1024;
  const security = options.security ? new EsSecurity(options.security) : undefined;
  const listener = (req: IncomingMessage, res: ServerResponse) => void handle(cluster, req, res, limit, security);
  const server: Server = options.tls
    ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : createServer(listener);
  server.keepAliveTimeout = 60_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${options.tls ? 'https' : 'http'}://${urlHost}:${port}`,
    port,
    cluster,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { NODE_ID, illegalArgument };
