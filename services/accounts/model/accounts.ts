// The accounts domain: users, logins and sessions, API tokens, workspaces, projects and their members, and who may
// do what with them. Resolvers call this; SQL lives in clients/store.ts.
import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import type { Viewer } from '../../common/authz.js';
import {
  badUserInput,
  conflictError,
  ErrorCode,
  forbiddenError,
  notFoundError,
  upstreamUnavailable,
} from '../../common/errors.js';
import { WORKSPACE_LABEL } from '../../common/tenancy.js';
import type { Logger } from '../../common/log.js';
import { pgCode, type Db, type Queryable } from '../clients/db.js';
import {
  store,
  type LoginRecordRow,
  type ProjectMembershipRow,
  type UserRow,
  type WorkspaceRow,
} from '../clients/store.js';
import { checkPasswordPolicy, generatePassword, hashPassword, verifyPassword } from './passwords.js';
import type { IdentityProvider } from './providers.js';
import { NO_CLUSTER, type ProjectDirectory } from './projects.js';
import {
  platformRole,
  projectRole,
  validDisplayName,
  validEmail,
  validProjectName,
  validUsername,
  validWorkspaceName,
  workspaceRole,
  type UserState,
} from './roles.js';
import {
  apiTokenOf,
  hashToken,
  newToken,
  REFRESH_PREFIX,
  unauthenticated,
  userMayAct,
  verifyApiToken,
  type ApiToken,
  type ApiTokenIdentity,
  type SigningKeys,
  type TokenSettings,
} from './tokens.js';

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

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/** One GraphQL request: who asks (null: nobody authenticated), from where, and per-request caches. */
export interface RequestScope {
  viewer: Viewer | null;
  client: ClientInfo;
  memo: Map<string, unknown>;
  /**
   * Scopes of the users who logged in (or refreshed) in this request, by the response key of that root field: what
   * is selected under `login { user { … } }` resolves as them, not as the caller (who is usually anonymous).
   */
  sessions?: Map<string, RequestScope>;
}

export interface User {
  username: string;
  email: string | null;
  displayName: string | null;
  state: UserState;
  platformRole: string;
  provider: string;
  lastLoginAt: Date | null;
  createdAt: Date;
}
export interface Workspace {
  name: string;
  description: string | null;
  createdAt: Date;
}
export interface Member {
  username: string;
  role: string;
}
export interface LoginRecord {
  at: Date;
  sourceIp: string | null;
  userAgent: string | null;
  success: boolean;
  reason: string | null;
  provider: string | null;
}
export interface RoleBindings {
  username: string;
  /** The user's uid: the gateway refuses tokens issued to an earlier user of the same name. */
  uid: string;
  state: UserState;
  platformRole: string;
  workspaces: { workspace: string; role: string }[];
  /** Memberships of the namespaces that exist now, each with the uid it was granted on and the namespace's workspace label. */
  projects: { project: string; workspace: string | null; role: string; namespaceUid: string | null }[];
  /** The bindings revision of the whole database when these were read: caches compare it (GET /internal/bindings-revision). */
  revision: number;
}
export interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}
export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

/** A lock by failed logins whose time has passed is no lock any more, even before the next login clears it. */
export function userOf(r: UserRow): User {
  const lockOver = r.state === 'LOCKED' && r.locked_until !== null && r.locked_until.getTime() <= Date.now();
  return {
    username: r.username,
    email: r.email,
    displayName: r.display_name,
    state: lockOver ? 'ACTIVE' : r.state,
    platformRole: r.platform_role,
    provider: r.provider,
    lastLoginAt: r.last_login_at,
    createdAt: r.created_at,
  };
}
const workspaceOf = (r: WorkspaceRow): Workspace => ({
  name: r.name,
  description: r.description,
  createdAt: r.created_at,
});
const recordOf = (r: LoginRecordRow): LoginRecord => ({
  at: r.at,
  sourceIp: r.source_ip,
  userAgent: r.user_agent,
  success: r.success,
  reason: r.reason,
  provider: r.provider,
});

const encodeCursor = (username: string) => Buffer.from(`user:${username}`).toString('base64url');
function decodeCursor(cursor: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!raw.startsWith('user:')) throw badUserInput('invalid cursor', { field: 'after' });
  return raw.slice(5);
}
const VIEW_ALL_PROJECTS = new Set(['workspace-admin', 'workspace-viewer']);
const MAX_PAGE = 500;

