// GraphQL resolvers of the accounts subgraph: arguments in, model calls out. No I/O and no domain rules here.
import { GraphQLScalarType, type GraphQLFieldResolver, type GraphQLResolveInfo } from 'graphql';
import type { Path } from 'graphql/jsutils/Path.js';
import { DateTimeScalar } from '../common/scalars.js';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { AccountsContext } from './context.js';
import type { AccountsModel, Member, RoleBindings, User, Workspace } from './model/accounts.js';
import type { UserState } from './model/roles.js';

// GraphQL arguments arrive untyped; each resolver names the fields it reads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- argument objects of resolvers, checked by the schema
type Args = Record<string, any>;

export function createResolvers(model: AccountsModel): GraphQLResolverMap<AccountsContext> {
  return inSessionScopes(model, resolverMap(model));
}

/** Every resolver runs in the scope of its root field: the logged-in user's under `login` and `refreshToken`. */
function inSessionScopes(
  model: AccountsModel,
  map: GraphQLResolverMap<AccountsContext>,
): GraphQLResolverMap<AccountsContext> {
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
      ) => resolve(p, a, model.scopeUnder(ctx, rootKey(info.path)), info);
    }
  }
  return map;
}

function resolverMap(model: AccountsModel): GraphQLResolverMap<AccountsContext> {
  const member = (m: Member, _a: Args, ctx: AccountsContext) => model.memberUser(ctx, m.username);
  return {
    DateTime: DateTimeScalar,
    Query: {
      me: (_p, _a, ctx) => model.me(ctx),
      users: (_p, a: Args, ctx) => model.users(ctx, { first: a.first, after: a.after }),
      user: (_p, a: Args, ctx) => model.user(ctx, a.username),
      workspaces: (_p, _a, ctx) => model.workspaces(ctx),
      workspace: (_p, a: Args, ctx) => model.workspace(ctx, a.name),
      apiTokens: (_p, _a, ctx) => model.apiTokens(ctx),
    },
    Mutation: {
      login: async (_p, a: Args, ctx, info) =>
        model.enterSession(ctx, String(info.path.key), await model.login(ctx, a.username, a.password)),
      refreshToken: async (_p, a: Args, ctx, info) =>
        model.enterSession(ctx, String(info.path.key), await model.refresh(a.refreshToken)),
      logout: (_p, a: Args) => model.logout(a.refreshToken),
      createUser: (_p, a: Args, ctx) => model.createUser(ctx, a.input),
      updateUser: (_p, a: Args, ctx) => model.updateUser(ctx, a.username, a.input),
      deleteUser: (_p, a: Args, ctx) => model.deleteUser(ctx, a.username),
      setUserState: (_p, a: Args, ctx) => model.setUserState(ctx, a.username, a.state as UserState),
      changePassword: (_p, a: Args, ctx) => model.changePassword(ctx, a.currentPassword, a.newPassword),
      resetPassword: (_p, a: Args, ctx) => model.resetPassword(ctx, a.username, a.newPassword),
      createWorkspace: (_p, a: Args, ctx) => model.createWorkspace(ctx, a.name, a.description),
      updateWorkspace: (_p, a: Args, ctx) => model.updateWorkspace(ctx, a.name, a.description),
      deleteWorkspace: (_p, a: Args, ctx) => model.deleteWorkspace(ctx, a.name),
      addWorkspaceMember: (_p, a: Args, ctx) => model.addWorkspaceMember(ctx, a.workspace, a.username, a.role),
      removeWorkspaceMember: (_p, a: Args, ctx) => model.removeWorkspaceMember(ctx, a.workspace, a.username),
      addProjectMember: (_p, a: Args, ctx) => model.addProjectMember(ctx, a.project, a.username, a.role),
      removeProjectMember: (_p, a: Args, ctx) => model.removeProjectMember(ctx, a.project, a.username),
      createApiToken: (_p, a: Args, ctx) => model.createApiToken(ctx, a.name, a.expiresAt),
      revokeApiToken: (_p, a: Args, ctx) => model.revokeApiToken(ctx, a.id),
      rotateSigningKey: (_p, _a, ctx) => model.rotateSigningKey(ctx),
    },
    User: {
      __resolveReference: (ref: { username: string }, ctx: AccountsContext) => model.user(ctx, ref.username),
      workspaces: (u: User, _a, ctx) => model.userWorkspaces(ctx, u.username),
      roleBindings: (u: User, _a, ctx) => model.roleBindingsFor(ctx, u.username),
      loginRecords: (u: User, a: Args, ctx) => model.loginRecords(ctx, u.username, a.first ?? 20),
    },
    RoleBindings: {
      revision: (b: RoleBindings) => b.revision,
    },
    Workspace: {
      __resolveReference: (ref: { name: string }, ctx: AccountsContext) => model.workspace(ctx, ref.name),
      projects: async (w: Workspace, _a, ctx) => (await model.workspaceProjects(ctx, w.name)).map((name) => ({ name })),
      members: (w: Workspace, _a, ctx) => model.workspaceMembers(ctx, w.name),
    },
    WorkspaceMember: { user: member },
    ProjectMember: { user: member },
    Project: {
      // Any name is a project reference: its existence is the workloads subgraph's to answer.
      __resolveReference: (ref: { name: string; workspaceName?: string | null }) => ref,
      workspace: (p: { workspaceName?: string | null }, _a, ctx) => model.workspaceByName(ctx, p.workspaceName),
      members: (p: { name: string }, _a, ctx) => model.projectMembers(ctx, p.name),
    },
  };
}
