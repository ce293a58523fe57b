// Login and sessions (KubeSphere's authentication and login records): password and LDAP logins with throttling by
// account and source, the users created on first login, refresh-token rotation with reuse detection, logout, and the
// ended sessions the gateway follows to refuse their access tokens.
import { randomUUID } from 'node:crypto';
import { badUserInput, ErrorCode, forbiddenError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { Db, Queryable } from '../clients/db.js';
import { store, type LoginRecordRow, type UserRow } from '../clients/store.js';
import type { Access, RequestScope } from './access.js';
import type { IdentityProvider } from './providers.js';
import { validUsername } from './roles.js';
import {
  hashToken,
  newToken,
  REFRESH_PREFIX,
  unauthenticated,
  userMayAct,
  type SigningKeys,
  type TokenSettings,
} from './tokens.js';
import { MAX_PAGE, userOf, type User } from './users.js';

export interface AccountsSettings extends TokenSettings {
  /** Failed logins of one account from one source (within lockSeconds) that lock that account's logins from it. */
  maxFailedLogins: number;
  /** Failed logins from one source, any account (within lockSeconds), that lock every login from it. */
  maxFailedLoginsPerSource: number;
  /** How long such a lock lasts, and the window failures are counted in. */
  lockSeconds: number;
  /** scrypt cost: N = 2^scryptLogN. */
  scryptLogN: number;
}

export interface LoginRecord {
  at: Date;
  sourceIp: string | null;
  userAgent: string | null;
  success: boolean;
  reason: string | null;
  provider: string | null;
}
export interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}

const recordOf = (r: LoginRecordRow): LoginRecord => ({
  at: r.at,
  sourceIp: r.source_ip,
  userAgent: r.user_agent,
  success: r.success,
  reason: r.reason,
  provider: r.provider,
});

export class Sessions {
  private readonly byName: Map<string, IdentityProvider>;

  constructor(
    private readonly db: Db,
    private readonly settings: AccountsSettings,
    private readonly keys: SigningKeys,
    private readonly providers: IdentityProvider[],
    private readonly access: Access,
    private readonly log: Logger,
  ) {
    this.byName = new Map(providers.map((p) => [p.name, p]));
  }

  async login(req: RequestScope, username: string, password: string): Promise<AuthPayload> {
    const record = (success: boolean, reason: string | null, provider: string | null) =>
      store.insertLoginRecord(this.db, {
        username: username.slice(0, 256),
        source_ip: req.client.ip,
        user_agent: req.client.userAgent?.slice(0, 512) ?? null,
        success,
        reason,
        provider,
      });
    // One message for every refusal before the password is proven (wrong password, unknown user, throttled): none
    // of them tells whether the account exists.
    const invalid = () => unauthenticated('invalid username or password');
    // No account name holds a NUL character (PostgreSQL text cannot): the same refusal as for any unknown name.
    if (username.includes('\u0000')) throw invalid();
    const throttle = this.throttleKeys(username, req.client.ip);

    let user = await store.getUser(this.db, username);
    if (await store.loginThrottled(this.db, [throttle.account, throttle.source])) {
      // No password check while throttled: that is what stops the guessing. Unknown names are throttled alike.
      await record(false, 'locked', user?.provider ?? null);
      throw unauthenticated('invalid username or password', { reason: 'LOCKED' });
    }
    const failed = async (reason: string, providerName: string | null): Promise<never> => {
      const locked = await this.recordLoginFailure(throttle, username, req.client.ip);
      await record(false, locked ? `${reason}_locked` : reason, providerName);
      throw invalid();
    };
    let provider: IdentityProvider | undefined;
    let profile: { email: string | null; displayName: string | null } | undefined;
    try {
      if (user) {
        provider = this.byName.get(user.provider);
        if (!provider) {
          await record(false, 'provider_not_configured', user.provider);
          throw invalid();
        }
        const out = await provider.authenticate(username, password, user);
        if (!out.ok) return await failed('invalid_credentials', provider.name);
        profile = out.profile;
      } else {
        // Unknown here: the providers that create users on first login are asked in turn; local passwords' check
        // runs as well, so that unknown users take as long as known ones.
        const local = this.byName.get('local');
        for (const p of this.providers.filter((x) => x.createsUsers)) {
          const out = await p.authenticate(username, password, undefined);
          if (out.ok) {
            provider = p;
            profile = out.profile;
            break;
          }
        }
        if (!provider) {
          if (local) await local.authenticate(username, password, undefined);
          // Counted like a wrong password: a name's throttling must not tell whether it exists.
          return await failed('unknown_user', null);
        }
        try {
          validUsername(username);
        } catch {
          await record(false, 'invalid_username', provider.name);
          throw invalid();
        }
        await this.db.transaction(async (tx) => {
          const created = await store.insertUser(tx, {
            username,
            email: profile?.email ?? null,
            displayName: profile?.displayName ?? null,
            passwordHash: null,
            provider: provider!.name,
            platformRole: 'platform-regular',
          });
          if (created) await store.bumpRevision(tx);
        });
        user = await store.getUser(this.db, username);
        if (!user || user.provider !== provider.name) {
          await record(false, 'invalid_credentials', provider.name);
          throw invalid();
        }
        this.log.info('user created on first login', { username, provider: provider.name });
      }
    } catch (e) {
      if ((e as { extensions?: { code?: string } }).extensions?.code === ErrorCode.UPSTREAM_UNAVAILABLE)
        await record(false, 'provider_unavailable', provider?.name ?? user?.provider ?? null);
      throw e;
    }
    if (user.state === 'DISABLED') {
      await record(false, 'disabled', provider.name);
      throw unauthenticated(`${username} is disabled`, { reason: 'DISABLED' });
    }
    if (!userMayAct(user)) {
      // Locked by an administrator: even with the right password, the answer is the one of a wrong password.
      await record(false, 'locked', provider.name);
      throw invalid();
    }
    const fresh =
      (await store.recordSuccessfulLogin(this.db, username, provider.kind === 'local' ? undefined : profile)) ?? user;
    // The count of this source for this account starts again; the source's own count does not (one account's
    // password must not buy a source more guesses at the others).
    await store.clearLoginFailures(this.db, [throttle.account]);
    await record(true, null, provider.name);
    return this.issue(fresh, randomUUID());
  }

