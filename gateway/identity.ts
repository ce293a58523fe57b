// Who a request or a graphql-ws connection is (DESIGN.md "Identity and authorization"): the caller's token, from the
// Authorization header or the graphql-ws connection_init payload, verified into an identity with its roles. With
// accounts configured (`accountsAuthenticator`), a missing token is the anonymous caller (it may log in, nothing
// else) and a bad, expired or revoked one is UNAUTHENTICATED; without accounts (`developmentAuthenticator`) everyone
// is the development identity.
import { GraphQLError } from 'graphql';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import { ANONYMOUS, DEV_VIEWER, type Viewer } from '../services/common/authz.js';
import { ErrorCode } from '../services/common/errors.js';

export type Identity = Viewer;

/** The bearer token of an Authorization value ("Bearer <token>"), if any. */
export function bearerToken(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return m?.[1];
}

/** The token a graphql-ws client sends in connection_init: `{ authorization: "Bearer …" }` or `{ token: "…" }`. */
export function connectionToken(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  return bearerToken(params.authorization ?? params.Authorization) ?? (typeof params.token === 'string' ? params.token : undefined);
}

export interface Authenticator {
  /** The identity of a token (undefined: no token). Throws an UNAUTHENTICATED GraphQLError when it is refused. */
  authenticate(token: string | undefined): Promise<Identity>;
  /** An identity's current roles (long-lived connections); UNAUTHENTICATED when its user may no longer act. */
  refresh?(identity: Identity): Promise<Identity>;
}

/** No accounts yet: every caller, with or without a token, is the development identity. */
export const developmentAuthenticator: Authenticator = {
  authenticate: async () => DEV_VIEWER,
};

export interface AccountsAuthenticatorOptions {
  /** The accounts service's base URL (http://host:port): JWKS and /internal/* live there. */
  accountsUrl: string;
  /** The bearer token of accounts' /internal/* endpoints (ACCOUNTS_INTERNAL_TOKEN), when it requires one. */
  internalToken?: string;
  issuer?: string;
  audience?: string;
  /** How long role bindings are reused before the bindings revision is checked again (ms). */
  bindingsCheckMs?: number;
  timeoutMs?: number;
}

interface RoleBindingsBody {
  username: string;
  state: string;
  platformRole: string;
  workspaces: { workspace: string; role: string }[];
  projects: { project: string; role: string }[];
  revision: number;
}

const unauthenticated = (message: string) => new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });

/**
 * Tokens checked against accounts: access tokens (JWT) with the published keys (JWKS, cached by jose and fetched
 * again on an unknown `kid`), API tokens (`kgt_…`) by accounts itself (so a revoked one is refused at once). The
 * caller's role bindings come from accounts too, cached per user and dropped as soon as accounts' bindings revision
 * changes (checked at most every `bindingsCheckMs`); a disabled or deleted user is refused.
 */
export function accountsAuthenticator(opts: AccountsAuthenticatorOptions): Authenticator {
  const base = opts.accountsUrl.replace(/\/+$/, '');
  const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`), { cooldownDuration: 5_000, timeoutDuration: opts.timeoutMs ?? 5_000 });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.internalToken) headers.authorization = `Bearer ${opts.internalToken}`;
  const checkMs = opts.bindingsCheckMs ?? 1_000;
  const timeout = () => AbortSignal.timeout(opts.timeoutMs ?? 5_000);

  const call = async (path: string, init: RequestInit = {}): Promise<Response> => {
    try {
      return await fetch(`${base}${path}`, { ...init, headers, signal: timeout() });
    } catch (e) {
      throw new GraphQLError(`accounts is unreachable: ${(e as Error).message}`, { extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE, service: 'accounts', http: { status: 503 } } });
    }
  };

  let revision: { value: number; at: number; pending?: Promise<number> } = { value: -1, at: 0 };
  const currentRevision = async (): Promise<number> => {
    if (Date.now() - revision.at < checkMs) return revision.value;
    revision.pending ??= (async () => {
      const res = await call('/internal/bindings-revision');
      if (!res.ok) throw new GraphQLError(`accounts answered ${res.status} for the bindings revision`, { extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE, service: 'accounts' } });
      const value = ((await res.json()) as { revision: number }).revision;
      revision = { value, at: Date.now() };
      return value;
    })().finally(() => {
      revision.pending = undefined;
    });
    return revision.pending;
  };
  const bindings = new Map<string, { revision: number; viewer: Identity }>();

  const viewerOf = async (username: string): Promise<Identity> => {
    const rev = await currentRevision();
    const cached = bindings.get(username);
    if (cached && cached.revision === rev) return cached.viewer;
    const res = await call(`/internal/bindings/${encodeURIComponent(username)}`);
    if (res.status === 404) throw unauthenticated('the token belongs to a user that no longer exists');
    if (!res.ok) throw new GraphQLError(`accounts answered ${res.status} for role bindings`, { extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE, service: 'accounts' } });
    const b = (await res.json()) as RoleBindingsBody;
    if (b.state === 'DISABLED') throw unauthenticated('the user is disabled');
    const viewer: Identity = {
      username: b.username,
      platformRole: b.platformRole,
      workspaceRoles: Object.fromEntries(b.workspaces.map((w) => [w.workspace, w.role])),
      projectRoles: Object.fromEntries(b.projects.map((p) => [p.project, p.role])),
    };
    if (bindings.size > 10_000) bindings.clear();
    bindings.set(username, { revision: Math.max(rev, b.revision), viewer });
    return viewer;
  };

  return {
    refresh: (identity) => viewerOf(identity.username),
    async authenticate(token) {
      if (!token) return ANONYMOUS;
      let username: string;
      if (token.startsWith('kgt_')) {
        const res = await call('/internal/verify-api-token', { method: 'POST', body: JSON.stringify({ token }) });
        if (res.status === 401 || res.status === 400) throw unauthenticated(((await res.json()) as { error?: { message?: string } }).error?.message ?? 'invalid API token');
        if (!res.ok) throw new GraphQLError(`accounts answered ${res.status} for an API token`, { extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE, service: 'accounts' } });
        username = ((await res.json()) as { username: string }).username;
      } else {
        try {
          const { payload } = await jwtVerify(token, jwks, { issuer: opts.issuer ?? 'kubegraph', audience: opts.audience ?? 'kubegraph', algorithms: ['ES256', 'EdDSA'] });
          if (typeof payload.sub !== 'string') throw new Error('no subject');
          username = payload.sub;
        } catch (e) {
          if (e instanceof joseErrors.JWKSTimeout || (e as { code?: string }).code === 'ERR_JWKS_TIMEOUT') {
            throw new GraphQLError('accounts is unreachable (keys)', { extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE, service: 'accounts', http: { status: 503 } } });
          }
          throw unauthenticated(e instanceof joseErrors.JWTExpired ? 'the access token has expired' : 'invalid access token');
        }
      }
      return viewerOf(username);
    },
  };
}
