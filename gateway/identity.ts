// Who a request or a graphql-ws connection is (DESIGN.md "Identity and authorization"): the caller's token, from the
// Authorization header or the graphql-ws connection_init payload, verified into an identity with its roles. With
// accounts configured (`accountsAuthenticator`), a missing token is the anonymous caller (it may log in, nothing
// else) and a bad, expired or revoked one (or one of an ended session, or of a user disabled, locked, deleted or
// created again under the same name) is UNAUTHENTICATED; without accounts (`developmentAuthenticator`) everyone is
// the development identity.
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
  return (
    bearerToken(params.authorization ?? params.Authorization) ??
    (typeof params.token === 'string' ? params.token : undefined)
  );
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

/** What the gateway reads from a verified access token; `expiresAt` in ms since the epoch. */
interface AccessClaims {
  sub: string;
  sid: string;
  uid: string;
  expiresAt: number;
}
/** Verified access tokens remembered at most (the oldest is forgotten first). */
const VERIFIED_TOKENS_MAX = 10_000;

interface RoleBindingsBody {
  username: string;
  uid: string;
  state: string;
  platformRole: string;
  workspaces: { workspace: string; role: string }[];
  projects: { project: string; role: string; namespaceUid: string | null }[];
  revision: number;
}

/**
 * A refused token. `reason` DISABLED or LOCKED: the token is genuine, its user may not act (graphql-ws tells this
 * apart: 4403 instead of 4401).
 */
const unauthenticated = (message: string, reason?: 'DISABLED' | 'LOCKED') =>
  new GraphQLError(message, {
    extensions: { code: ErrorCode.UNAUTHENTICATED, ...(reason ? { reason } : {}), http: { status: 401 } },
  });

/** Whether an error refuses the caller's credentials (UNAUTHENTICATED), rather than failing to check them. */
export const isUnauthenticated = (e: unknown): e is GraphQLError =>
  e instanceof GraphQLError && e.extensions.code === ErrorCode.UNAUTHENTICATED;
/** Whether a refusal is of a genuine token whose user may not act (disabled, locked). */
export const isNotAllowed = (e: unknown): boolean =>
  isUnauthenticated(e) && (e.extensions.reason === 'DISABLED' || e.extensions.reason === 'LOCKED');

/**
 * Tokens checked against accounts: access tokens (JWT) with the published keys (JWKS, cached by jose and fetched
 * again on an unknown `kid`), API tokens (`kgt_…`) by accounts itself (so a revoked one is refused at once). The
 * caller's role bindings come from accounts too, cached per user and dropped as soon as accounts' bindings revision
 * changes (checked at most every `bindingsCheckMs`); a disabled, locked or deleted user is refused, and so is a token
 * whose `uid` is not the user's (issued to an earlier user of the same name). Access tokens of ended sessions (logout,
 * password change, refresh-token reuse) are refused too: accounts' list of ended sessions is followed by its own
 * revision, read with the bindings revision, so an ended session takes effect within `bindingsCheckMs`.
 */