export class AccountsModel {
  private readonly byName: Map<string, IdentityProvider>;

  constructor(
    readonly db: Db,
    readonly settings: AccountsSettings,
    readonly keys: SigningKeys,
    readonly providers: IdentityProvider[],
    private readonly log: Logger,
    /** The cluster's namespaces: a project's workspace is its label there, a membership lives on its namespace's uid. */
    readonly projects: ProjectDirectory = NO_CLUSTER,
  ) {
    this.byName = new Map(providers.map((p) => [p.name, p]));
  }

  // ------------------------------------------------------------------ who asks

  private memo<T>(req: RequestScope, key: string, make: () => T): T {
    if (!req.memo.has(key)) req.memo.set(key, make());
    return req.memo.get(key) as T;
  }

  /** The stored user behind the request's viewer; UNAUTHENTICATED without one, or when disabled or deleted. */
  actor(req: RequestScope): Promise<UserRow> {
    return this.memo(req, 'actor', async () => {
      if (!req.viewer) throw unauthenticated('authentication required');
      const u = await store.getUser(this.db, req.viewer.username);
      if (!userMayAct(u)) throw unauthenticated(`user ${req.viewer.username} does not exist or is disabled`);
      return u;
    });
  }
  private async isPlatformAdmin(req: RequestScope): Promise<boolean> {
    return (await this.actor(req)).platform_role === 'platform-admin';
  }
  private async requirePlatformAdmin(req: RequestScope, what: string): Promise<UserRow> {
    const a = await this.actor(req);
    if (a.platform_role !== 'platform-admin') throw forbiddenError(`only a platform-admin may ${what}`);
    return a;
  }
  private myWorkspaceRoles(req: RequestScope): Promise<Map<string, string>> {
    return this.memo(req, 'wsRoles', async () => {
      const a = await this.actor(req);
      return new Map((await store.workspaceMemberships(this.db, a.username)).map((m) => [m.workspace, m.role]));
    });
  }
  private myProjectRoles(req: RequestScope): Promise<Map<string, string>> {
    return this.memo(req, 'projectRoles', async () => {
      const a = await this.actor(req);
      return new Map(this.current(await store.projectMemberships(this.db, a.username)).map((m) => [m.project, m.role]));
    });
  }
  /**
   * Memberships granted on the namespaces that hold their names now (a re-created namespace has none) and that belong
   * to a workspace (a namespace without the label is the platform admins' alone).
   */
  private current(rows: ProjectMembershipRow[]): ProjectMembershipRow[] {
    if (!this.projects.isSynced()) return rows;
    return rows.filter(
      (m) =>
        m.namespace_uid !== null &&
        this.projects.uidOf(m.project) === m.namespace_uid &&
        this.projects.workspaceOf(m.project) !== undefined,
    );
  }

  private async canSeeWorkspace(req: RequestScope, workspace: string): Promise<boolean> {
    return (await this.isPlatformAdmin(req)) || (await this.myWorkspaceRoles(req)).has(workspace);
  }

  private userLoader(req: RequestScope): DataLoader<string, UserRow | undefined> {
    return this.memo(
      req,
      'users',
      () =>
        new DataLoader<string, UserRow | undefined>(async (names) => {
          const rows = new Map((await store.getUsers(this.db, names)).map((u) => [u.username, u]));
          return names.map((n) => rows.get(n));
        }),
    );
  }
  private workspaceLoader(req: RequestScope): DataLoader<string, WorkspaceRow | undefined> {
    return this.memo(
      req,
      'workspaces',
      () =>
        new DataLoader<string, WorkspaceRow | undefined>(async (names) => {
          const rows = new Map((await store.getWorkspaces(this.db, names)).map((w) => [w.name, w]));
          return names.map((n) => rows.get(n));
        }),
    );
  }

  // ------------------------------------------------------------------ users

  async me(req: RequestScope): Promise<User> {
    return userOf(await this.actor(req));
  }

