// Who asks: the scope of one GraphQL request and what every part of the accounts model reads about its viewer (the
// stored user, their workspace and project roles, the batched user and workspace loads). One instance is shared by
// the parts and its caches live in the request, so a request reads each of these once whichever parts it touches.
import DataLoader from 'dataloader';
import type { Viewer } from '../../common/authz.js';
import { forbiddenError } from '../../common/errors.js';
import type { Db } from '../clients/db.js';
import { store, type ProjectMembershipRow, type UserRow, type WorkspaceRow } from '../clients/store.js';
import type { ProjectDirectory } from './projects.js';
import type { AuthPayload } from './sessions.js';
import { unauthenticated, userMayAct } from './tokens.js';

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

/** A per-request value: made once per request and key. */
export function memo<T>(req: RequestScope, key: string, make: () => T): T {
  if (!req.memo.has(key)) req.memo.set(key, make());
  return req.memo.get(key) as T;
}

/** A per-request DataLoader of rows by name: one read for the names a request asks, undefined for the missing ones. */
function rowLoader<Row>(
  req: RequestScope,
  key: string,
  nameOf: (row: Row) => string,
  read: (names: readonly string[]) => Promise<Row[]>,
): DataLoader<string, Row | undefined> {
  return memo(
    req,
    key,
    () =>
      new DataLoader<string, Row | undefined>(async (names) => {
        const rows = new Map((await read(names)).map((r) => [nameOf(r), r]));
        return names.map((n) => rows.get(n));
      }),
  );
}

const usernameOf = (u: UserRow) => u.username;
const workspaceNameOf = (w: WorkspaceRow) => w.name;

/** The payload of a login or refresh under root response key `key`: its fields resolve as the user it is for. */
export function enterSession(req: RequestScope, key: string, payload: AuthPayload): AuthPayload {
  req.sessions ??= new Map();
  req.sessions.set(key, {
    viewer: { username: payload.user.username, platformRole: payload.user.platformRole },
    client: req.client,
    memo: new Map(),
  });
  return payload;
}
/** The scope fields under root response key `key` resolve in. */
export function scopeUnder(req: RequestScope, key: string): RequestScope {
  return req.sessions?.get(key) ?? req;
}

export class Access {
  constructor(
    private readonly db: Db,
    /** The cluster's namespaces: a project's workspace is its label there, a membership lives on its namespace's uid. */
    readonly projects: ProjectDirectory,
  ) {}

  /** The stored user behind the request's viewer; UNAUTHENTICATED without one, or when disabled or deleted. */
  actor(req: RequestScope): Promise<UserRow> {
    return memo(req, 'actor', async () => {
      if (!req.viewer) throw unauthenticated('authentication required');
      const u = await store.getUser(this.db, req.viewer.username);
      if (!userMayAct(u)) throw unauthenticated(`user ${req.viewer.username} does not exist or is disabled`);
      return u;
    });
  }
  async isPlatformAdmin(req: RequestScope): Promise<boolean> {
    return (await this.actor(req)).platform_role === 'platform-admin';
  }
  async requirePlatformAdmin(req: RequestScope, what: string): Promise<UserRow> {
    const a = await this.actor(req);
    if (a.platform_role !== 'platform-admin') throw forbiddenError(`only a platform-admin may ${what}`);
    return a;
  }
  myWorkspaceRoles(req: RequestScope): Promise<Map<string, string>> {
    return memo(req, 'wsRoles', async () => {
      const a = await this.actor(req);
      return new Map((await store.workspaceMemberships(this.db, a.username)).map((m) => [m.workspace, m.role]));
    });
  }
  myProjectRoles(req: RequestScope): Promise<Map<string, string>> {
    return memo(req, 'projectRoles', async () => {
      const a = await this.actor(req);
      return new Map(this.current(await store.projectMemberships(this.db, a.username)).map((m) => [m.project, m.role]));
    });
  }
  /**
   * Memberships granted on the namespaces that hold their names now (a re-created namespace has none) and that belong
   * to a workspace (a namespace without the label is the platform admins' alone).
   */
  current(rows: ProjectMembershipRow[]): ProjectMembershipRow[] {
    if (!this.projects.isSynced()) return rows;
    return rows.filter(
      (m) =>
        m.namespace_uid !== null &&
        this.projects.uidOf(m.project) === m.namespace_uid &&
        this.projects.workspaceOf(m.project) !== undefined,
    );
  }

  async canSeeWorkspace(req: RequestScope, workspace: string): Promise<boolean> {
    return (await this.isPlatformAdmin(req)) || (await this.myWorkspaceRoles(req)).has(workspace);
  }

  userLoader(req: RequestScope): DataLoader<string, UserRow | undefined> {
    return rowLoader(req, 'users', usernameOf, (names) => store.getUsers(this.db, names));
  }
  workspaceLoader(req: RequestScope): DataLoader<string, WorkspaceRow | undefined> {
    return rowLoader(req, 'workspaces', workspaceNameOf, (names) => store.getWorkspaces(this.db, names));
  }
}
