// The identity the gateway forwards to subgraphs (DESIGN.md "Identity and authorization"): a short-lived token signed
// by the gateway with a secret the subgraphs share (KUBEGRAPH_IDENTITY_SECRET), in the header `x-kubegraph-identity`
// of HTTP requests and in the `identity` extension of graphql-ws subscribe messages. Subgraphs accept nothing
// without a valid one, so calling a subgraph directly gets nothing. It carries the caller's roles, so subgraphs
// authorize without asking accounts.
import { createHash, randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import { ConfigError, envString } from './config.js';
import type { Viewer } from './authz.js';

export const IDENTITY_HEADER = 'x-kubegraph-identity';
export const IDENTITY_SECRET_ENV = 'KUBEGRAPH_IDENTITY_SECRET';
const ISSUER = 'kubegraph-gateway';
const AUDIENCE = 'kubegraph-subgraphs';
/** Long enough for one request's fetches and a subscription's start; the gateway reuses one for at most half of it (datasource.ts). */
export const IDENTITY_TTL_SECONDS = 60;

export class IdentityError extends Error {}

/** The HMAC key of a secret (any length: it is hashed to 32 bytes). */
export function identityKey(secret: string): Uint8Array {
  if (secret.length < 16) throw new ConfigError(`${IDENTITY_SECRET_ENV} must be at least 16 characters`);
  return new Uint8Array(createHash('sha256').update(secret).digest());
}

/** KUBEGRAPH_IDENTITY_SECRET, required for services started on their own (they must share it with the gateway). */
export function identitySecretFromEnv(): string {
  const s = envString(IDENTITY_SECRET_ENV);
  if (s === undefined)
    throw new ConfigError(
      `${IDENTITY_SECRET_ENV} is not set: the gateway and every subgraph need the same secret (at least 16 characters) to sign and check forwarded identities`,
    );
  identityKey(s);
  return s;
}

/** For a single process that runs the gateway and the subgraphs together (`npm start`): a fresh random secret. */
export const randomIdentitySecret = () => randomBytes(32).toString('base64url');

interface IdentityClaims {
  pr: string;
  ws?: Record<string, string>;
  pj?: Record<string, string>;
  /** Project → the namespace uid its role was granted on. */
  pu?: Record<string, string>;
}

export async function signIdentity(
  key: Uint8Array,
  viewer: Viewer,
  ttlSeconds = IDENTITY_TTL_SECONDS,
): Promise<string> {
  const claims: IdentityClaims = { pr: viewer.platformRole };
  if (viewer.workspaceRoles && Object.keys(viewer.workspaceRoles).length) claims.ws = { ...viewer.workspaceRoles };
  if (viewer.projectRoles && Object.keys(viewer.projectRoles).length) claims.pj = { ...viewer.projectRoles };
  if (viewer.projectUids && Object.keys(viewer.projectUids).length) claims.pu = { ...viewer.projectUids };
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(viewer.username)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key);
}

/** The viewer of a forwarded identity; IdentityError when it is missing, forged or expired. */
export async function verifyIdentity(key: Uint8Array, token: string | undefined | null): Promise<Viewer> {
  return (await verifySignedIdentity(key, token)).viewer;
}

/** The viewer and when its signature expires (ms since the epoch): a subscription lives no longer than that. */
export async function verifySignedIdentity(
  key: Uint8Array,
  token: string | undefined | null,
): Promise<{ viewer: Viewer; expiresAt: number }> {
  if (!token) throw new IdentityError('no identity from the gateway: subgraphs are only reachable through it');
  try {
    const { payload } = await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
    const p = payload as unknown as IdentityClaims & { sub?: string; exp?: number };
    if (typeof p.sub !== 'string' || typeof p.pr !== 'string' || typeof p.exp !== 'number')
      throw new IdentityError('malformed identity');
    return {
      viewer: {
        username: p.sub,
        platformRole: p.pr,
        workspaceRoles: p.ws ?? {},
        projectRoles: p.pj ?? {},
        projectUids: p.pu ?? {},
      },
      expiresAt: p.exp * 1000,
    };
  } catch (e) {
    if (e instanceof IdentityError) throw e;
    if (e instanceof joseErrors.JWTExpired) throw new IdentityError('the forwarded identity has expired');
    throw new IdentityError('the forwarded identity is not signed by the gateway');
  }
}