  /** Platform admins see every user; others themselves and the members of their workspaces. */
  async users(req: RequestScope, args: { first?: number | null; after?: string | null }): Promise<Connection<User>> {
    const first = args.first ?? 50;
    if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE)
      throw badUserInput(`first must be between 0 and ${MAX_PAGE}`, { field: 'first' });
    const a = await this.actor(req);
    const visibleTo = a.platform_role === 'platform-admin' ? undefined : a.username;
    const { rows, total } = await store.listUsers(this.db, {
      after: args.after ? decodeCursor(args.after) : undefined,
      limit: first + 1,
      visibleTo,
    });
    const page = rows.slice(0, first);
    return {
      edges: page.map((r) => ({ cursor: encodeCursor(r.username), node: userOf(r) })),
      pageInfo: {
        hasNextPage: rows.length > first,
        endCursor: page.length ? encodeCursor(page[page.length - 1].username) : null,
      },
      totalCount: total,
    };
  }

  private async canSeeUser(req: RequestScope, username: string): Promise<boolean> {
    const a = await this.actor(req);
    if (a.platform_role === 'platform-admin' || a.username === username) return true;
    const mine = await this.myWorkspaceRoles(req);
    return (await store.workspaceMemberships(this.db, username)).some((m) => mine.has(m.workspace));
  }

  /** A user by name, when visible to the viewer (null otherwise, as for an unknown one). */
  async user(req: RequestScope, username: string): Promise<User | null> {
    if (!(await this.canSeeUser(req, username))) return null;
    const r = await this.userLoader(req).load(username);
    return r ? userOf(r) : null;
  }

  /** A user referenced from a list the viewer was allowed to read (members of a workspace or project). */
  async memberUser(req: RequestScope, username: string): Promise<User> {
    const r = await this.userLoader(req).load(username);
    if (!r) throw notFoundError(`user ${username} not found`);
    return userOf(r);
  }

  async createUser(
    req: RequestScope,
    input: {
      username: string;
      password: string;
      email?: string | null;
      displayName?: string | null;
      platformRole?: string | null;
    },
  ): Promise<User> {
    await this.requirePlatformAdmin(req, 'create users');
    const username = validUsername(input.username);
    checkPasswordPolicy(input.password);
    const role = platformRole(input.platformRole ?? 'platform-regular');
    const email = validEmail(input.email);
    const displayName = validDisplayName(input.displayName);
    const passwordHash = await hashPassword(input.password, this.settings.scryptLogN);
    const row = await this.db.transaction(async (tx) => {
      const r = await store.insertUser(tx, {
        username,
        email,
        displayName,
        passwordHash,
        provider: 'local',
        platformRole: role,
      });
      if (r) await store.bumpRevision(tx);
      return r;
    });
    if (!row) throw conflictError(`user ${username} already exists`);
    this.log.info('user created', { username, platformRole: role, by: req.viewer?.username });
    return userOf(row);
  }

  /** Email and display name: the user or a platform admin; the platform role: a platform admin. */
  async updateUser(
    req: RequestScope,
    username: string,
    input: { email?: string | null; displayName?: string | null; platformRole?: string | null },
  ): Promise<User> {
    const a = await this.actor(req);
    const admin = a.platform_role === 'platform-admin';
    if (!admin && a.username !== username)
      throw forbiddenError(`only ${username} or a platform-admin may update ${username}`);
    if (input.platformRole !== undefined && input.platformRole !== null && !admin)
      throw forbiddenError('only a platform-admin may change platform roles');
    const patch = {
      ...(input.email !== undefined ? { email: validEmail(input.email) } : {}),
      ...(input.displayName !== undefined ? { displayName: validDisplayName(input.displayName) } : {}),
      ...(input.platformRole ? { platformRole: platformRole(input.platformRole) } : {}),
    };
    const row = await this.db.transaction(async (tx) => {
      const r = await store.updateUser(tx, username, patch);
      if (r && patch.platformRole) await store.bumpRevision(tx);
      return r;
    });
    if (!row) throw notFoundError(`user ${username} not found`);
    return userOf(row);
  }

  async deleteUser(req: RequestScope, username: string): Promise<boolean> {
    const a = await this.requirePlatformAdmin(req, 'delete users');
    if (a.username === username) throw badUserInput('you cannot delete yourself', { field: 'username' });
    const deleted = await this.db.transaction(async (tx) => {
      const d = await store.deleteUser(tx, username);
      if (d) await store.bumpRevision(tx);
      return d;
    });
    if (!deleted) throw notFoundError(`user ${username} not found`);
    this.log.info('user deleted', { username, by: a.username });
    return true;
  }

  /** ACTIVE also ends a lock; DISABLED ends the user's sessions; LOCKED set here lasts until set ACTIVE again. */
  async setUserState(req: RequestScope, username: string, state: UserState): Promise<User> {
    const a = await this.requirePlatformAdmin(req, 'change the state of users');
    if (a.username === username && state !== 'ACTIVE')
      throw badUserInput('you cannot disable or lock yourself', { field: 'username' });
    const row = await this.db.transaction(async (tx) => {
      const r = await store.setUserState(tx, username, state);
      if (!r) return undefined;
      if (state !== 'ACTIVE')
        await this.endSessions(tx, username, await store.revokeRefreshTokensOf(tx, username, state.toLowerCase()));
      await store.bumpRevision(tx);
      return r;
    });
    if (!row) throw notFoundError(`user ${username} not found`);
    this.log.info('user state set', { username, state, by: a.username });
    return userOf(row);
  }

  /** The viewer's own password (local users); every session of theirs ends. */
  async changePassword(req: RequestScope, currentPassword: string, newPassword: string): Promise<boolean> {
    const a = await this.actor(req);
    if (a.provider !== 'local' || !a.password_hash)
      throw badUserInput(`the password of ${a.username} is managed by ${a.provider}`);
    if (!(await verifyPassword(currentPassword, a.password_hash)))
      throw badUserInput('the current password is wrong', { field: 'currentPassword' });
    checkPasswordPolicy(newPassword, 'newPassword');
    await this.setPassword(a.username, newPassword);
    return true;
  }

  /** A platform admin sets another local user's password; that user's sessions end. */
  async resetPassword(req: RequestScope, username: string, newPassword: string): Promise<boolean> {
    await this.requirePlatformAdmin(req, 'reset passwords');
    const u = await store.getUser(this.db, username);
    if (!u) throw notFoundError(`user ${username} not found`);
    if (u.provider !== 'local') throw badUserInput(`the password of ${username} is managed by ${u.provider}`);
    checkPasswordPolicy(newPassword, 'newPassword');
    await this.setPassword(username, newPassword);
    return true;
  }

  private async setPassword(username: string, password: string): Promise<void> {
    const hash = await hashPassword(password, this.settings.scryptLogN);
    await this.db.transaction(async (tx) => {
      await store.setPasswordHash(tx, username, hash);
      // Sessions end (their access tokens too); API tokens are separate credentials and stay (as in KubeSphere).
      await this.endSessions(tx, username, await store.revokeRefreshTokensOf(tx, username, 'password changed'));
    });
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

  async loginRecords(req: RequestScope, username: string, first: number): Promise<LoginRecord[]> {
    const a = await this.actor(req);
    if (a.platform_role !== 'platform-admin' && a.username !== username)
      throw forbiddenError(`only ${username} or a platform-admin may read the login records of ${username}`);
    if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE)
      throw badUserInput(`first must be between 0 and ${MAX_PAGE}`, { field: 'first' });
    return (await store.listLoginRecords(this.db, username, first)).map(recordOf);
  }

  /** Every role binding of a user; no authorization (the internal endpoint and the checks here use it). */
  async roleBindings(username: string): Promise<RoleBindings | undefined> {
    // One transaction: the revision and the bindings are of the same moment.
    return this.db.transaction(async (tx) => {
      const u = await store.getUser(tx, username);
      if (!u) return undefined;
      return {
        username,
        uid: u.uid,
        state: userOf(u).state,
        platformRole: u.platform_role,
        workspaces: await store.workspaceMemberships(tx, username),
        projects: this.current(await store.projectMemberships(tx, username)).map((m) => ({
          project: m.project,
          workspace: this.projects.workspaceOf(m.project) ?? null,
          role: m.role,
          namespaceUid: m.namespace_uid,
        })),
        revision: await store.revision(tx),
      };
    });
  }
  async roleBindingsFor(req: RequestScope, username: string): Promise<RoleBindings> {
    const a = await this.actor(req);
    if (a.platform_role !== 'platform-admin' && a.username !== username)
      throw forbiddenError(`only ${username} or a platform-admin may read the role bindings of ${username}`);
    const b = await this.roleBindings(username);
    if (!b) throw notFoundError(`user ${username} not found`);
    return b;
  }
  bindingsRevision(): Promise<number> {
    return store.revision(this.db);
  }

  // ------------------------------------------------------------------ login, sessions

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

  /** The payload of a login or refresh under root response key `key`: its fields resolve as the user it is for. */
  enterSession(req: RequestScope, key: string, payload: AuthPayload): AuthPayload {
    req.sessions ??= new Map();
    req.sessions.set(key, {
      viewer: { username: payload.user.username, platformRole: payload.user.platformRole },
      client: req.client,
      memo: new Map(),
    });
    return payload;
  }
  /** The scope fields under root response key `key` resolve in. */
  scopeUnder(req: RequestScope, key: string): RequestScope {
    return req.sessions?.get(key) ?? req;
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

  // ------------------------------------------------------------------ API tokens

  async apiTokens(req: RequestScope): Promise<ApiToken[]> {
    const a = await this.actor(req);
    return (await store.listApiTokens(this.db, a.username)).map(apiTokenOf);
  }

  async createApiToken(
    req: RequestScope,
    name: string,
    expiresAt: string | null | undefined,
  ): Promise<{ token: string; apiToken: ApiToken }> {
    const a = await this.actor(req);
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
    const a = await this.actor(req);
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
    const a = await this.requirePlatformAdmin(req, 'rotate the signing key');
    const kid = await this.keys.rotate();
    this.log.info('signing key rotated', { kid, by: a.username });
    return kid;
  }

  // ------------------------------------------------------------------ workspaces

  async workspaces(req: RequestScope): Promise<Workspace[]> {
    const a = await this.actor(req);
    return (await store.listWorkspaces(this.db, a.platform_role === 'platform-admin' ? undefined : a.username)).map(
      workspaceOf,
    );
  }

  /** null for an unknown workspace; FORBIDDEN for one the viewer is no member of. */
  async workspace(req: RequestScope, name: string): Promise<Workspace | null> {
    const w = await this.workspaceLoader(req).load(name);
    if (!w) return null;
    if (!(await this.canSeeWorkspace(req, name)))
      throw forbiddenError(`${req.viewer?.username} is no member of workspace ${name}`);
    return workspaceOf(w);
  }

  /** The workspace a project's label names, as far as accounts knows it (no membership needed to see its name). */
  async workspaceByName(req: RequestScope, name: string | null | undefined): Promise<Workspace | null> {
    if (!name) return null;
    const w = await this.workspaceLoader(req).load(name);
    return w ? workspaceOf(w) : null;
  }

  async createWorkspace(req: RequestScope, name: string, description: string | null | undefined): Promise<Workspace> {
    const a = await this.requirePlatformAdmin(req, 'create workspaces');
    validWorkspaceName(name, 'name');
    if (description && description.length > 1024)
      throw badUserInput('the description is longer than 1024 characters', { field: 'description' });
    const row = await store.insertWorkspace(this.db, name, description ?? null);
    if (!row) throw conflictError(`workspace ${name} already exists`);
    this.log.info('workspace created', { workspace: name, by: a.username });
    return workspaceOf(row);
  }

  async updateWorkspace(req: RequestScope, name: string, description: string | null | undefined): Promise<Workspace> {
    await this.requireWorkspaceAdmin(await this.actor(req), this.db, name);
    if (description && description.length > 1024)
      throw badUserInput('the description is longer than 1024 characters', { field: 'description' });
    const row = await store.updateWorkspace(this.db, name, description ?? null);
    if (!row) throw notFoundError(`workspace ${name} not found`);
    return workspaceOf(row);
  }

  /** Its memberships go with it; its projects stay known, without a workspace. */
  async deleteWorkspace(req: RequestScope, name: string): Promise<boolean> {
    await this.requirePlatformAdmin(req, 'delete workspaces');
    const deleted = await this.db.transaction(async (tx) => {
      const d = await store.deleteWorkspace(tx, name);
      if (d) await store.bumpRevision(tx);
      return d;
    });
    if (!deleted) throw notFoundError(`workspace ${name} not found`);
    return true;
  }

  /** A platform admin, or a workspace-admin of that workspace (read in the caller's transaction). */
  private async requireWorkspaceAdmin(a: UserRow, q: Queryable, workspace: string): Promise<void> {
    if (a.platform_role === 'platform-admin') return;
    if ((await store.workspaceRole(q, workspace, a.username)) === 'workspace-admin') return;
    throw forbiddenError(`only a platform-admin or a workspace-admin of ${workspace} may manage it`);
  }

  async workspaceMembers(req: RequestScope, workspace: string): Promise<Member[]> {
    if (!(await this.canSeeWorkspace(req, workspace)))
      throw forbiddenError(`${req.viewer?.username} is no member of workspace ${workspace}`);
    const loader = this.memo(
      req,
      'wsMembers',
      () =>
        new DataLoader<string, Member[]>(async (names) => {
          const rows = await store.workspaceMembers(this.db, names);
          return names.map((n) =>
            rows.filter((r) => r.workspace === n).map((r) => ({ username: r.username, role: r.role })),
          );
        }),
    );
    return loader.load(workspace);
  }

  /**
   * The projects of a workspace (namespaces labelled with it): all of them for platform admins, workspace admins and
   * viewers; for others the ones they are members of.
   */
  async workspaceProjects(req: RequestScope, workspace: string): Promise<string[]> {
    const names = [...this.projects.namespacesOf(workspace)].sort();
    if (
      (await this.isPlatformAdmin(req)) ||
      VIEW_ALL_PROJECTS.has((await this.myWorkspaceRoles(req)).get(workspace) ?? '')
    )
      return names;
    const mine = await this.myProjectRoles(req);
    return names.filter((n) => mine.has(n));
  }

  /** The workspaces of a user that the viewer can see too. */
  async userWorkspaces(req: RequestScope, username: string): Promise<Workspace[]> {
    const a = await this.actor(req);
    let names = (await store.workspaceMemberships(this.db, username)).map((m) => m.workspace);
    if (a.platform_role !== 'platform-admin' && a.username !== username) {
      const mine = await this.myWorkspaceRoles(req);
      names = names.filter((w) => mine.has(w));
    }
    return (await store.getWorkspaces(this.db, names)).sort((x, y) => (x.name < y.name ? -1 : 1)).map(workspaceOf);
  }

  /** The workspace of that name, without authorization (internal: workloads checks it before creating a project). */
  async workspaceExists(name: string): Promise<Workspace | undefined> {
    const [w] = await store.getWorkspaces(this.db, [name]);
    return w ? workspaceOf(w) : undefined;
  }

  /** Adds a member, or changes the role of one. */
  async addWorkspaceMember(req: RequestScope, workspace: string, username: string, role: string): Promise<Workspace> {
    validWorkspaceName(workspace);
    validUsername(username);
    workspaceRole(role);
    // Resolved before the transaction: the actor is read outside it (PGlite has a single connection).
    const a = await this.actor(req);
    const row = await this.db.transaction(async (tx) => {
      // The workspace row is share-locked: it cannot be deleted halfway.
      const [w] = await store.getWorkspaces(tx, [workspace], true);
      if (!w) throw notFoundError(`workspace ${workspace} not found`);
      await this.requireWorkspaceAdmin(a, tx, workspace);
      try {
        await store.upsertWorkspaceMember(tx, workspace, username, role);
      } catch (e) {
        if (pgCode(e) === '23503') throw notFoundError(`user ${username} not found`);
        throw e;
      }
      await store.bumpRevision(tx);
      return w;
    });
    return workspaceOf(row);
  }

  /** Removes a member, and with them their memberships of the workspace's projects. */
  async removeWorkspaceMember(req: RequestScope, workspace: string, username: string): Promise<Workspace> {
    const a = await this.actor(req);
    const row = await this.db.transaction(async (tx) => {
      const [w] = await store.getWorkspaces(tx, [workspace], true);
      if (!w) throw notFoundError(`workspace ${workspace} not found`);
      await this.requireWorkspaceAdmin(a, tx, workspace);
      if (!(await store.deleteWorkspaceMember(tx, workspace, username)))
        throw notFoundError(`${username} is no member of workspace ${workspace}`);
      await store.deleteProjectMemberships(tx, this.projects.namespacesOf(workspace), username);
      await store.bumpRevision(tx);
      return w;
    });
    return workspaceOf(row);
  }

  // ------------------------------------------------------------------ projects

  /**
   * A project (namespace) as the cluster says it: NOT_FOUND without one, UPSTREAM_UNAVAILABLE while the namespace
   * watch has not listed yet. Read from the watch, so the decision needs no upstream call of its own.
   */
  private project(name: string): { name: string; uid: string; workspace?: string } {
    if (!this.projects.isSynced()) throw upstreamUnavailable('kubernetes', this.projects.unavailableReason());
    const uid = this.projects.uidOf(name);
    if (uid === undefined) throw notFoundError(`project ${name} not found`);
    const workspace = this.projects.workspaceOf(name);
    return workspace ? { name, uid, workspace } : { name, uid };
  }

  /**
   * Member management: a platform admin, a workspace-admin of the workspace the namespace's label names, or a
   * project-admin granted on this very namespace. A namespace without the label is the platform admins' alone.
   */
  private async requireProjectAdmin(
    a: UserRow,
    q: Queryable,
    p: { name: string; uid: string; workspace?: string },
  ): Promise<void> {
    if (a.platform_role === 'platform-admin') return;
    const denied = () =>
      forbiddenError(
        `only a platform-admin, a workspace-admin of its workspace or a project-admin may manage the members of project ${p.name}`,
      );
    if (!p.workspace) throw denied();
    if ((await store.workspaceRole(q, p.workspace, a.username)) === 'workspace-admin') return;
    if ((await store.projectRole(q, p.name, p.uid, a.username)) === 'project-admin') return;
    throw denied();
  }

  /** Adds a project member (or changes their role). Members must belong to the workspace the namespace's label names. */
  async addProjectMember(
    req: RequestScope,
    project: string,
    username: string,
    role: string,
  ): Promise<{ name: string }> {
    validProjectName(project);
    validUsername(username);
    projectRole(role);
    const a = await this.actor(req);
    const p = this.project(project);
    await this.db.transaction(async (tx) => {
      await this.requireProjectAdmin(a, tx, p);
      if (!p.workspace)
        throw badUserInput(
          `project ${project} belongs to no workspace (no ${WORKSPACE_LABEL} label): only platform admins work in it`,
          { field: 'project' },
        );
      if (!(await store.getUser(tx, username))) throw notFoundError(`user ${username} not found`);
      if (!(await store.workspaceRole(tx, p.workspace, username)))
        throw badUserInput(`${username} is no member of workspace ${p.workspace}: add them there first`, {
          field: 'username',
        });
      await store.upsertProjectMember(tx, project, p.uid, username, role);
      await store.bumpRevision(tx);
    });
    return { name: project };
  }

  async removeProjectMember(req: RequestScope, project: string, username: string): Promise<{ name: string }> {
    validProjectName(project);
    validUsername(username);
    const a = await this.actor(req);
    const p = this.project(project);
    await this.db.transaction(async (tx) => {
      await this.requireProjectAdmin(a, tx, p);
      if (!(await store.deleteProjectMember(tx, project, p.uid, username)))
        throw notFoundError(`${username} is no member of project ${project}`);
      await store.bumpRevision(tx);
    });
    return { name: project };
  }

  /** Visible to platform admins, members of the project's workspace and members of the project. */
  async projectMembers(req: RequestScope, project: string): Promise<Member[]> {
    if (!req.viewer) throw unauthenticated('authentication required');
    if (!this.projects.isSynced()) throw upstreamUnavailable('kubernetes', this.projects.unavailableReason());
    const uid = this.projects.uidOf(project);
    if (uid === undefined) return [];
    const workspace = this.projects.workspaceOf(project);
    const allowed =
      (await this.isPlatformAdmin(req)) ||
      (workspace !== undefined && (await this.myWorkspaceRoles(req)).has(workspace)) ||
      (await this.myProjectRoles(req)).has(project);
    if (!allowed) throw forbiddenError(`${req.viewer?.username} may not see the members of project ${project}`);
    return (await store.projectMembers(this.db, [{ project, namespaceUid: uid }])).map((r) => ({
      username: r.username,
      role: r.role,
    }));
  }

  /**
   * Whoever creates a project becomes its project-admin, as in KubeSphere (internal: the workloads subgraph, right
   * after it created the namespace). Granted only on that namespace (its uid, read from the cluster now), and only to
   * a member of the workspace its label names; false when there is nothing to grant (a platform admin outside it).
   */
  async grantCreator(project: string, namespaceUid: string, username: string): Promise<boolean> {
    validProjectName(project, 'name');
    validUsername(username);
    const ns = await this.projects.fresh(project);
    if (!ns || ns.uid !== namespaceUid) throw notFoundError(`project ${project} (uid ${namespaceUid}) not found`);
    if (!ns.workspace) return false;
    const workspace = ns.workspace;
    return this.db.transaction(async (tx) => {
      if (!(await store.workspaceRole(tx, workspace, username))) return false;
      await store.upsertProjectMember(tx, project, ns.uid, username, 'project-admin');
      await store.bumpRevision(tx);
      return true;
    });
  }

  /** Drops the memberships of a namespace that is gone (the namespace watch's DELETED, or a new uid under its name). */
  async namespaceDeleted(project: string, namespaceUid: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      const n = await store.deleteMembershipsOfNamespace(tx, project, namespaceUid);
      if (n) await store.bumpRevision(tx);
      return n;
    });
  }

  /**
   * After every list of the namespaces: memberships of namespaces that no longer exist (or exist under a new uid) are
   * dropped. Rows from before uids were recorded were granted by a rule that trusted the caller's workspace, so they
   * are kept (adopting the current uid) only where they would be granted today: the namespace is labelled with a
   * workspace the member belongs to.
   */
  async reconcileProjects(): Promise<{ dropped: number; adopted: number }> {
    let dropped = 0;
    let adopted = 0;
    await this.db.transaction(async (tx) => {
      for (const m of await store.memberNamespaces(tx)) {
        const uid = this.projects.uidOf(m.project);
        if (m.namespace_uid === null) {
          const workspace = this.projects.workspaceOf(m.project);
          if (uid !== undefined && workspace !== undefined) {
            const n = await store.dropLegacyOutside(tx, m.project, workspace);
            dropped += n;
            adopted += await store.adoptNamespaceUid(tx, m.project, uid);
          } else dropped += await store.deleteMembershipsOfNamespace(tx, m.project, '');
        } else if (m.namespace_uid !== uid)
          dropped += await store.deleteMembershipsOfNamespace(tx, m.project, m.namespace_uid);
      }
      if (dropped || adopted) await store.bumpRevision(tx);
    });
    if (dropped || adopted) this.log.info('project memberships reconciled with the cluster', { dropped, adopted });
    return { dropped, adopted };
  }

  // ------------------------------------------------------------------ bootstrap

  /**
   * Creates the platform admin `admin` on the first start of a database (recorded, so deleting it later does not
   * bring it back). Returns the generated password when none was given, to be printed once.
   */
  async bootstrapAdmin(password: string | undefined): Promise<{ created: boolean; generatedPassword?: string }> {
    if (await store.getSetting(this.db, 'bootstrap_admin')) {
      // Otherwise an operator who sets it on an existing database believes it took effect.
      if (password !== undefined)
        this.log.warn(
          'KUBEGRAPH_ADMIN_PASSWORD is set but ignored: this database already has its bootstrap admin (change the password with changePassword or resetPassword, then unset the variable)',
        );
      return { created: false };
    }
    const pw = password ?? generatePassword();
    const hash = await hashPassword(pw, this.settings.scryptLogN);
    const created = await this.db.transaction(async (tx) => {
      if (!(await store.claimSetting(tx, 'bootstrap_admin', new Date().toISOString()))) return false;
      const row = await store.insertUser(tx, {
        username: 'admin',
        email: null,
        displayName: 'Platform administrator',
        passwordHash: hash,
        provider: 'local',
        platformRole: 'platform-admin',
      });
      if (row) await store.bumpRevision(tx);
      return Boolean(row);
    });
    return created ? { created, ...(password === undefined ? { generatedPassword: pw } : {}) } : { created: false };
  }
}
