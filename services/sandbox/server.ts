// The sandbox's HTTP(S) front: Kubernetes REST paths, verbs, watches and subresources over the Store.
// server/options.ts: its options and fault knobs; server/requests.ts: reading requests and writing answers.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import {
  AGGREGATED_DISCOVERY_CONTENT_TYPE,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  versionInfo,
  wantsAggregatedDiscovery,
} from './discovery.js';
import { ApiError, badRequest, internalError, methodNotAllowed, notFound } from './errors.js';
import { servePodLog, parseLogOptions } from './logs.js';
import { applyPatch } from './patch.js';
import { apiVersionOf, jsonPathValue, type ResourceType } from './registry.js';
import { fieldMatcher, labelsMatch, parseFieldSelector, parseLabelSelector, type Matcher } from './selectors.js';
import type { Store, StoreEvent } from './store.js';
import { toTable, wantsTable, type IncludeObject } from './table.js';
import type { KObject, WatchEventType } from './types.js';
import { at } from './defaults/fields.js';
import { openApiV2, openApiV2Protobuf, openApiV3Index, openApiV3Document, wantsOpenApiV2Protobuf } from './openapi.js';
import type { Faults, ServerOptions } from './server/options.js';
import { dryRunOf, queryFlag, wantsPretty } from './server/params.js';
import { impersonatedUser, SANDBOX_ADMIN } from './auth/identity.js';
import { authorize, type UserInfo } from './auth/rbac.js';
import { review } from './auth/reviews.js';
import {
  type Route,
  pathNotFound,
  selectorString,
  setPath,
  deleteOptions,
  rvInPatch,
  readBody,
  readJson,
  readObject,
  fieldManagerOf,
  json,
  writeList,
  text,
  requestVerb,
  resourceName,
  isLoopback,
  forbidden,
  createForbidden,
  resourceAttributes,
  prettyResponses,
} from './server/requests.js';

/** RBAC's (and audit logs') verb of an API request. */
export type RequestVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/**
 * API requests per `<verb> <resource>`, e.g. `list pods`, `watch deployments.apps`, `get pods/log`,
 * `patch deployments.apps/scale` (resource as `plural[.group][/subresource]`).
 */
export type RequestCounts = Record<string, number>;

export class SandboxServer {
  readonly server: Server;
  readonly faults: Faults = { failRatio: 0, failCode: 500, delayRatio: 0, delayMs: 0, forbiddenResources: [] };
  /** Open watch streams, with the resource each one watches. */
  private readonly watches = new Map<ServerResponse, string>();
  private readonly counts = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private address = '';

  constructor(private readonly opts: ServerOptions) {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = opts.tls
      ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler)
      : createHttpServer(handler);
    this.server.keepAliveTimeout = 65_000;
    this.server.on(opts.tls ? 'secureConnection' : 'connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  private get store(): Store {
    return this.opts.store;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const addr = this.server.address();
    const bound = typeof addr === 'object' && addr ? addr.port : port;
    this.address = `${host}:${bound}`;
    return bound;
  }

  /** Ends every open watch stream abruptly, as a network blip or an API server restart would. */
  closeWatches(): number {
    const n = this.watches.size;
    for (const res of this.watches.keys()) res.socket?.destroy();
    this.watches.clear();
    return n;
  }

  /** Open watch streams: all of them, or those on one resource (`pods`, `deployments.apps`). */
  activeWatches(resource?: string): number {
    if (resource === undefined) return this.watches.size;
    let n = 0;
    for (const r of this.watches.values()) if (r === resource) n++;
    return n;
  }

  /**
   * API requests received since start (authenticated, routed to a resource, counted before faults are injected and
   * whatever their outcome) per `<verb> <resource>`; discovery, OpenAPI and health requests are not counted. With
   * `since`, an earlier result: only the increase since then (entries that did not grow are left out).
   */
  requestCounts(since?: RequestCounts): RequestCounts {
    const out: RequestCounts = {};
    for (const [key, n] of this.counts) {
      const d = n - (since?.[key] ?? 0);
      if (d > 0) out[key] = d;
    }
    return out;
  }

