// Users (KubeSphere's iam users): who may see whom, what administrators and users themselves may change, passwords,
// a user's role bindings, and the platform admin of a new database.
import type { Logger } from '../../common/log.js';
import { badUserInput, conflictError, forbiddenError, notFoundError } from '../../common/errors.js';
import type { Db } from '../clients/db.js';
import { store, type UserRow } from '../clients/store.js';
import type { Access, RequestScope } from './access.js';
import { checkPasswordPolicy, generatePassword, hashPassword, verifyPassword } from './passwords.js';
import { platformRole, validDisplayName, validEmail, validUsername, type UserState } from './roles.js';
import type { AccountsSettings, Sessions } from './sessions.js';

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

const encodeCursor = (username: string) => Buffer.from(`user:${username}`).toString('base64url');
function decodeCursor(cursor: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!raw.startsWith('user:')) throw badUserInput('invalid cursor', { field: 'after' });
  return raw.slice(5);
}
export const MAX_PAGE = 500;

export class Users {
  constructor(
    private readonly db: Db,
    private readonly settings: AccountsSettings,
    private readonly access: Access,
    /** Password changes and state changes end the user's sessions. */
    private readonly sessions: Sessions,
    private readonly log: Logger,
  ) {}

  async me(req: RequestScope): Promise<User> {
    return userOf(await this.access.actor(req));
  }

  /** Platform admins see every user; others themselves and the members of their workspaces. */
  async users(req: RequestScope, args: { first?: number | null; after?: string | null }): Promise<Connection<User>> {
    const first = args.first ?? 50;
    if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE)
      throw badUserInput(`first must be between 0 and ${MAX_PAGE}`, { field: 'first' });
    const a = await this.access.actor(req);
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
    const a = await this.access.actor(req);
    if (a.platform_role === 'platform-admin' || a.username === username) return true;
    const mine = await this.access.myWorkspaceRoles(req);
    return (await store.workspaceMemberships(this.db, username)).some((m) => mine.has(m.workspace));
  }

  /** A user by name, when visible to the viewer (null otherwise, as for an unknown one). */
  async user(req: RequestScope, username: string): Promise<User | null> {
    if (!(await this.canSeeUser(req, username))) return null;
    const r = await this.access.userLoader(req).load(username);
    return r ? userOf(r) : null;
  }

  /** A user referenced from a list the viewer was allowed to read (members of a workspace or project). */
  async memberUser(req: RequestScope, username: string): Promise<User> {
    const r = await this.access.userLoader(req).load(username);
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
    await this.access.requirePlatformAdmin(req, 'create users');
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
    const a = await this.access.actor(req);
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
    const a = await this.access.requirePlatformAdmin(req, 'delete users');
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
    const a = await this.access.requirePlatformAdmin(req, 'change the state of users');
    if (a.username === username && state !== 'ACTIVE')
      throw badUserInput('you cannot disable or lock yourself', { field: 'username' });
    const row = await this.db.transaction(async (tx) => {
      const r = await store.setUserState(tx, username, state);
      if (!r) return undefined;
      if (state !== 'ACTIVE') await this.sessions.endSessionsOf(tx, username, state.toLowerCase());
      await store.bumpRevision(tx);
      return r;
    });
    if (!row) throw notFoundError(`user ${username} not found`);
    this.log.info('user state set', { username, state, by: a.username });
    return userOf(row);
  }

  /** The viewer's own password (local users); every session of theirs ends. */
  async changePassword(req: RequestScope, currentPassword: string, newPassword: string): Promise<boolean> {
    const a = await this.access.actor(req);
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
    await this.access.requirePlatformAdmin(req, 'reset passwords');
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
      await this.sessions.endSessionsOf(tx, username, 'password changed');
    });
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
        projects: this.access.current(await store.projectMemberships(tx, username)).map((m) => ({
          project: m.project,
          workspace: this.access.projects.workspaceOf(m.project) ?? null,
          role: m.role,
          namespaceUid: m.namespace_uid,
        })),
        revision: await store.revision(tx),
      };
    });
  }
  async roleBindingsFor(req: RequestScope, username: string): Promise<RoleBindings> {
    const a = await this.access.actor(req);
    if (a.platform_role !== 'platform-admin' && a.username !== username)
      throw forbiddenError(`only ${username} or a platform-admin may read the role bindings of ${username}`);
    const b = await this.roleBindings(username);
    if (!b) throw notFoundError(`user ${username} not found`);
    return b;
  }
  bindingsRevision(): Promise<number> {
    return store.revision(this.db);
  }

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