export function accountsAuthenticator(opts: AccountsAuthenticatorOptions): Authenticator {
  const base = opts.accountsUrl.replace(/\/+$/, '');
  const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`), {
    cooldownDuration: 5_000,
    timeoutDuration: opts.timeoutMs ?? 5_000,
  });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.internalToken) headers.authorization = `Bearer ${opts.internalToken}`;
  const checkMs = opts.bindingsCheckMs ?? 1_000;
  const timeout = () => AbortSignal.timeout(opts.timeoutMs ?? 5_000);

  const call = async (path: string, init: RequestInit = {}): Promise<Response> => {
    try {
      return await fetch(`${base}${path}`, { ...init, headers, signal: timeout() });
    } catch (e) {
      throw new GraphQLError(`accounts is unreachable: ${(e as Error).message}`, {
        extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE, service: 'accounts', http: { status: 503 } },
      });
    }
  };

  let revision: { value: number; at: number; pending?: Promise<number> } = { value: -1, at: 0 };
  const currentRevision = async (): Promise<number> => {
    if (Date.now() - revision.at < checkMs) return revision.value;
    revision.pending ??= (async () => {
      const res = await call('/internal/bindings-revision');
      if (!res.ok)
        throw new GraphQLError(`accounts answered ${res.status} for the bindings revision`, {
          extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE, service: 'accounts' },
        });
      const body = (await res.json()) as { revision: number; sessions?: number };
      // The ended sessions are brought up to date before the new revision is used: no request in between is
      // decided on a list older than the revision it saw.
      if (body.sessions !== undefined && body.sessions > ended.revision) await followEndedSessions();
      revision = { value: body.revision, at: Date.now() };
      return body.revision;
    })().finally(() => {
      revision.pending = undefined;
    });
    return revision.pending;
  };

  /** Sessions accounts has ended (sid → when their last access token expires, ms), and the revision they reach. */
  const ended = { revision: 0, sids: new Map<string, number>() };
  const followEndedSessions = async (): Promise<void> => {
    const res = await call(`/internal/revoked-sessions?after=${ended.revision}`);
    if (!res.ok)
      throw new GraphQLError(`accounts answered ${res.status} for the ended sessions`, {
        extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE, service: 'accounts' },
      });
    const body = (await res.json()) as { revision: number; sessions: { sid: string; expiresAt: string }[] };
    const now = Date.now();
    for (const [sid, until] of ended.sids) if (until <= now) ended.sids.delete(sid);
    for (const s of body.sessions) ended.sids.set(s.sid, Date.parse(s.expiresAt));
    ended.revision = Math.max(ended.revision, body.revision);
  };
  const bindings = new Map<string, { revision: number; uid: string; viewer: Identity }>();
  /** The uid each identity handed out belongs to (refresh checks that the user is still that one). */
  const uids = new WeakMap<Identity, string>();
  /** The login session of identities from access tokens (refresh checks it has not ended). */
  const sids = new WeakMap<Identity, string>();
  /**
   * Access tokens whose signature and claims were checked, until they expire: the signature (ES256, EdDSA) costs more
   * than the rest of a request's authentication. Only that check is reused: the user (its state, uid and roles) and
   * the session (logout, password change, refresh-token reuse) are still checked on every request, and accounts keeps
   * a retired signing key published as long as the tokens it signed live.
   */
  const verified = new Map<string, AccessClaims>();

  /** The identity of user `username`, when it is still the user with uid `uid` and may act. */
  const viewerOf = async (username: string, uid: string): Promise<Identity> => {
    const rev = await currentRevision();
    let cached = bindings.get(username);
    if (!cached || cached.revision !== rev) {
      const res = await call(`/internal/bindings/${encodeURIComponent(username)}`);
      if (res.status === 404) throw unauthenticated('the token belongs to a user that no longer exists');
      if (!res.ok)
        throw new GraphQLError(`accounts answered ${res.status} for role bindings`, {
          extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE, service: 'accounts' },
        });
      const b = (await res.json()) as RoleBindingsBody;
      // Accounts' own rule (userMayAct): a disabled or locked user may not act.
      if (b.state === 'DISABLED') throw unauthenticated('the user is disabled', 'DISABLED');
      if (b.state === 'LOCKED') throw unauthenticated('the user is locked', 'LOCKED');
      cached = { revision: Math.max(rev, b.revision), uid: b.uid, viewer: viewerOfBindings(b) };
      if (bindings.size > 10_000) bindings.clear();
      bindings.set(username, cached);
    }
    if (cached.uid !== uid) throw unauthenticated('the token belongs to a user that no longer exists');
    // A copy per caller: it carries the uid it was checked against.
    const viewer = { ...cached.viewer };
    uids.set(viewer, uid);
    return viewer;
  };
  const viewerOfBindings = (b: RoleBindingsBody): Identity => {
    const viewer: Identity = {
      username: b.username,
      platformRole: b.platformRole,
      workspaceRoles: Object.fromEntries(b.workspaces.map((w) => [w.workspace, w.role])),
      projectRoles: Object.fromEntries(b.projects.map((p) => [p.project, p.role])),
      // Subgraphs with a namespace view honour a project role only on the namespace it was granted on.
      projectUids: Object.fromEntries(b.projects.flatMap((p) => (p.namespaceUid ? [[p.project, p.namespaceUid]] : []))),
    };
    return viewer;
  };

  return {
    refresh: async (identity) => {
      const uid = uids.get(identity);
      if (uid === undefined) throw unauthenticated('unknown identity');
      const viewer = await viewerOf(identity.username, uid);
      // A long-lived connection of an access token lives no longer than its session (logout, password change, reuse).
      const sid = sids.get(identity);
      if (sid !== undefined) {
        if (ended.sids.has(sid)) throw unauthenticated('the session of this access token has ended');
        sids.set(viewer, sid);
      }
      return viewer;
    },
    async authenticate(token) {
      if (!token) return ANONYMOUS;
      if (token.startsWith('kgt_')) {
        const res = await call('/internal/verify-api-token', { method: 'POST', body: JSON.stringify({ token }) });
        if (res.status === 401 || res.status === 400) {
          const error = ((await res.json()) as { error?: { message?: string; reason?: string } }).error;
          throw unauthenticated(
            error?.message ?? 'invalid API token',
            error?.reason === 'DISABLED' || error?.reason === 'LOCKED' ? error.reason : undefined,
          );
        }
        if (!res.ok)
          throw new GraphQLError(`accounts answered ${res.status} for an API token`, {
            extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE, service: 'accounts' },
          });
        const id = (await res.json()) as { username: string; uid: string };
        return viewerOf(id.username, id.uid);
      }
      let claims = verified.get(token);
      if (claims && Date.now() >= claims.expiresAt) {
        verified.delete(token);
        claims = undefined;
      }
      if (!claims) claims = await verifyAccessToken(token);
      // The user (and the revision, which brings the ended sessions up to date) first, then the session.
      const viewer = await viewerOf(claims.sub, claims.uid);
      if (ended.sids.has(claims.sid)) throw unauthenticated('the session of this access token has ended');
      sids.set(viewer, claims.sid);
      return viewer;
    },
  };

  /** An access token's claims, its signature checked with accounts' published keys; remembered until it expires. */
  async function verifyAccessToken(token: string): Promise<AccessClaims> {
    let claims: AccessClaims;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: opts.issuer ?? 'kubegraph',
        audience: opts.audience ?? 'kubegraph',
        algorithms: ['ES256', 'EdDSA'],
      });
      // Tokens without a session or a user id (issued before they were added) are refused: they cannot be revoked.
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || typeof payload.uid !== 'string')
        throw new Error('claims missing');
      claims = { sub: payload.sub, sid: payload.sid, uid: payload.uid, expiresAt: (payload.exp ?? 0) * 1000 };
    } catch (e) {
      if (e instanceof joseErrors.JWKSTimeout || (e as { code?: string }).code === 'ERR_JWKS_TIMEOUT') {
        throw new GraphQLError('accounts is unreachable (keys)', {
          extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE, service: 'accounts', http: { status: 503 } },
        });
      }
      throw unauthenticated(
        e instanceof joseErrors.JWTExpired ? 'the access token has expired' : 'invalid access token',
      );
    }
    if (claims.expiresAt > Date.now()) {
      if (verified.size >= VERIFIED_TOKENS_MAX) verified.delete(verified.keys().next().value!);
      verified.set(token, claims);
    }
    return claims;
  }
}
