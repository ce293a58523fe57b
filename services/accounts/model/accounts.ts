// The accounts domain, put together. Split as KubeSphere splits it, one part per file: users (users.ts), login and
// sessions (sessions.ts), workspaces and members (workspaces.ts), projects and members (projects.ts), API tokens and
// signing keys (tokens.ts); access.ts is who asks, shared by all parts. Resolvers and routes call the parts; SQL lives
// in clients/store.ts.
import type { Logger } from '../../common/log.js';
import type { Db } from '../clients/db.js';
import { Access } from './access.js';
import { NO_CLUSTER, Projects, type ProjectDirectory } from './projects.js';
import type { IdentityProvider } from './providers.js';
import { Sessions, type AccountsSettings } from './sessions.js';
import { ApiTokens, type SigningKeys } from './tokens.js';
import { Users } from './users.js';
import { Workspaces } from './workspaces.js';

export type { ClientInfo, RequestScope } from './access.js';
export type { Member, Workspace } from './workspaces.js';
export type { AccountsSettings, AuthPayload, LoginRecord } from './sessions.js';
export type { Connection, RoleBindings, User } from './users.js';
export { userOf } from './users.js';

export class AccountsModel {
  readonly access: Access;
  readonly users: Users;
  readonly sessions: Sessions;
  readonly workspaces: Workspaces;
  readonly projects: Projects;
  readonly tokens: ApiTokens;

  constructor(
    readonly db: Db,
    readonly settings: AccountsSettings,
    readonly keys: SigningKeys,
    providers: IdentityProvider[],
    log: Logger,
    /** The cluster's namespaces: a project's workspace is its label there, a membership lives on its namespace's uid. */
    directory: ProjectDirectory = NO_CLUSTER,
  ) {
    this.access = new Access(db, directory);
    this.sessions = new Sessions(db, settings, keys, providers, this.access, log);
    this.users = new Users(db, settings, this.access, this.sessions, log);
    this.workspaces = new Workspaces(db, this.access, log);
    this.projects = new Projects(db, this.access, log);
    this.tokens = new ApiTokens(db, settings, keys, this.access, log);
  }
}
