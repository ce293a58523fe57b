// The request context of the accounts subgraph: who asks (from a swappable identity source), from where, and the
// per-request caches of the model.
import type { IncomingMessage } from 'node:http';
import { DEV_VIEWER, type Viewer } from '../common/authz.js';
import type { ClientInfo, RequestScope } from './model/accounts.js';
import type { AccountsModel } from './model/accounts.js';

/**
 * Where the viewer of a request comes from. Today every request is the development identity, as in workloads;
 * the gateway's signed identity header (accounts issue, identity path) plugs in here without touching the rest.
 * null means nobody is authenticated (login and refresh still work; everything else is UNAUTHENTICATED).
 */
export type IdentitySource = (req: IncomingMessage) => Viewer | null | Promise<Viewer | null>;

export const devIdentity: IdentitySource = () => DEV_VIEWER;

/**
 * The caller's own bearer token (an access token from login, or an API token), checked by accounts itself: for
 * tests and for running accounts alone. Behind the gateway the gateway does this and forwards the identity.
 */
export function bearerIdentity(model: AccountsModel): IdentitySource {
  return async (req) => {
    const auth = req.headers.authorization;
    const m = typeof auth === 'string' ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
    if (!m) return null;
    const token = m[1];
    if (token.startsWith('kgt_')) {
      const id = await model.tokens.verifyApiToken(token);
      return { username: id.username, platformRole: id.platformRole };
    }
    const claims = await model.keys.verify(token);
    return { username: claims.sub, platformRole: claims.platform_role };
  };
}

export type AccountsContext = RequestScope;

/**
 * The client address and user agent recorded with logins. Behind the gateway the socket is the gateway's, so the
 * first X-Forwarded-For address is taken when `trustProxy` (the gateway is expected to set it).
 */
export function clientInfo(req: IncomingMessage, trustProxy: boolean): ClientInfo {
  const fwd = req.headers['x-forwarded-for'];
  const first = trustProxy && typeof fwd === 'string' ? fwd.split(',')[0]?.trim() : undefined;
  const ua = req.headers['user-agent'];
  return { ip: first || req.socket.remoteAddress || null, userAgent: typeof ua === 'string' ? ua : null };
}

export function createContextBuilder(identity: IdentitySource, trustProxy: boolean) {
  return async ({ req }: { req: IncomingMessage }): Promise<AccountsContext> => {
    let viewer: Viewer | null;
    // A bad token is no identity: fields that need one answer UNAUTHENTICATED, login still works.
    try {
      viewer = await identity(req);
    } catch {
      viewer = null;
    }
    return { viewer, client: clientInfo(req, trustProxy), memo: new Map() };
  };
}
