// GraphQL resolvers of the accounts subgraph: arguments in, model calls out. No I/O and no domain rules here.
import { GraphQLScalarType, type GraphQLFieldResolver, type GraphQLResolveInfo } from 'graphql';
import type { Path } from 'graphql/jsutils/Path.js';
import { DateTimeScalar } from '../common/scalars.js';
import type { SubgraphResolvers } from '../common/subgraph-server.js';
import type { AccountsContext } from './context.js';
import { enterSession, scopeUnder } from './model/access.js';
import type { AccountsModel, Member, RoleBindings, User, Workspace } from './model/accounts.js';
import type { UserState } from './model/roles.js';

// GraphQL arguments arrive untyped; each resolver names the fields it reads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- argument objects of resolvers, checked by the schema
type Args = Record<string, any>;

export function createResolvers(model: AccountsModel): SubgraphResolvers<AccountsContext> {
  return inSessionScopes(resolverMap(model));
}

/** Every resolver runs in the scope of its root field: the logged-in user's under `login` and `refreshToken`. */
function inSessionScopes(map: SubgraphResolvers<AccountsContext>): SubgraphResolvers<AccountsContext> {
  const rootKey = (path: Path): string => String(path.prev ? rootKey(path.prev) : path.key);
  for (const fields of Object.values(map)) {
    if (fields instanceof GraphQLScalarType) continue;
    for (const [name, fn] of Object.entries(fields)) {
      if (typeof fn !== 'function' || name === '__resolveReference') continue;
      const resolve = fn as GraphQLFieldResolver<unknown, AccountsContext>;
      (fields as Record<string, unknown>)[name] = (
        p: unknown,
        a: Args,
        ctx: AccountsContext,
        info: GraphQLResolveInfo,
      ) => resolve(p, a, scopeUnder(ctx, rootKey(info.path)), info);
    }
  }
  return map;
}

function resolverMap(model: AccountsModel): SubgraphResolvers<AccountsContext> {
  const { users, sessions, workspaces, projects, tokens } = model;
  const member = (m: Member, _a: Args, ctx: AccountsContext) => users.memberUser(ctx, m.username);
  return {
    DateTime: DateTimeScalar,
    Query: {
      me: (_p, _a, ctx) => users.me(ctx),
      users: (_p, a: Args, ctx) => users.users(ctx, { first: a.first, after: a.after }),
      user: (_p, a: Args, ctx) => users.user(ctx, a.username),
      workspaces: (_p, _a, ctx) => workspaces.workspaces(ctx),
      workspace: (_p, a: Args, ctx) => workspaces.workspace(ctx, a.name),
      apiTokens: (_p, _a, ctx) => tokens.apiTokens(ctx),
    },
    Mutation: {
      login: async (_p, a: Args, ctx, info) =>
        enterSession(ctx, String(info.path.key), await sessions.login(ctx, a.username, a.password)),
      refreshToken: async (_p, a: Args, ctx, info) =>
        enterSession(ctx, String(info.path.key), await sessions.refresh(a.refreshToken)),
      logout: (_p, a: Args) => sessions.logout(a.refreshToken),
      createUser: (_p, a: Args, ctx) => users.createUser(ctx, a.input),
      updateUser: (_p, a: Args, ctx) => users.updateUser(ctx, a.username, a.input),
      deleteUser: (_p, a: Args, ctx) => users.deleteUser(ctx, a.username),
      setUserState: (_p, a: Args, ctx) => users.setUserState(ctx, a.username, a.state as UserState),
      changePassword: (_p, a: Args, ctx) => users.changePassword(ctx, a.currentPassword, a.newPassword),
      resetPassword: (_p, a: Args, ctx) => users.resetPassword(ctx, a.username, a.newPassword),
      createWorkspace: (_p, a: Args, ctx) => workspaces.createWorkspace(ctx, a.name, a.description),
      updateWorkspace: (_p, a: Args, ctx) => workspaces.updateWorkspace(ctx, a.name, a.description),
      deleteWorkspace: (_p, a: Args, ctx) => workspaces.deleteWorkspace(ctx, a.name),
      addWorkspaceMember: (_p, a: Args, ctx) => workspaces.addWorkspaceMember(ctx, a.workspace, a.username, a.role),
      removeWorkspaceMember: (_p, a: Args, ctx) => workspaces.removeWorkspaceMember(ctx, a.workspace, a.username),
      addProjectMember: (_p, a: Args, ctx) => projects.addProjectMember(ctx, a.project, a.username, a.role),
      removeProjectMember: (_p, a: Args, ctx) => projects.removeProjectMember(ctx, a.project, a.username),
      createApiToken: (_p, a: Args, ctx) => tokens.createApiToken(ctx, a.name, a.expiresAt),
      revokeApiToken: (_p, a: Args, ctx) => tokens.revokeApiToken(ctx, a.id),
      rotateSigningKey: (_p, _a, ctx) => tokens.rotateSigningKey(ctx),
    },
    User: {
      __resolveReference: (ref: { username: string }, ctx: AccountsContext) => users.user(ctx, ref.username),
      workspaces: (u: User, _a, ctx) => workspaces.userWorkspaces(ctx, u.username),
      roleBindings: (u: User, _a, ctx) => users.roleBindingsFor(ctx, u.username),
      loginRecords: (u: User, a: Args, ctx) => sessions.loginRecords(ctx, u.username, a.first ?? 20),
    },
    RoleBindings: {
      revision: (b: RoleBindings) => b.revision,
    },
    Workspace: {
      __resolveReference: (ref: { name: string }, ctx: AccountsContext) => workspaces.workspace(ctx, ref.name),
      projects: async (w: Workspace, _a, ctx) =>
        (await projects.workspaceProjects(ctx, w.name)).map((name) => ({ name })),
      members: (w: Workspace, _a, ctx) => workspaces.workspaceMembers(ctx, w.name),
    },
    WorkspaceMember: { user: member },
    ProjectMember: { user: member },
    Project: {
      // Any name is a project reference: its existence is the workloads subgraph's to answer.
      __resolveReference: (ref: { name: string; workspaceName?: string | null }) => ref,
      workspace: (p: { workspaceName?: string | null }, _a, ctx) => workspaces.workspaceByName(ctx, p.workspaceName),
      members: (p: { name: string }, _a, ctx) => projects.projectMembers(ctx, p.name),
    },
  };
}