  async close(): Promise<void> {
    this.closeWatches();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ------------------------------------------------------------------ dispatch

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (wantsPretty(url.searchParams)) prettyResponses.add(res);
    try {
      if (path === '/healthz' || path === '/readyz' || path === '/livez') return text(res, 200, 'ok');
      if (path === '/metrics' && this.opts.metrics) {
        const m = await this.opts.metrics();
        res.writeHead(200, { 'Content-Type': m.contentType });
        res.end(m.body);
        return;
      }
      if (!this.authorized(req)) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      // The caller is the kubeconfig's admin; with Impersonate-* headers (kubectl --as), the user it impersonates,
      // whose every resource request RBAC then decides over the store's roles and bindings.
      const impersonated = impersonatedUser(req);
      const user = impersonated ?? SANDBOX_ADMIN;
      const route = this.resourceRoute(path);
      if (route) this.count(requestVerb(req.method ?? 'GET', route, url.searchParams), route);
      await this.injectFaults();
      if (route) {
        if (this.faults.forbiddenResources.includes(route.rt.plural)) throw forbidden(req, route, url.searchParams);
        if (impersonated) {
          const verb = requestVerb(req.method ?? 'GET', route, url.searchParams);
          if (!authorize(this.store, user, resourceAttributes(verb, route)).allowed)
            throw forbidden(req, route, url.searchParams, user.username);
        }
        return await this.serveResource(req, res, route, url.searchParams, user);
      }
      if (path === '/version') return json(res, 200, versionInfo);
      if ((path === '/api' || path === '/apis') && wantsAggregatedDiscovery(req.headers.accept)) {
        return json(res, 200, aggregatedDiscovery(this.store.registry, path === '/api'), {
          'Content-Type': AGGREGATED_DISCOVERY_CONTENT_TYPE,
        });
      }
      if (path === '/api') return json(res, 200, apiVersions(this.address));
      if (path === '/apis') return json(res, 200, apiGroupList(this.store.registry));
      if (path === '/openapi/v2') {
        if (wantsOpenApiV2Protobuf(req.headers.accept)) {
          const pb = openApiV2Protobuf();
          res.writeHead(200, {
            'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
            'Content-Length': pb.length,
          });
          return void res.end(pb);
        }
        return json(res, 200, openApiV2(this.store.registry));
      }
      if (path === '/openapi/v3') return json(res, 200, openApiV3Index(this.store.registry));
      if (path.startsWith('/openapi/v3/')) {
        const doc = openApiV3Document(this.store.registry, path.slice('/openapi/v3/'.length));
        if (!doc) throw notFound({ plural: 'openapi', group: '' }, path);
        return json(res, 200, doc);
      }
      // What is left: the resource lists of a group-version (/api/v1, /apis/<group>/<version>) and a group (/apis/<group>).
      const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
      if (segs[0] === 'apis' && segs.length === 2) {
        const g = apiGroup(this.store.registry, segs[1]);
        if (!g) throw pathNotFound(path);
        return json(res, 200, g);
      }
      const gv =
        segs[0] === 'api' && segs.length === 2 && segs[1] === 'v1'
          ? ['', 'v1']
          : segs[0] === 'apis' && segs.length === 3
            ? [segs[1], segs[2]]
            : undefined;
      const list = gv && apiResourceList(this.store.registry, gv[0], gv[1]);
      if (!list) throw pathNotFound(path);
      return json(res, 200, list);
    } catch (e) {
      this.fail(res, e);
    }
  }

  private authorized(req: IncomingMessage): boolean {
    const token = this.opts.token;
    if (!token) return true;
    const auth = req.headers.authorization;
    if (auth === undefined) return !!this.opts.anonymousLoopback && isLoopback(req.socket.remoteAddress);
    return auth === `Bearer ${token}`;
  }

  /** The route of a resource path (`/api/v1/...`, `/apis/<group>/<version>/...`); undefined for any other path. */
  private resourceRoute(path: string): Route | undefined {
    const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (segs[0] === 'api' && segs[1] === 'v1' && segs.length > 2) return this.route('', 'v1', segs.slice(2), path);
    if (segs[0] === 'apis' && segs.length > 3) return this.route(segs[1], segs[2], segs.slice(3), path);
    return undefined;
  }

