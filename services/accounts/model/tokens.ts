// Tokens: access tokens (JWT signed with an asymmetric key named by `kid`), the signing keys and their rotation,
// opaque refresh and API tokens (only their SHA-256 is stored), the API-token check the gateway calls, and the API
// tokens users make for their integrations (KubeSphere's API tokens).
import { createHash, createPrivateKey, createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
  type KeyObject,
} from 'jose';
import { apiError, badUserInput, conflictError, ErrorCode, notFoundError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { Db } from '../clients/db.js';
import { store, type ApiTokenRow, type UserRow } from '../clients/store.js';
import type { Access, RequestScope } from './access.js';

export type SigningAlg = 'ES256' | 'EdDSA';
type SigningKey = CryptoKey | KeyObject;

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** A PEM (PKCS#8) private key from the environment; unset: keys generated once and kept in the database. */
  signingKeyPem?: string;
  signingKeyKid?: string;
  signingAlg: SigningAlg;
  /** lastUsedAt of an API token is written at most once per this many seconds. */
  apiTokenTouchSeconds: number;
}

/** The claims of an access token (see README "Interfaces for the gateway and the other subgraphs"). */
export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  platform_role: string;
  /** The login session (refresh-token family) the token was issued in: refused once it has ended. */
  sid: string;
  /** The user's uid: the token is not valid for another user created later under the same name. */
  uid: string;
}

export const unauthenticated = (message: string, extensions: Record<string, unknown> = {}) =>
  apiError(ErrorCode.UNAUTHENTICATED, message, extensions);

/** SHA-256 of a token: refresh and API tokens are 256-bit random, so a plain hash is enough (no stretching). */
export const hashToken = (raw: string) => createHash('sha256').update(raw).digest('hex');
export const newToken = (prefix: string) => prefix + randomBytes(32).toString('base64url');
export const REFRESH_PREFIX = 'kgr_';
export const API_TOKEN_PREFIX = 'kgt_';

interface ActiveKey {
  kid: string;
  alg: SigningAlg;
  key: SigningKey;
}

// Keys rotated out stay published this long after their retirement (the longest an access token they signed lives).
const RELOAD_MS = 30_000;

export class SigningKeys {
  private active?: ActiveKey;
  private envKey?: ActiveKey & { publicJwk: JWK };
  private loadedAt = 0;
  private jwksCache?: { at: number; value: { keys: JWK[] } };

  constructor(
    private readonly db: Db,
    private readonly settings: TokenSettings,
  ) {}

  async init(): Promise<void> {
    if (this.settings.signingKeyPem) {
      const priv = createPrivateKey(this.settings.signingKeyPem);
      const alg = this.settings.signingAlg;
      const type = priv.asymmetricKeyType;
      if (
        (alg === 'ES256' && (type !== 'ec' || priv.asymmetricKeyDetails?.namedCurve !== 'prime256v1')) ||
        (alg === 'EdDSA' && type !== 'ed25519')
      ) {
        throw new Error(
          `the signing key is a ${type} key, which does not sign ${alg} (ES256 needs a P-256 key, EdDSA an Ed25519 key)`,
        );
      }
      const publicJwk = await exportJWK(createPublicKey(priv));
      const kid = this.settings.signingKeyKid ?? (await calculateJwkThumbprint(publicJwk));
      this.envKey = { kid, alg, key: priv, publicJwk: { ...publicJwk, kid, alg, use: 'sig' } };
      this.active = this.envKey;
      return;
    }
    await this.load(true);
  }

  /** The key that signs now: the environment's, or the newest unretired one in the database (made when none). */
  private async load(createIfMissing: boolean): Promise<void> {
    let row = (await store.signingKeys(this.db)).find((k) => !k.retired_at);
    if (!row && createIfMissing) {
      await this.db.transaction(async (tx) => {
        // Replicas starting together create one key, not one each.
        await store.lockSigningKeys(tx);
        if (!(await store.signingKeys(tx)).some((k) => !k.retired_at)) await this.insertNewKey(tx);
      });
      row = (await store.signingKeys(this.db)).find((k) => !k.retired_at);
    }
    if (!row) throw new Error('no signing key');
    if (this.active?.kid !== row.kid) {
      const jwk = JSON.parse(row.private_jwk) as JWK;
      this.active = { kid: row.kid, alg: row.alg as SigningAlg, key: (await importJWK(jwk, row.alg)) as SigningKey };
    }
    this.loadedAt = Date.now();
  }

