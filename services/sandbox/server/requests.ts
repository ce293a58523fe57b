// Reading requests (bodies, routes, verbs, options) and writing answers (JSON, text, 403/404) for the sandbox server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { drained } from '../../common/drained.js';
import { readBody as readLimitedBody } from '../../common/read-body.js';
import type { Attributes } from '../auth/rbac.js';
import { ApiError, badRequest } from '../errors.js';
import { decodeProtobufObject, isProtobuf } from '../protobuf.js';
import type { ResourceType } from '../registry.js';
import { formatLabelSelector } from '../selectors.js';
import type { DeleteOptions } from '../store.js';
import type { KObject } from '../types.js';
import { at, isObject, oneOf, type Fields } from '../defaults/fields.js';
import type { RequestVerb } from '../server.js';
import { queryFlag } from './params.js';

export interface Route {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const MAX_BODY = 16 * 1024 * 1024;

export function pathNotFound(path: string): ApiError {
  return new ApiError(404, 'NotFound', `the server could not find the requested resource (${path})`, {});
}

export function selectorString(sel: unknown): string {
  if (typeof sel === 'string') return sel;
  return formatLabelSelector(sel as Parameters<typeof formatLabelSelector>[0]);
}

/** Sets a value at a `.a.b.c` path, making the maps on the way. */
export function setPath(o: Fields, path: string, value: unknown): void {
  const parts = path.replace(/^\./, '').split('.');
  let cur = o;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    cur = isObject(next) ? next : (cur[p] = {});
  }
  cur[parts[parts.length - 1]] = value;
}

const PROPAGATION_POLICIES = ['Background', 'Foreground', 'Orphan'] as const;

/** DeleteOptions from a request body (any shape) and the query, the body first. */
export function deleteOptions(body: unknown, q: URLSearchParams): DeleteOptions {
  const sent: Fields = isObject(body) ? body : {};
  const graceQuery = q.get('gracePeriodSeconds');
  const graceSent = sent.gracePeriodSeconds;
  const grace =
    graceSent !== undefined && graceSent !== null
      ? Number(graceSent)
      : graceQuery !== null
        ? Number(graceQuery)
        : undefined;
  let policy = sent.propagationPolicy ?? q.get('propagationPolicy') ?? undefined;
  if (sent.orphanDependents === true || queryFlag(q, 'orphanDependents')) policy = 'Orphan';
  if (policy && !oneOf(PROPAGATION_POLICIES, policy))
    throw badRequest(`unsupported propagationPolicy: ${String(policy)}`);
  return {
    propagationPolicy: policy ? (policy as (typeof PROPAGATION_POLICIES)[number]) : undefined,
    gracePeriodSeconds: grace,
    preconditions: isObject(sent.preconditions) ? (sent.preconditions as DeleteOptions['preconditions']) : undefined,
  };
}

export function rvInPatch(contentType: string, raw: string): string | undefined {
  try {
    if (contentType === 'application/json-patch+json') {
      const ops: unknown = JSON.parse(raw);
      const set = Array.isArray(ops)
        ? ops.find((op) => at(op, 'path') === '/metadata/resourceVersion' && at(op, 'op') !== 'remove')
        : undefined;
      const value = at(set, 'value');
      return value === undefined || value === null ? undefined : String(value);
    }
    const body: unknown = contentType === 'application/apply-patch+yaml' ? parseYaml(raw) : JSON.parse(raw);
    const rv = at(body, 'metadata', 'resourceVersion');
    return rv ? String(rv) : undefined;
  } catch {
    return undefined;
  }
}

function readRaw(req: IncomingMessage): Promise<Buffer> {
  return readLimitedBody(req, MAX_BODY, {
    tooLarge: () => new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large'),
    overflow: 'destroy',
  });
}

export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readRaw(req)).toString('utf8');
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const buf = await readRaw(req);
  const type = String(req.headers['content-type'] ?? '');
  // client-go's typed clients send builtin objects (and DeleteOptions) as protobuf.
  if (isProtobuf(type)) return buf.length ? decodeProtobufObject(buf) : undefined;
  const raw = buf.toString('utf8');
  if (!raw.trim()) return undefined;
  try {
    return /yaml/.test(type) ? parseYaml(raw) : JSON.parse(raw);
  } catch (e) {
    throw badRequest(`the body of the request was in an unknown format: ${(e as Error).message}`);
  }
}

export async function readObject(req: IncomingMessage): Promise<KObject> {
  const body = (await readJson(req)) as KObject | undefined;
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the body of the request must be an object');
  body.metadata ??= {};
  return body;
}