  private count(verb: RequestVerb, route: Route): void {
    const key = `${verb} ${resourceName(route)}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  private fail(res: ServerResponse, e: unknown): void {
    const err = e instanceof ApiError ? e : internalError(e instanceof Error ? e.message : String(e));
    if (!(e instanceof ApiError)) console.error('[sandbox] internal error:', e);
    if (res.headersSent) {
      res.end();
      return;
    }
    const headers: Record<string, string> = {};
    if (err.code === 429 || err.code === 503) headers['Retry-After'] = String(err.details?.retryAfterSeconds ?? 1);
    json(res, err.code, err.toStatus(), headers);
  }

  private async injectFaults(): Promise<void> {
    const f = this.faults;
    if (f.delayRatio > 0 && Math.random() < f.delayRatio) await new Promise((r) => setTimeout(r, f.delayMs));
    if (f.failRatio > 0 && Math.random() < f.failRatio) {
      const reason =
        f.failCode === 429 ? 'TooManyRequests' : f.failCode === 503 ? 'ServiceUnavailable' : 'InternalError';
      throw new ApiError(f.failCode, reason, `sandbox fault injection: request failed on purpose (${reason})`, {
        retryAfterSeconds: 1,
      });
    }
  }

  /** Maps `[namespaces/<ns>/]<plural>[/<name>[/<subresource>]]` to a resource type. */
  private route(group: string, version: string, rest: string[], path: string): Route {
    const registry = this.store.registry;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const rt = registry.get(group, version, rest[2]);
      if (rt?.namespaced) {
        if (rest.length > 5) throw pathNotFound(path);
        return { rt, namespace: rest[1], name: rest[3], subresource: rest[4] };
      }
      // /api/v1/namespaces/<name>/<subresource> (status, finalize) falls through to the cluster-scoped form.
    }
    const rt = registry.get(group, version, rest[0]);
    if (!rt || rest.length > 3) throw pathNotFound(path);
    return { rt, name: rest[1], subresource: rest[2] };
  }

  // ------------------------------------------------------------------ resources

  private async serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    q: URLSearchParams,
    user: UserInfo,
  ): Promise<void> {
    const { rt, namespace, name, subresource } = route;
    const method = req.method ?? 'GET';
    if (rt.review) {
      if (method !== 'POST' || name) throw methodNotAllowed();
      return json(res, 201, review(this.store, rt, await readObject(req), user, namespace));
    }
    if (subresource && subresource !== 'finalize' && !rt.subresources.includes(subresource as never)) {
      throw pathNotFound(req.url ?? '');
    }
    if (subresource === 'log') {
      if (method !== 'GET') throw methodNotAllowed();
      const pod = this.store.mustGet(rt, namespace, name!);
      servePodLog(this.store, pod, parseLogOptions(q), req, res, { speed: this.opts.speed ?? 1 });
      return;
    }
    if (subresource === 'scale') return this.serveScale(req, res, route);
    if (subresource === 'eviction') {
      if (method !== 'POST') throw methodNotAllowed();
      const body = await readJson(req);
      this.store.delete(rt, namespace, name!, deleteOptions(at(body, 'deleteOptions') ?? {}, new URLSearchParams()));
      return json(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    }
    const dryRun = method === 'GET' ? false : dryRunOf(q, method);
    // A client's write: its fields go to its field manager (the fieldManager parameter, else its User-Agent's
    // product, as the real server names managers), and admission warnings go back as Warning headers.
    const warnings: string[] = [];
    const writeOpts = { dryRun, warnings, manager: fieldManagerOf(req, q) };
    const sendWarnings = () => {
      if (warnings.length)
        res.setHeader(
          'Warning',
          warnings.map((w) => `299 - ${JSON.stringify(w)}`),
        );
    };
    if (!name) {
      switch (method) {
        case 'GET':
          return queryFlag(q, 'watch') ? this.serveWatch(req, res, route, q) : this.serveList(req, res, route, q);
        case 'POST': {
          const body = await readObject(req);
          this.checkBodyNamespace(rt, body, namespace);
          const created = this.store.create(rt, body, writeOpts);
          sendWarnings();
          return this.respondObject(req, res, rt, created, 201);
        }
        case 'DELETE': {
          const body = await readJson(req);
          const deleted = this.store.deleteCollection(rt, namespace, this.matcher(rt, q), deleteOptions(body, q));
          return json(res, 200, {
            apiVersion: apiVersionOf(rt),
            kind: `${rt.kind}List`,
            metadata: { resourceVersion: this.store.resourceVersion },
            items: deleted,
          });
        }
        default:
          throw methodNotAllowed();
      }
    }
    switch (method) {
      case 'GET': {
        const obj = this.store.mustGet(rt, namespace, name!);
        return this.respondObject(req, res, rt, obj, 200);
      }
      case 'PUT': {
        const body = await readObject(req);
        this.checkBodyName(body, name!);
        this.checkBodyNamespace(rt, body, namespace);
        if (subresource === 'finalize') {
          // Namespace finalize: the only way to change spec.finalizers of a terminating namespace.
          const current = this.store.mustGet(rt, undefined, name!);
          body.metadata.resourceVersion ||= current.metadata.resourceVersion;
          const updated = this.store.update(
            rt,
            { ...current, spec: { ...current.spec, finalizers: body.spec?.finalizers ?? [] } },
            { dryRun },
          );
          return this.respondObject(req, res, rt, updated, 200);
        }
        const updated = this.store.update(rt, body, {
          ...writeOpts,
          subresource: subresource === 'status' ? 'status' : undefined,
        });
        sendWarnings();
        return this.respondObject(req, res, rt, updated, 200);
      }
      case 'PATCH': {
        const contentType = String(req.headers['content-type'] ?? '')
          .split(';')[0]
          .trim();
        const raw = await readBody(req);
        const current = this.store.get(rt, namespace, name!);
        const isApply = contentType === 'application/apply-patch+yaml';
        if (!current && !isApply) throw notFound(rt, name!);
        const patched = applyPatch(contentType, current, raw, {
          rt,
          fieldManager: q.get('fieldManager') ?? undefined,
          force: queryFlag(q, 'force'),
        });
        patched.metadata ??= {};
        this.checkBodyName(patched, name!);
        if (rt.namespaced) {
          if (patched.metadata.namespace && patched.metadata.namespace !== namespace)
            throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
          patched.metadata.namespace = namespace;
        }
        // An apply records its own ownership (patch.ts); any other patch is an Update of its manager.
        const patchOpts = isApply ? { dryRun, warnings } : writeOpts;
        if (!current) {
          // Creating through an apply is authorized as create too (the apiserver's patch handler), counted as one.
          this.count('create', route);
          const decision = authorize(this.store, user, resourceAttributes('create', route));
          if (!decision.allowed) throw createForbidden(route, decision.reason);
          const created = this.store.create(
            rt,
            { ...patched, metadata: { ...patched.metadata, resourceVersion: undefined } },
            patchOpts,
          );
          sendWarnings();
          return this.respondObject(req, res, rt, created, 201);
        }
        // A patch applies to what it read: it only conflicts when it names a resourceVersion itself.
        const patchRv = rvInPatch(contentType, raw);
        patched.metadata.resourceVersion = patchRv ?? current.metadata.resourceVersion;
        const updated = this.store.update(rt, patched, {
          ...patchOpts,
          subresource: subresource === 'status' ? 'status' : undefined,
        });
        sendWarnings();
        return this.respondObject(req, res, rt, updated, 200);
      }
      case 'DELETE': {
        const body = await readJson(req);
        const options = deleteOptions(body, q);
        // A dry run (kubectl delete --dry-run=server) deletes nothing: the object as it would be answered.
        if (dryRun || (Array.isArray(at(body, 'dryRun')) && (at(body, 'dryRun') as unknown[]).includes('All')))
          return this.respondObject(req, res, rt, this.store.mustGet(rt, namespace, name!), 200);
        const deleted = this.store.delete(rt, namespace, name!, options);
        const stillThere = this.store.get(rt, namespace, name!);
        return this.respondObject(req, res, rt, deleted, stillThere ? 202 : 200);
      }
      default:
        throw methodNotAllowed();
    }
  }

  private checkBodyName(body: KObject, name: string): void {
    if (body.metadata?.name && body.metadata.name !== name) {
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    body.metadata.name = name;
  }

  private checkBodyNamespace(rt: ResourceType, body: KObject, namespace: string | undefined): void {
    body.metadata ??= {};
    if (!rt.namespaced) return;
    if (body.metadata.namespace && namespace && body.metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    body.metadata.namespace = namespace ?? body.metadata.namespace;
  }

  private respondObject(req: IncomingMessage, res: ServerResponse, rt: ResourceType, obj: KObject, code: number): void {
    if (wantsTable(req.headers.accept)) {
      return json(res, code, toTable(rt, [obj], { resourceVersion: obj.metadata.resourceVersion }, 'Object'));
    }
    json(res, code, obj);
  }

  private matcher(rt: ResourceType, q: URLSearchParams): Matcher | undefined {
    const ls = q.get('labelSelector');
    const fs = q.get('fieldSelector');
    const labelReqs = ls ? parseLabelSelector(ls) : [];
    const fieldMatch = fs ? fieldMatcher(parseFieldSelector(fs), rt.fieldSelectors) : undefined;
    if (!labelReqs.length && !fieldMatch) return undefined;
    return (o) => labelsMatch(labelReqs, o.metadata.labels) && (!fieldMatch || fieldMatch(o));
  }

  private serveList(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams): void | Promise<void> {
    const { rt, namespace } = route;
    const limit = q.get('limit') ? Number(q.get('limit')) : undefined;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
      throw badRequest(`invalid limit: ${q.get('limit')}`);
    const result = this.store.listChunked(rt, {
      namespace,
      matcher: this.matcher(rt, q),
      limit,
      continue: q.get('continue') ?? undefined,
    });
    const metadata: Record<string, unknown> = { resourceVersion: result.resourceVersion };
    if (result.continue) metadata.continue = result.continue;
    if (result.remainingItemCount !== undefined) metadata.remainingItemCount = result.remainingItemCount;
    if (wantsTable(req.headers.accept)) {
      return json(
        res,
        200,
        toTable(rt, result.items, metadata, (q.get('includeObject') as IncludeObject) ?? 'Metadata'),
      );
    }
    return writeList(res, apiVersionOf(rt), `${rt.kind}List`, metadata, result.items);
  }

  private serveWatch(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams): void {
    const { rt, namespace } = route;
    const matcher = this.matcher(rt, q);
    const table = wantsTable(req.headers.accept);
    const include = (q.get('includeObject') as IncludeObject) ?? 'Metadata';
    const timeoutSeconds = q.get('timeoutSeconds')
      ? Number(q.get('timeoutSeconds'))
      : (this.opts.watchTimeoutSeconds ?? 1800);
    const bookmarks = queryFlag(q, 'allowWatchBookmarks');
    const sendInitialEvents = queryFlag(q, 'sendInitialEvents');
    const rv = sendInitialEvents ? '' : (q.get('resourceVersion') ?? '');
    res.writeHead(200, {
      'Content-Type': table ? 'application/json;as=Table;v=v1;g=meta.k8s.io' : 'application/json',
      'Cache-Control': 'no-cache, private',
    });
    res.flushHeaders();
    const write = (line: string) => res.write(line + '\n');
    const send = (type: WatchEventType, ev: StoreEvent) => {
      if (table) {
        write(
          JSON.stringify({
            type,
            object: toTable(rt, [ev.object], { resourceVersion: ev.object.metadata.resourceVersion }, include),
          }),
        );
        return;
      }
      // One Buffer per event and type, shared by every watch stream: no per-watcher string copy, UTF-8 length scan
      // (chunked encoding) or re-encoding on the socket.
      // A custom resource watched through another served version than it was written in: relabel it, unshared.
      const apiVersion = apiVersionOf(rt);
      if (ev.object.apiVersion !== apiVersion)
        return write(JSON.stringify({ type, object: { ...ev.object, apiVersion } }));
      ev.lines ??= {};
      res.write((ev.lines[type] ??= Buffer.from(JSON.stringify({ type, object: ev.object }) + '\n')));
    };
    const bookmark = (annotations?: Record<string, string>) =>
      write(
        JSON.stringify({
          type: 'BOOKMARK',
          object: {
            kind: rt.kind,
            apiVersion: apiVersionOf(rt),
            metadata: { resourceVersion: this.store.resourceVersion, ...(annotations ? { annotations } : {}) },
          },
        }),
      );
    let stop: (() => void) | undefined;
    try {
      stop = this.store.watch(rt, { namespace, matcher, resourceVersion: rv }, send);
    } catch (e) {
      const err = e instanceof ApiError ? e : internalError(String(e));
      write(JSON.stringify({ type: 'ERROR', object: err.toStatus() }));
      res.end();
      return;
    }
    // A streaming list (client-go's WatchList) learns that the initial state is complete from this bookmark.
    if (sendInitialEvents && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    this.watches.set(res, resourceName(route));
    const timers: NodeJS.Timeout[] = [];
    if (bookmarks) timers.push(setInterval(() => bookmark(), this.opts.bookmarkIntervalMs ?? 60_000));
    if (timeoutSeconds > 0) timers.push(setTimeout(() => res.end(), timeoutSeconds * 1000));
    const cleanup = () => {
      stop?.();
      stop = undefined;
      for (const t of timers) clearTimeout(t);
      this.watches.delete(res);
    };
    res.on('close', cleanup);
    req.on('close', cleanup);
  }

  private async serveScale(req: IncomingMessage, res: ServerResponse, route: Route): Promise<void> {
    const { rt, namespace, name } = route;
    const paths = rt.scale!;
    const toScale = (o: KObject) => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: o.metadata.name,
        namespace: o.metadata.namespace,
        uid: o.metadata.uid,
        resourceVersion: o.metadata.resourceVersion,
        creationTimestamp: o.metadata.creationTimestamp,
      },
      spec: { replicas: Number(jsonPathValue(o, paths.specReplicasPath) ?? 0) },
      status: {
        replicas: Number(jsonPathValue(o, paths.statusReplicasPath) ?? 0),
        selector: paths.labelSelectorPath ? selectorString(jsonPathValue(o, paths.labelSelectorPath)) : '',
      },
    });
    const current = this.store.mustGet(rt, namespace, name!);
    let wanted: KObject;
    switch (req.method) {
      case 'GET':
        return json(res, 200, toScale(current));
      case 'PUT':
        wanted = await readObject(req);
        break;
      case 'PATCH': {
        const contentType = String(req.headers['content-type'] ?? '')
          .split(';')[0]
          .trim();
        const raw = await readBody(req);
        const scaleRt = { ...rt, kind: 'Scale', group: 'autoscaling', version: 'v1', crdName: undefined };
        wanted = applyPatch(
          contentType === 'application/strategic-merge-patch+json' ? 'application/merge-patch+json' : contentType,
          toScale(current) as KObject,
          raw,
          { rt: scaleRt, fieldManager: 'scale' },
        );
        break;
      }
      default:
        throw methodNotAllowed();
    }
    const replicas: unknown = wanted.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw new ApiError(
        422,
        'Invalid',
        `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${String(replicas)}: must be greater than or equal to 0`,
        {
          name,
          group: 'autoscaling',
          kind: 'Scale',
          causes: [
            {
              reason: 'FieldValueInvalid',
              field: 'spec.replicas',
              message: `Invalid value: ${String(replicas)}: must be greater than or equal to 0`,
            },
          ],
        },
      );
    }
    const next = structuredClone(current);
    setPath(next, paths.specReplicasPath, replicas);
    next.metadata.resourceVersion = wanted.metadata?.resourceVersion || current.metadata.resourceVersion;
    const updated = this.store.update(rt, next);
    json(res, 200, toScale(updated));
  }
}
export type { Faults, ServerOptions } from './server/options.js';