  /** The throttle keys of a login attempt: the (account, source) pair, and the source alone. */
  private throttleKeys(username: string, ip: string | null): { account: string; source: string } {
    return {
      account: JSON.stringify(['account', username.slice(0, 256), ip ?? '']),
      source: JSON.stringify(['source', ip ?? '']),
    };
  }

  /**
   * A failed login counts for the (account, source) pair (maxFailedLogins lock that pair: logins of the account from
   * elsewhere go on) and for the source (maxFailedLoginsPerSource lock every login from it), within lockSeconds.
   * Returns whether the pair is locked now.
   */
  private async recordLoginFailure(
    keys: { account: string; source: string },
    username: string,
    ip: string | null,
  ): Promise<boolean> {
    const { maxFailedLogins, maxFailedLoginsPerSource, lockSeconds } = this.settings;
    const locked = await store.recordLoginFailure(this.db, keys.account, maxFailedLogins, lockSeconds, lockSeconds);
    const sourceLocked = await store.recordLoginFailure(
      this.db,
      keys.source,
      maxFailedLoginsPerSource,
      lockSeconds,
      lockSeconds,
    );
    await store.pruneLoginThrottle(this.db, lockSeconds);
    if (locked) this.log.warn('logins locked after failed logins', { username: username.slice(0, 256), source: ip });
    if (sourceLocked) this.log.warn('logins from a source locked after failed logins', { source: ip });
    return locked;
  }