/** The field manager of a request: `fieldManager`, else the User-Agent up to its first "/" (the real server's default). */
export function fieldManagerOf(req: IncomingMessage, q: URLSearchParams): string {
  const given = q.get('fieldManager');
  if (given) return given;
  return String(req.headers['user-agent'] ?? '')
    .split('/')[0]
    .slice(0, 128);
}

/** Responses to requests with `?pretty=true`: their JSON is indented, as the apiserver does. */
export const prettyResponses = new WeakSet<ServerResponse>();

export function json(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = prettyResponses.has(res) ? JSON.stringify(body, null, 2) + '\n' : JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

/**
 * Writes a list without building one giant string for 10,000 objects at once, and streams it: after each ~256 KB
 * chunk it yields to the event loop, so the first bytes leave while the rest is still being serialized and other
 * requests and watch streams are served meanwhile (a synchronous loop sent nothing until the whole list was
 * serialized, and blocked the server for that long). `items` is the snapshot taken when the request came in; stored
 * objects are replaced on write, never changed in place, so serializing them a little later shows the same state.
 */
export async function writeList(
  res: ServerResponse,
  apiVersion: string,
  kind: string,
  metadata: unknown,
  items: KObject[],
): Promise<void> {
  if (prettyResponses.has(res)) return json(res, 200, { kind, apiVersion, metadata, items });
  res.writeHead(200, { 'Content-Type': 'application/json' });
  let buf = `{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":${JSON.stringify(metadata)},"items":[`;
  for (let i = 0; i < items.length; i++) {
    buf += (i ? ',' : '') + JSON.stringify(items[i]);
    if (buf.length > 256 * 1024) {
      res.write(buf);
      buf = '';
      // A client reading slower than we serialize: wait for it rather than buffer the whole list in memory.
      await (res.writableLength > 4 * 1024 * 1024 ? drained(res) : yieldToLoop());
      if (res.destroyed) return; // the client went away
    }
  }
  res.end(buf + ']}');
}

export function text(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

export function requestVerb(method: string, route: Route, query: URLSearchParams): RequestVerb {
  switch (method) {
    case 'GET':
      // `?watch=true` on a named object is a watch too (of that one object), as RBAC sees it.
      return queryFlag(query, 'watch') ? 'watch' : route.name ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return route.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase() as RequestVerb;
  }
}

/** `plural[.group][/subresource]`, as kubectl and audit logs name a resource. */
export function resourceName(route: Route): string {
  const { rt, subresource } = route;
  return `${rt.plural}${rt.group ? `.${rt.group}` : ''}${subresource ? `/${subresource}` : ''}`;
}

export function isLoopback(address: string | undefined): boolean {
  return !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

/** The 403 RBAC answers with (fault injection's callers are all user "x"). */
export function forbidden(req: IncomingMessage, route: Route, query: URLSearchParams, username = 'x'): ApiError {
  const verb = requestVerb(req.method ?? 'GET', route, query);
  const resource = route.subresource ? `${route.rt.plural}/${route.subresource}` : route.rt.plural;
  const scope = route.namespace ? `in the namespace "${route.namespace}"` : 'at the cluster scope';
  const name = route.name ? ` "${route.name}"` : '';
  return new ApiError(
    403,
    'Forbidden',
    `${route.rt.plural}${name} is forbidden: User ${JSON.stringify(username)} cannot ${verb} resource "${resource}" in API group "${route.rt.group}" ${scope}`,
    {
      ...(route.name ? { name: route.name } : {}),
      ...(route.rt.group ? { group: route.rt.group } : {}),
      kind: route.rt.plural,
    },
  );
}

/** RBAC's attributes of a request on a resource route, for a verb. */
export function resourceAttributes(verb: RequestVerb, route: Route): Attributes {
  const { rt, namespace, subresource, name } = route;
  return { verb, namespace, group: rt.group, resource: rt.plural, subresource, name };
}

/**
 * The 403 of an apply that would create an object the user may patch but not create: the apiserver's patch handler
 * authorizes the create itself and answers with the authorizer's reason (RBAC gives none on a denial).
 */
export function createForbidden(route: Route, reason: string): ApiError {
  const { rt, name } = route;
  return new ApiError(
    403,
    'Forbidden',
    `${rt.plural}${rt.group ? `.${rt.group}` : ''} "${name}" is forbidden: ${reason}`,
    {
      name,
      ...(rt.group ? { group: rt.group } : {}),
      kind: rt.plural,
    },
  );
}
