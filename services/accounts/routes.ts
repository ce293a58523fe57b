// The HTTP routes of accounts besides GraphQL: the public keys that verify access tokens, and the internal
// endpoints the gateway and the common authorization module call (README "Interfaces of accounts").
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLError } from 'graphql';
import type { Logger } from '../common/log.js';
import type { AccountsModel } from './model/accounts.js';

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
  return true;
}
const fail = (res: ServerResponse, status: number, code: string, message: string, reason?: string) =>
  json(res, status, { error: { code, message, ...(reason ? { reason } : {}) } });

async function readJson(req: IncomingMessage, limit = 16 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(c);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
}

/** The GraphQL error code of a model error, and the HTTP status that goes with it. */
function statusOf(e: unknown): { status: number; code: string; message: string; reason?: string } | undefined {
  const code = (e as GraphQLError)?.extensions?.code;
  if (typeof code !== 'string') return undefined;
  const status =
    {
      UNAUTHENTICATED: 401,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      BAD_USER_INPUT: 400,
      CONFLICT: 409,
      UPSTREAM_UNAVAILABLE: 503,
    }[code] ?? 500;
  const reason = (e as GraphQLError).extensions.reason;
  return { status, code, message: (e as Error).message, ...(typeof reason === 'string' ? { reason } : {}) };
}

export interface RouteOptions {
  /** When set, /internal/* needs `Authorization: Bearer <it>`. */
  internalToken?: string;
  log: Logger;
}

export function accountsRoutes(model: AccountsModel, opts: RouteOptions) {
  const expected = opts.internalToken ? Buffer.from(`Bearer ${opts.internalToken}`) : undefined;
  const internalAllowed = (req: IncomingMessage) => {
    if (!expected) return true;
    const got = Buffer.from(String(req.headers.authorization ?? ''));
    return got.length === expected.length && timingSafeEqual(got, expected);
  };

  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const method = req.method ?? 'GET';
    if (url.pathname === '/.well-known/jwks.json') {
      if (method !== 'GET') return fail(res, 405, 'METHOD_NOT_ALLOWED', 'GET only');
      // Short caching: a rotated key must reach verifiers soon (they also refetch on an unknown kid).
      return json(res, 200, await model.keys.jwks(), { 'Cache-Control': 'public, max-age=60' });
    }
    if (!url.pathname.startsWith('/internal/')) return false;
    if (!internalAllowed(req)) return fail(res, 401, 'UNAUTHENTICATED', 'internal endpoints need the internal token');
    try {
      if (url.pathname === '/internal/verify-api-token') {
        if (method !== 'POST') return fail(res, 405, 'METHOD_NOT_ALLOWED', 'POST only');
        let body: unknown;
        try {
          body = await readJson(req);
        } catch {
          return fail(res, 400, 'BAD_USER_INPUT', 'expected a JSON body {"token": "..."}');
        }
        const token = (body as { token?: unknown } | null)?.token;
        if (typeof token !== 'string') return fail(res, 400, 'BAD_USER_INPUT', 'expected a JSON body {"token": "..."}');
        const id = await model.tokens.verifyApiToken(token);
        return json(res, 200, {
          username: id.username,
          uid: id.uid,
          platformRole: id.platformRole,
          tokenId: id.tokenId,
          tokenName: id.tokenName,
          expiresAt: id.expiresAt?.toISOString() ?? null,
        });
      }
      if (url.pathname === '/internal/bindings-revision') {
        if (method !== 'GET') return fail(res, 405, 'METHOD_NOT_ALLOWED', 'GET only');
        // `sessions`: the revision of the ended-sessions list, so that one cheap poll tells about both.
        return json(res, 200, {
          revision: await model.users.bindingsRevision(),
          sessions: await model.sessions.sessionsRevision(),
        });
      }
      if (url.pathname === '/internal/revoked-sessions') {
        if (method !== 'GET') return fail(res, 405, 'METHOD_NOT_ALLOWED', 'GET only');
        const after = Number(url.searchParams.get('after') ?? '0');
        if (!Number.isSafeInteger(after) || after < 0)
          return fail(res, 400, 'BAD_USER_INPUT', 'after must be a revision (a non-negative integer)');
        return json(res, 200, await model.sessions.revokedSessions(after));
      }
      const bindings = /^\/internal\/bindings\/([^/]+)$/.exec(url.pathname);
      if (bindings) {
        if (method !== 'GET') return fail(res, 405, 'METHOD_NOT_ALLOWED', 'GET only');
        const b = await model.users.roleBindings(decodeURIComponent(bindings[1]));
        return b ? json(res, 200, b) : fail(res, 404, 'NOT_FOUND', 'no such user');
      }
      // The workloads subgraph, before creating a project in a workspace: does it exist?
      const workspace = /^\/internal\/workspaces\/([^/]+)$/.exec(url.pathname);
      if (workspace) {
        if (method !== 'GET') return fail(res, 405, 'METHOD_NOT_ALLOWED', 'GET only');
        const w = await model.workspaces.workspaceExists(decodeURIComponent(workspace[1]));
        return w ? json(res, 200, { name: w.name }) : fail(res, 404, 'NOT_FOUND', 'no such workspace');
      }
      // The workloads subgraph, right after creating a project for a user: the creator becomes its project-admin.
      const creator = /^\/internal\/projects\/([^/]+)\/creator$/.exec(url.pathname);
      if (creator) {
        if (method !== 'POST') return fail(res, 405, 'METHOD_NOT_ALLOWED', 'POST only');
        let body: unknown;
        try {
          body = await readJson(req);
        } catch {
          return fail(res, 400, 'BAD_USER_INPUT', 'expected a JSON body {"username": "...", "namespaceUid": "..."}');
        }
        const { username, namespaceUid } = (body ?? {}) as { username?: unknown; namespaceUid?: unknown };
        if (typeof username !== 'string' || typeof namespaceUid !== 'string')
          return fail(res, 400, 'BAD_USER_INPUT', 'expected a JSON body {"username": "...", "namespaceUid": "..."}');
        return json(res, 200, {
          granted: await model.projects.grantCreator(decodeURIComponent(creator[1]), namespaceUid, username),
        });
      }
      return fail(res, 404, 'NOT_FOUND', 'not found');
    } catch (e) {
      const s = statusOf(e);
      if (s) return fail(res, s.status, s.code, s.message, s.reason);
      opts.log.error('internal endpoint failed', { path: url.pathname, error: (e as Error).message });
      return fail(res, 500, 'INTERNAL', 'internal error');
    }
  };
}