  async loginRecords(req: RequestScope, username: string, first: number): Promise<LoginRecord[]> {
    const a = await this.access.actor(req);
    if (a.platform_role !== 'platform-admin' && a.username !== username)
      throw forbiddenError(`only ${username} or a platform-admin may read the login records of ${username}`);
    if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE)
      throw badUserInput(`first must be between 0 and ${MAX_PAGE}`, { field: 'first' });
    return (await store.listLoginRecords(this.db, username, first)).map(recordOf);
  }

  private async issue(user: UserRow, familyId: string): Promise<AuthPayload> {
    const refreshToken = await this.newRefreshToken(this.db, user.username, familyId);
    return {
      accessToken: await this.keys.sign(user, familyId),
      refreshToken,
      expiresIn: this.settings.accessTokenTtlSeconds,
      user: userOf(user),
    };
  }
  private async newRefreshToken(q: Queryable, username: string, familyId: string): Promise<string> {
    const token = newToken(REFRESH_PREFIX);
    await store.insertRefreshToken(q, {
      id: randomUUID(),
      hash: hashToken(token),
      familyId,
      username,
      ttlSeconds: this.settings.refreshTokenTtlSeconds,
    });
    return token;
  }

  /**
   * A new pair for a refresh token, which is used up. A token presented again after that (stolen, or replayed) is
   * refused, and ends the whole session it belongs to.
   */
  async refresh(refreshToken: string): Promise<AuthPayload> {
    const outcome = await this.db.transaction(
      async (tx): Promise<{ user: UserRow; familyId: string; refreshToken: string } | { refused: string }> => {
        const row = await store.refreshTokenByHash(tx, hashToken(refreshToken), true);
        if (!row) return { refused: 'invalid refresh token' };
        if (row.revoked_at) {
          if (row.revoked_reason === 'rotated') {
            await store.revokeRefreshFamily(tx, row.family_id, 'reuse detected');
            await this.endSessions(tx, row.username, [row.family_id]);
            this.log.warn('refresh token reused: session revoked', { username: row.username });
          }
          return { refused: 'the refresh token has been revoked' };
        }
        if (row.expires_at.getTime() <= Date.now()) return { refused: 'the refresh token has expired' };
        // A token that escaped its family's revocation (rotated while it was being revoked) does not revive it.
        if (await store.sessionRevoked(tx, row.family_id)) return { refused: 'the refresh token has been revoked' };
        const user = await store.getUser(tx, row.username);
        if (!userMayAct(user)) {
          await store.revokeRefreshFamily(tx, row.family_id, 'user disabled');
          await this.endSessions(tx, row.username, [row.family_id]);
          return { refused: `${row.username} is disabled` };
        }
        await store.revokeRefreshToken(tx, row.id, 'rotated');
        return {
          user,
          familyId: row.family_id,
          refreshToken: await this.newRefreshToken(tx, user.username, row.family_id),
        };
      },
    );
    // Refusals are returned rather than thrown so that the revocations above are committed.
    if ('refused' in outcome) throw unauthenticated(outcome.refused);
    // Signed after the transaction: the signing key may be reloaded from the database.
    const { user, familyId, refreshToken: next } = outcome;
    return {
      accessToken: await this.keys.sign(user, familyId),
      refreshToken: next,
      expiresIn: this.settings.accessTokenTtlSeconds,
      user: userOf(user),
    };
  }

  /** Ends the session of a refresh token (every token of its family). Logging out twice is fine. */
  async logout(refreshToken: string): Promise<boolean> {
    const row = await store.refreshTokenByHash(this.db, hashToken(refreshToken));
    if (!row) throw unauthenticated('invalid refresh token');
    await this.db.transaction(async (tx) => {
      await store.revokeRefreshFamily(tx, row.family_id, 'logout');
      await this.endSessions(tx, row.username, [row.family_id]);
    });
    return true;
  }

  /** Revokes every refresh token of a user (in the caller's transaction) and ends the sessions they belonged to. */
  async endSessionsOf(q: Queryable, username: string, reason: string): Promise<void> {
    await this.endSessions(q, username, await store.revokeRefreshTokensOf(q, username, reason));
  }

  /**
   * Records sessions whose refresh tokens were just revoked as ended: the gateway refuses their access tokens from its
   * next look at the sessions revision on. Kept as long as such a token may live.
   */
  private endSessions(q: Queryable, username: string, sids: readonly string[]): Promise<void> {
    return store.recordRevokedSessions(
      q,
      sids.map((sid) => ({ sid, username })),
      this.settings.accessTokenTtlSeconds + 60,
    );
  }

  /** Ended sessions recorded after `after` (GET /internal/revoked-sessions), with the sessions revision they reach. */
  async revokedSessions(after: number): Promise<{ revision: number; sessions: { sid: string; expiresAt: string }[] }> {
    const current = await store.sessionsRevision(this.db);
    const rows = await store.revokedSessionsSince(this.db, after);
    return {
      revision: Math.max(current, ...rows.map((r) => r.revision)),
      sessions: rows.map((r) => ({ sid: r.sid, expiresAt: r.expires_at.toISOString() })),
    };
  }
  sessionsRevision(): Promise<number> {
    return store.sessionsRevision(this.db);
  }
}