  private async insertNewKey(tx: Parameters<Parameters<Db['transaction']>[0]>[0]): Promise<string> {
    const alg = this.settings.signingAlg;
    const { privateKey, publicKey } = await generateKeyPair(alg, {
      extractable: true,
      ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
    });
    const publicJwk = await exportJWK(publicKey);
    const kid = `${new Date().toISOString().slice(0, 10)}-${(await calculateJwkThumbprint(publicJwk)).slice(0, 16)}`;
    await store.insertSigningKey(tx, {
      kid,
      alg,
      privateJwk: JSON.stringify(await exportJWK(privateKey)),
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg, use: 'sig' }),
    });
    return kid;
  }

  async current(): Promise<ActiveKey> {
    // Other replicas may have rotated: the database is asked again now and then.
    if (!this.envKey && Date.now() - this.loadedAt > RELOAD_MS) await this.load(true);
    return this.active!;
  }

  /** A new database key signs from now on; the old ones stay in the JWKS until the tokens they signed expired. */
  async rotate(): Promise<string> {
    if (this.envKey)
      throw badUserInput(
        'the signing key comes from ACCOUNTS_JWT_PRIVATE_KEY: rotate it by changing that variable (and ACCOUNTS_JWT_KID)',
      );
    const kid = await this.db.transaction(async (tx) => {
      await store.lockSigningKeys(tx);
      const k = await this.insertNewKey(tx);
      await store.retireSigningKeys(tx, k);
      return k;
    });
    this.jwksCache = undefined;
    await this.load(false);
    return kid;
  }

  /** The public keys verifiers need: the signing one and those retired less than an access-token lifetime ago. */
  async jwks(): Promise<{ keys: JWK[] }> {
    if (this.jwksCache && Date.now() - this.jwksCache.at < 5_000) return this.jwksCache.value;
    const horizon = Date.now() - (this.settings.accessTokenTtlSeconds + 60) * 1000;
    const rows = await store.signingKeys(this.db);
    const keys = rows
      .filter((k) => !k.retired_at || k.retired_at.getTime() > horizon)
      .map((k) => JSON.parse(k.public_jwk) as JWK);
    if (this.envKey) keys.unshift(this.envKey.publicJwk);
    const value = { keys };
    this.jwksCache = { at: Date.now(), value };
    return value;
  }

  async sign(user: Pick<UserRow, 'username' | 'uid' | 'platform_role'>, sid: string): Promise<string> {
    const k = await this.current();
    return new SignJWT({ platform_role: user.platform_role, sid, uid: user.uid })
      .setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'JWT' })
      .setSubject(user.username)
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + this.settings.accessTokenTtlSeconds)
      .setJti(randomUUID())
      .sign(k.key);
  }

  /** Verifies an access token against the published keys (what the gateway does with the JWKS). */
  async verify(token: string): Promise<AccessTokenClaims> {
    const { keys } = await this.jwks();
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const jwk = keys.find((k) => k.kid === header.kid);
          if (!jwk) throw new Error(`unknown kid ${header.kid}`);
          return importJWK(jwk, header.alg);
        },
        { issuer: this.settings.issuer, audience: this.settings.audience, algorithms: ['ES256', 'EdDSA'] },
      );
      if (typeof payload.sub !== 'string' || typeof payload.platform_role !== 'string')
        throw new Error('claims missing');
      return payload as AccessTokenClaims;
    } catch (e) {
      throw unauthenticated(`invalid access token: ${(e as Error).message}`);
    }
  }
}

export interface ApiTokenIdentity {
  username: string;
  /** The uid of the token's user (the gateway compares it with the role bindings'). */
  uid: string;
  platformRole: string;
  tokenId: string;
  tokenName: string;
  expiresAt: Date | null;
}

/** A user may act: not disabled, not locked by an administrator (a lock by failed logins only stops logins). */
export function userMayAct(u: UserRow | undefined): u is UserRow {
  return !!u && u.state !== 'DISABLED' && !(u.state === 'LOCKED' && u.locked_until === null);
}

