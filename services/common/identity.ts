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

/** jwtVerify's clock tolerance; a remembered verification is refused by the same rule. */
const CLOCK_TOLERANCE_SECONDS = 0;
/** Most remembered verifications: the gateway reuses one token per viewer for up to half its lifetime. */
export const VERIFIED_CACHE_SIZE = 10_000;

interface Verified {
  viewer: Viewer;
  /** Seconds since the epoch, as in the token. */
  exp: number;
  nbf?: number;
}

/**
 * Successful verifications by key, then whole token (verifying the signature on every request cost 13-20% of a
 * subgraph's CPU on small queries, issue 19 §1): a token verified under one key says nothing under another, and the
 * key object itself is the map's key (its bytes, a secret, are not copied into strings). Oldest first: when full, the
 * oldest is dropped.
 */
const verifiedByKey = new WeakMap<Uint8Array, Map<string, Verified>>();
const verifiedUnder = (key: Uint8Array): Map<string, Verified> => {
  let m = verifiedByKey.get(key);
  if (!m) verifiedByKey.set(key, (m = new Map()));
  return m;
};

/** What jwtVerify would decide about the time claims now (jose: whole seconds, exp inclusive, nbf exclusive). */
const inTime = (v: Verified) => {
  const now = Math.floor(Date.now() / 1000);
  return v.exp > now - CLOCK_TOLERANCE_SECONDS && (v.nbf === undefined || v.nbf <= now + CLOCK_TOLERANCE_SECONDS);
};

// A copy each time, as a fresh verification gives (its role maps are read-only).
const copyOf = (v: Viewer): Viewer => ({ ...v });

/** Forgets every remembered verification (tests). */
export function clearVerifiedIdentities(key: Uint8Array): void {
  verifiedByKey.delete(key);
}

/** The viewer and when its signature expires (ms since the epoch): a subscription lives no longer than that. */
export async function verifySignedIdentity(
  key: Uint8Array,
  token: string | undefined | null,
): Promise<{ viewer: Viewer; expiresAt: number }> {
  if (!token) throw new IdentityError('no identity from the gateway: subgraphs are only reachable through it');
  const verified = verifiedUnder(key);
  const hit = verified.get(token);
  if (hit) {
    if (inTime(hit)) return { viewer: copyOf(hit.viewer), expiresAt: hit.exp * 1000 };
    // Expired (or the clock went back before nbf): verified again below, which refuses it as jose does.
    verified.delete(token);
  }
  try {
    const { payload } = await jwtVerify(token, key, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    const p = payload as unknown as IdentityClaims & { sub?: string; exp?: number; nbf?: number };
    if (typeof p.sub !== 'string' || typeof p.pr !== 'string' || typeof p.exp !== 'number')
      throw new IdentityError('malformed identity');
    const viewer: Viewer = {
      username: p.sub,
      platformRole: p.pr,
      workspaceRoles: p.ws ?? {},
      projectRoles: p.pj ?? {},
      projectUids: p.pu ?? {},
    };
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
    verified.set(token, typeof p.nbf === 'number' ? { viewer, exp: p.exp, nbf: p.nbf } : { viewer, exp: p.exp });
    return { viewer: copyOf(viewer), expiresAt: p.exp * 1000 };
  } catch (e) {
    if (e instanceof IdentityError) throw e;
    if (e instanceof joseErrors.JWTExpired) throw new IdentityError('the forwarded identity has expired');
    throw new IdentityError('the forwarded identity is not signed by the gateway');
  }
}