/**
 * The check behind `POST /internal/verify-api-token`: the identity of a raw API token, or UNAUTHENTICATED when it
 * is unknown, revoked, expired, made for another user of the same name, or its user disabled or locked. Records the
 * use (lastUsedAt).
 */
export async function verifyApiToken(db: Db, raw: string, touchSeconds: number): Promise<ApiTokenIdentity> {
  if (typeof raw !== 'string' || !raw.startsWith(API_TOKEN_PREFIX) || raw.length > 200)
    throw unauthenticated('invalid API token');
  const row = await store.apiTokenByHash(db, hashToken(raw));
  if (!row || row.revoked_at) throw unauthenticated('invalid API token');
  if (row.expires_at && row.expires_at.getTime() <= Date.now()) throw unauthenticated('the API token has expired');
  const user = await store.getUser(db, row.username);
  // Bound to the user it was made for, not to the name (tokens from before uids were recorded have none).
  if (!user || (row.user_uid !== null && row.user_uid !== user.uid)) throw unauthenticated('invalid API token');
  const { state } = user;
  // `reason`: the token is genuine, its user may not act (the gateway tells this apart for graphql-ws: 4403).
  if (!userMayAct(user)) throw unauthenticated('the API token belongs to a disabled or locked user', { reason: state });
  await store.touchApiToken(db, row.id, touchSeconds);
  return {
    username: user.username,
    uid: user.uid,
    platformRole: user.platform_role,
    tokenId: row.id,
    tokenName: row.name,
    expiresAt: row.expires_at,
  };
}

export type ApiToken = Pick<ApiTokenRow, 'id' | 'name'> & {
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
};
export const apiTokenOf = (r: ApiTokenRow): ApiToken => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
});

export class ApiTokens {
  constructor(
    private readonly db: Db,
    private readonly settings: TokenSettings,
    private readonly keys: SigningKeys,
    private readonly access: Access,
    private readonly log: Logger,
  ) {}

  async apiTokens(req: RequestScope): Promise<ApiToken[]> {
    const a = await this.access.actor(req);
    return (await store.listApiTokens(this.db, a.username)).map(apiTokenOf);
  }

  async createApiToken(
    req: RequestScope,
    name: string,
    expiresAt: string | null | undefined,
  ): Promise<{ token: string; apiToken: ApiToken }> {
    const a = await this.access.actor(req);
    const n = name.trim();
    if (!n || n.length > 100) throw badUserInput('the token name must have 1 to 100 characters', { field: 'name' });
    let expires: Date | null = null;
    if (expiresAt) {
      expires = new Date(expiresAt);
      if (Number.isNaN(expires.getTime())) throw badUserInput('expiresAt is not a valid time', { field: 'expiresAt' });
      if (expires.getTime() <= Date.now()) throw badUserInput('expiresAt is in the past', { field: 'expiresAt' });
    }
    const token = newToken('kgt_');
    const row = await store.insertApiToken(this.db, {
      id: randomUUID(),
      username: a.username,
      userUid: a.uid,
      name: n,
      hash: hashToken(token),
      expiresAt: expires,
    });
    if (!row) throw conflictError(`you already have an API token named ${JSON.stringify(n)}`);
    this.log.info('API token created', { username: a.username, tokenId: row.id, name: n });
    return { token, apiToken: apiTokenOf(row) };
  }

  /** The viewer's own tokens; a platform admin may revoke anyone's. */
  async revokeApiToken(req: RequestScope, id: string): Promise<boolean> {
    const a = await this.access.actor(req);
    const row = await store.apiTokenById(this.db, id);
    if (!row || row.revoked_at || (row.username !== a.username && a.platform_role !== 'platform-admin'))
      throw notFoundError(`API token ${id} not found`);
    await store.revokeApiToken(this.db, id);
    this.log.info('API token revoked', { username: row.username, tokenId: id, by: a.username });
    return true;
  }

  verifyApiToken(raw: string): Promise<ApiTokenIdentity> {
    return verifyApiToken(this.db, raw, this.settings.apiTokenTouchSeconds);
  }

  async rotateSigningKey(req: RequestScope): Promise<string> {
    const a = await this.access.requirePlatformAdmin(req, 'rotate the signing key');
    const kid = await this.keys.rotate();
    this.log.info('signing key rotated', { kid, by: a.username });
    return kid;
  }
}
