// The accounts subgraph over HTTP, on the real PostgreSQL and on the embedded PGlite: logins and lockout, login
// records, refresh rotation and logout, access tokens verified with the JWKS, API tokens, users, workspaces,
// members and who may change them, and the internal endpoints the gateway will use.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestAccounts, type Backend, type TestAccounts } from './harness/accounts.js';
import { startTestSandbox, type TestSandbox } from './harness/sandbox.js';

const LOGIN = `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken expiresIn user { username state platformRole lastLoginAt } } }`;
const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { username email displayName state platformRole } }`;
const codes = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.map((e) => e.extensions?.code);

describe.each<Backend>(['postgres', 'pglite'])('accounts on %s', (backend) => {
  let a: TestAccounts;
  let admin: string;
  // Projects are the cluster's namespaces: a sandbox with project `web` in workspace team-a.
  let cluster: TestSandbox;

  beforeAll(async () => {
    cluster = await startTestSandbox();
    await cluster.core.createNamespace({
      body: { metadata: { name: 'web', labels: { 'kubesphere.io/workspace': 'team-a' } } },
    });
    a = await startTestAccounts(backend, {
      kubeConfig: cluster.kc,
      settings: { maxFailedLogins: 3, lockSeconds: 2, accessTokenTtlSeconds: 60 },
    });
    admin = (await a.login('admin', ADMIN_PASSWORD)).accessToken;
    for (const u of ['alice', 'bob', 'carol', 'dave']) {
      const r = await a.gql(
        CREATE_USER,
        { input: { username: u, password: `${u}-password`, email: `${u}@example.org`, displayName: u.toUpperCase() } },
        admin,
      );
      expect(r.errors).toBeUndefined();
    }
  });
  afterAll(async () => {
    await a?.close();
    await cluster?.close();
  });

  it('creates the bootstrap admin with the given password, a platform-admin', async () => {
    const r = await a.gql(`{ me { username platformRole state provider } }`, {}, admin);
    expect(r.data).toEqual({
      me: { username: 'admin', platformRole: 'platform-admin', state: 'ACTIVE', provider: 'local' },
    });
  });

  it('logs in: a JWT with kid, verified against /.well-known/jwks.json, with the documented claims', async () => {
    const r = await a.gql<{
      login: {
        accessToken: string;
        refreshToken: string;
        expiresIn: number;
        user: { username: string; lastLoginAt: string };
      };
    }>(LOGIN, { u: 'alice', p: 'alice-password' });
    expect(r.errors).toBeUndefined();
    const { accessToken, refreshToken, expiresIn, user } = r.data!.login;
    expect(expiresIn).toBe(60);
    expect(user.username).toBe('alice');
    expect(Date.parse(user.lastLoginAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(refreshToken).toMatch(/^kgr_/);
    const header = decodeProtectedHeader(accessToken);
    expect(header.alg).toBe('ES256');
    expect(header.kid).toBeTruthy();
    const jwks = createRemoteJWKSet(new URL(`${a.sub.baseUrl}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(accessToken, jwks, { issuer: 'kubegraph', audience: 'kubegraph' });
    expect(payload.sub).toBe('alice');
    expect(payload.platform_role).toBe('platform-regular');
    expect(payload.exp! - payload.iat!).toBe(60);
    // A token signed by someone else does not verify.
    const [h, p] = accessToken.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, platform_role: 'platform-admin' })).toString('base64url')}.${accessToken.split('.')[2]}`;
    await expect(jwtVerify(forged, jwks)).rejects.toThrow();
    expect(p).toBeTruthy();
    // The token identifies alice to accounts.
    const me = await a.gql(`{ me { username } }`, {}, accessToken);
    expect(me.data).toEqual({ me: { username: 'alice' } });
  });

  it('refuses wrong passwords and unknown users alike with UNAUTHENTICATED', async () => {
    const wrong = await a.gql(LOGIN, { u: 'bob', p: 'not-the-password' });
    const unknown = await a.gql(LOGIN, { u: 'nobody', p: 'whatever-it-is' });
    expect(codes(wrong)).toEqual(['UNAUTHENTICATED']);
    expect(codes(unknown)).toEqual(['UNAUTHENTICATED']);
    expect(wrong.errors![0].message).toBe(unknown.errors![0].message);
    // A successful login resets the count of failures.
    await a.login('bob', 'bob-password');
  });

  it("locks a user's logins from a source after N failed logins for the configured time, then lets them in again; every attempt is recorded", async () => {
    for (let i = 0; i < 3; i++)
      expect(codes(await a.gql(LOGIN, { u: 'carol', p: 'bad-password' }))).toEqual(['UNAUTHENTICATED']);
    const locked = await a.gql(LOGIN, { u: 'carol', p: 'carol-password' });
    expect(codes(locked)).toEqual(['UNAUTHENTICATED']);
    expect(locked.errors![0].extensions?.reason).toBe('LOCKED');
    // The lock is of this source's logins of carol (test/accounts-sessions.test.ts), not of carol herself.
    const state = await a.gql(`{ user(username: "carol") { state } }`, {}, admin);
    expect(state.data).toEqual({ user: { state: 'ACTIVE' } });
    await new Promise((r) => setTimeout(r, 2200));
    const ok = await fetch(a.sub.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'kubegraph-test/1.0',
        'x-forwarded-for': '203.0.113.7, 10.0.0.1',
      },
      body: JSON.stringify({ query: LOGIN, variables: { u: 'carol', p: 'carol-password' } }),
    });
    expect(((await ok.json()) as { data: { login: { user: { state: string } } } }).data.login.user.state).toBe(
      'ACTIVE',
    );

    const records = await a.gql<{
      user: {
        loginRecords: {
          success: boolean;
          reason: string | null;
          sourceIp: string;
          userAgent: string;
          provider: string;
          at: string;
        }[];
      };
    }>(
      `{ user(username: "carol") { loginRecords(first: 10) { at success reason sourceIp userAgent provider } } }`,
      {},
      admin,
    );
    const recs = records.data!.user.loginRecords;
    expect(recs.map((r) => [r.success, r.reason])).toEqual([
      [true, null],
      [false, 'locked'],
      [false, 'invalid_credentials_locked'],
      [false, 'invalid_credentials'],
      [false, 'invalid_credentials'],
    ]);
    expect(recs[0]).toMatchObject({ sourceIp: '203.0.113.7', userAgent: 'kubegraph-test/1.0', provider: 'local' });
    // Login records are the user's or a platform admin's to read.
    const bob = (await a.login('bob', 'bob-password')).accessToken;
    expect(codes(await a.gql(`{ user(username: "bob") { loginRecords { success } } }`, {}, bob))).toBeUndefined();
    const other = await a.gql(`{ me { username } user(username: "carol") { username } }`, {}, bob);
    expect(other.data).toEqual({ me: { username: 'bob' }, user: null });
  });

  it('rotates refresh tokens; a used one is refused and ends the session; logout revokes', async () => {
    const first = await a.login('dave', 'dave-password');
    const REFRESH = `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken user { username } } }`;
    const second = await a.gql<{ refreshToken: { accessToken: string; refreshToken: string } }>(REFRESH, {
      t: first.refreshToken,
    });
    expect(second.errors).toBeUndefined();
    const pair = second.data!.refreshToken;
    expect(pair.refreshToken).not.toBe(first.refreshToken);
    expect((await a.gql(`{ me { username } }`, {}, pair.accessToken)).data).toEqual({ me: { username: 'dave' } });
    // Replaying the used token: refused, and the whole session ends (the newest token too).
    expect(codes(await a.gql(REFRESH, { t: first.refreshToken }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await a.gql(REFRESH, { t: pair.refreshToken }))).toEqual(['UNAUTHENTICATED']);

    const session = await a.login('dave', 'dave-password');
    const next = (await a.gql<{ refreshToken: { refreshToken: string } }>(REFRESH, { t: session.refreshToken })).data!
      .refreshToken;
    expect((await a.gql(`mutation($t: String!) { logout(refreshToken: $t) }`, { t: next.refreshToken })).data).toEqual({
      logout: true,
    });
    expect(codes(await a.gql(REFRESH, { t: next.refreshToken }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await a.gql(REFRESH, { t: 'kgr_made-up' }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await a.gql(`mutation { logout(refreshToken: "kgr_made-up") }`))).toEqual(['UNAUTHENTICATED']);
  });

  it('API tokens: shown once, listed with lastUsedAt, verified by the internal endpoint, revocable, expiring', async () => {
    const alice = (await a.login('alice', 'alice-password')).accessToken;
    const created = await a.gql<{
      createApiToken: {
        token: string;
        apiToken: { id: string; name: string; expiresAt: string | null; lastUsedAt: string | null };
      };
    }>(`mutation { createApiToken(name: "ci") { token apiToken { id name expiresAt lastUsedAt } } }`, {}, alice);
    expect(created.errors).toBeUndefined();
    const { token, apiToken } = created.data!.createApiToken;
    expect(token).toMatch(/^kgt_[A-Za-z0-9_-]{43}$/);
    expect(apiToken).toMatchObject({ name: 'ci', expiresAt: null, lastUsedAt: null });
    expect(codes(await a.gql(`mutation { createApiToken(name: "ci") { token } }`, {}, alice))).toEqual(['CONFLICT']);

    const verify = (t: string) =>
      fetch(`${a.sub.baseUrl}/internal/verify-api-token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: t }),
      });
    const ok = await verify(token);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      username: 'alice',
      platformRole: 'platform-regular',
      tokenId: apiToken.id,
      tokenName: 'ci',
      expiresAt: null,
    });
    expect((await verify('kgt_nope')).status).toBe(401);

    // The token works as a bearer token here too, and its use shows in the list.
    const listed = await a.gql<{ apiTokens: { id: string; name: string; lastUsedAt: string | null }[] }>(
      `{ apiTokens { id name lastUsedAt } }`,
      {},
      token,
    );
    expect(listed.data!.apiTokens).toHaveLength(1);
    expect(Date.parse(listed.data!.apiTokens[0].lastUsedAt!)).toBeGreaterThan(Date.now() - 60_000);
    // Nobody else sees it.
    expect((await a.gql(`{ apiTokens { id } }`, {}, admin)).data).toEqual({ apiTokens: [] });
    const bob = (await a.login('bob', 'bob-password')).accessToken;
    expect(codes(await a.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id: apiToken.id }, bob))).toEqual([
      'NOT_FOUND',
    ]);

    expect((await a.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id: apiToken.id }, alice)).data).toEqual({
      revokeApiToken: true,
    });
    expect((await verify(token)).status).toBe(401);
    expect(codes(await a.gql(`{ me { username } }`, {}, token))).toEqual(['UNAUTHENTICATED']);
    expect((await a.gql(`{ apiTokens { id } }`, {}, alice)).data).toEqual({ apiTokens: [] });

    // Expiry: a past time is refused; a token past its time stops working.
    expect(
      codes(
        await a.gql(`mutation { createApiToken(name: "old", expiresAt: "2001-01-01T00:00:00Z") { token } }`, {}, alice),
      ),
    ).toEqual(['BAD_USER_INPUT']);
    const soon = new Date(Date.now() + 1500).toISOString();
    const short = await a.gql<{ createApiToken: { token: string; apiToken: { expiresAt: string } } }>(
      `mutation($e: DateTime) { createApiToken(name: "short", expiresAt: $e) { token apiToken { expiresAt } } }`,
      { e: soon },
      alice,
    );
    expect(short.data!.createApiToken.apiToken.expiresAt).toBe(soon);
    expect((await verify(short.data!.createApiToken.token)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    const expired = await verify(short.data!.createApiToken.token);
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
  });

  it('authorizes: only platform admins create users and workspaces; workspace admins manage their members', async () => {
    const alice = (await a.login('alice', 'alice-password')).accessToken;
    const bob = (await a.login('bob', 'bob-password')).accessToken;
    expect(codes(await a.gql(CREATE_USER, { input: { username: 'mallory', password: 'mallory-pw' } }, alice))).toEqual([
      'FORBIDDEN',
    ]);
    expect(codes(await a.gql(`mutation { createWorkspace(name: "w-alice") { name } }`, {}, alice))).toEqual([
      'FORBIDDEN',
    ]);
    expect(codes(await a.gql(`{ me { username } }`))).toEqual(['UNAUTHENTICATED']);

    const ws = await a.gql(
      `mutation { createWorkspace(name: "team-a", description: "Team A") { name description members { role } projects { name } } }`,
      {},
      admin,
    );
    // Its projects are the namespaces labelled with it, as the cluster has them (web was there before the workspace).
    expect(ws.data).toEqual({
      createWorkspace: { name: 'team-a', description: 'Team A', members: [], projects: [{ name: 'web' }] },
    });
    expect(codes(await a.gql(`mutation { createWorkspace(name: "team-a") { name } }`, {}, admin))).toEqual([
      'CONFLICT',
    ]);
    expect(
      codes(
        await a.gql(
          `mutation { addWorkspaceMember(workspace: "team-a", username: "bob", role: "workspace-regular") { name } }`,
          {},
          alice,
        ),
      ),
    ).toEqual(['FORBIDDEN']);
    const added = await a.gql(
      `mutation { addWorkspaceMember(workspace: "team-a", username: "alice", role: "workspace-admin") { members { user { username } role } } }`,
      {},
      admin,
    );
    expect(added.data).toEqual({
      addWorkspaceMember: { members: [{ user: { username: 'alice' }, role: 'workspace-admin' }] },
    });
    // Now alice administers team-a: she may add and remove its members, and nothing elsewhere.
    const byAlice = await a.gql(
      `mutation { addWorkspaceMember(workspace: "team-a", username: "bob", role: "workspace-regular") { members { user { username email } role } } }`,
      {},
      alice,
    );
    expect(byAlice.data).toEqual({
      addWorkspaceMember: {
        members: [
          { user: { username: 'alice', email: 'alice@example.org' }, role: 'workspace-admin' },
          { user: { username: 'bob', email: 'bob@example.org' }, role: 'workspace-regular' },
        ],
      },
    });
    await a.gql(`mutation { createWorkspace(name: "team-b") { name } }`, {}, admin);
    expect(
      codes(
        await a.gql(
          `mutation { addWorkspaceMember(workspace: "team-b", username: "bob", role: "workspace-viewer") { name } }`,
          {},
          alice,
        ),
      ),
    ).toEqual(['FORBIDDEN']);
    expect(
      codes(
        await a.gql(
          `mutation { addWorkspaceMember(workspace: "team-a", username: "bob", role: "workspace-owner") { name } }`,
          {},
          alice,
        ),
      ),
    ).toEqual(['BAD_USER_INPUT']);
    expect(
      codes(
        await a.gql(
          `mutation { addWorkspaceMember(workspace: "team-a", username: "ghost", role: "workspace-viewer") { name } }`,
          {},
          alice,
        ),
      ),
    ).toEqual(['NOT_FOUND']);
    expect(
      codes(
        await a.gql(
          `mutation { addWorkspaceMember(workspace: "no-such", username: "bob", role: "workspace-viewer") { name } }`,
          {},
          admin,
        ),
      ),
    ).toEqual(['NOT_FOUND']);

    // What each sees.
    expect((await a.gql(`{ workspaces { name } }`, {}, bob)).data).toEqual({ workspaces: [{ name: 'team-a' }] });
    expect((await a.gql(`{ workspaces { name } }`, {}, admin)).data).toEqual({
      workspaces: [{ name: 'team-a' }, { name: 'team-b' }],
    });
    expect(codes(await a.gql(`{ workspace(name: "team-b") { name } }`, {}, bob))).toEqual(['FORBIDDEN']);
    expect((await a.gql(`{ workspace(name: "nope") { name } }`, {}, bob)).data).toEqual({ workspace: null });
    const users = await a.gql<{ users: { totalCount: number; edges: { node: { username: string } }[] } }>(
      `{ users(first: 10) { totalCount edges { node { username } } } }`,
      {},
      bob,
    );
    expect(users.data!.users.edges.map((e) => e.node.username)).toEqual(['alice', 'bob']);
    expect(users.data!.users.totalCount).toBe(2);
    expect((await a.gql(`{ me { workspaces { name } } }`, {}, alice)).data).toEqual({
      me: { workspaces: [{ name: 'team-a' }] },
    });

    // Project members: the workspace admin adds them to a project of her workspace; members must belong to it.
    const p = await a.gql(
      `mutation { addProjectMember(project: "web", username: "bob", role: "project-operator") { name members { user { username } role } } }`,
      {},
      alice,
    );
    expect(p.data).toEqual({
      addProjectMember: { name: 'web', members: [{ user: { username: 'bob' }, role: 'project-operator' }] },
    });
    expect(
      codes(
        await a.gql(
          `mutation { addProjectMember(project: "web", username: "dave", role: "project-viewer") { name } }`,
          {},
          alice,
        ),
      ),
    ).toEqual(['BAD_USER_INPUT']);
    expect(
      codes(
        await a.gql(
          `mutation { addProjectMember(project: "web", username: "alice", role: "project-viewer") { name } }`,
          {},
          bob,
        ),
      ),
    ).toEqual(['FORBIDDEN']);
    // The workspace is the namespace's label: there is no argument to name another one.
    expect(
      codes(
        await a.gql(
          `mutation { addProjectMember(project: "web", workspace: "team-b", username: "alice", role: "project-viewer") { name } }`,
          {},
          admin,
        ),
      ),
    ).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    // Whether a namespace exists is not told to those who may not manage it; a platform admin learns it.
    const noSuchProject = `mutation { addProjectMember(project: "no-such-project", username: "bob", role: "project-viewer") { name } }`;
    expect(codes(await a.gql(noSuchProject, {}, alice))).toEqual(['FORBIDDEN']);
    expect(codes(await a.gql(noSuchProject, {}, admin))).toEqual(['NOT_FOUND']);
    expect((await a.gql(`{ workspace(name: "team-a") { projects { name } } }`, {}, alice)).data).toEqual({
      workspace: { projects: [{ name: 'web' }] },
    });

    // Role bindings: through GraphQL (self or platform admin) and the internal endpoint.
    const rb = await a.gql(
      `{ me { roleBindings { platformRole workspaces { workspace role } projects { project workspace role } revision } } }`,
      {},
      bob,
    );
    expect(rb.data!.me).toMatchObject({
      roleBindings: {
        platformRole: 'platform-regular',
        workspaces: [{ workspace: 'team-a', role: 'workspace-regular' }],
        projects: [{ project: 'web', workspace: 'team-a', role: 'project-operator' }],
      },
    });
    const internal = await fetch(`${a.sub.baseUrl}/internal/bindings/bob`);
    const body = (await internal.json()) as { revision: number; state: string };
    expect(body).toMatchObject({
      username: 'bob',
      state: 'ACTIVE',
      platformRole: 'platform-regular',
      workspaces: [{ workspace: 'team-a', role: 'workspace-regular' }],
    });
    expect((await fetch(`${a.sub.baseUrl}/internal/bindings/ghost`)).status).toBe(404);
    const rev = (await (await fetch(`${a.sub.baseUrl}/internal/bindings-revision`)).json()) as { revision: number };
    expect(rev.revision).toBe(body.revision);

    // Removing bob from the workspace takes his project memberships along, and bumps the revision.
    await a.gql(`mutation { removeWorkspaceMember(workspace: "team-a", username: "bob") { name } }`, {}, alice);
    const after = (await (await fetch(`${a.sub.baseUrl}/internal/bindings/bob`)).json()) as {
      revision: number;
      workspaces: unknown[];
      projects: unknown[];
    };
    expect(after.workspaces).toEqual([]);
    expect(after.projects).toEqual([]);
    expect(after.revision).toBeGreaterThan(body.revision);
  });

  it('disabling a user refuses their login, their access and refresh tokens and their API tokens', async () => {
    await a.gql(CREATE_USER, { input: { username: 'erin', password: 'erin-password' } }, admin);
    const s = await a.login('erin', 'erin-password');
    const t = (
      await a.gql<{ createApiToken: { token: string } }>(
        `mutation { createApiToken(name: "x") { token } }`,
        {},
        s.accessToken,
      )
    ).data!.createApiToken.token;
    const d = await a.gql(`mutation { setUserState(username: "erin", state: DISABLED) { username state } }`, {}, admin);
    expect(d.data).toEqual({ setUserState: { username: 'erin', state: 'DISABLED' } });
    const login = await a.gql(LOGIN, { u: 'erin', p: 'erin-password' });
    expect(login.errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'DISABLED' });
    expect(codes(await a.gql(`{ me { username } }`, {}, s.accessToken))).toEqual(['UNAUTHENTICATED']);
    expect(
      codes(
        await a.gql(`mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`, { t: s.refreshToken }),
      ),
    ).toEqual(['UNAUTHENTICATED']);
    expect(
      (
        await fetch(`${a.sub.baseUrl}/internal/verify-api-token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: t }),
        })
      ).status,
    ).toBe(401);
    expect(
      codes(await a.gql(`mutation { setUserState(username: "admin", state: DISABLED) { state } }`, {}, admin)),
    ).toEqual(['BAD_USER_INPUT']);
    // Enabled again, erin logs in.
    await a.gql(`mutation { setUserState(username: "erin", state: ACTIVE) { state } }`, {}, admin);
    await a.login('erin', 'erin-password');
  });

  it('users: update, change and reset passwords, delete', async () => {
    await a.gql(
      CREATE_USER,
      { input: { username: 'frank', password: 'frank-password', platformRole: 'platform-regular' } },
      admin,
    );
    const frank = await a.login('frank', 'frank-password');
    const up = await a.gql(
      `mutation { updateUser(username: "frank", input: { displayName: "Frank F.", email: "f@example.org" }) { displayName email } }`,
      {},
      frank.accessToken,
    );
    expect(up.data).toEqual({ updateUser: { displayName: 'Frank F.', email: 'f@example.org' } });
    expect(
      codes(
        await a.gql(
          `mutation { updateUser(username: "frank", input: { platformRole: "platform-admin" }) { platformRole } }`,
          {},
          frank.accessToken,
        ),
      ),
    ).toEqual(['FORBIDDEN']);
    expect(
      codes(
        await a.gql(
          `mutation { updateUser(username: "frank", input: { email: "not-an-email" }) { email } }`,
          {},
          frank.accessToken,
        ),
      ),
    ).toEqual(['BAD_USER_INPUT']);
    expect(
      codes(
        await a.gql(
          `mutation { changePassword(currentPassword: "wrong-one", newPassword: "frank-password-2") }`,
          {},
          frank.accessToken,
        ),
      ),
    ).toEqual(['BAD_USER_INPUT']);
    expect(
      (
        await a.gql(
          `mutation { changePassword(currentPassword: "frank-password", newPassword: "frank-password-2") }`,
          {},
          frank.accessToken,
        )
      ).data,
    ).toEqual({ changePassword: true });
    // The old session's refresh token is gone; the new password works, the old one not.
    expect(
      codes(
        await a.gql(`mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`, {
          t: frank.refreshToken,
        }),
      ),
    ).toEqual(['UNAUTHENTICATED']);
    expect(codes(await a.gql(LOGIN, { u: 'frank', p: 'frank-password' }))).toEqual(['UNAUTHENTICATED']);
    await a.login('frank', 'frank-password-2');
    expect(
      (await a.gql(`mutation { resetPassword(username: "frank", newPassword: "frank-password-3") }`, {}, admin)).data,
    ).toEqual({ resetPassword: true });
    await a.login('frank', 'frank-password-3');
    expect((await a.gql(`mutation { deleteUser(username: "frank") }`, {}, admin)).data).toEqual({ deleteUser: true });
    expect(codes(await a.gql(`mutation { deleteUser(username: "frank") }`, {}, admin))).toEqual(['NOT_FOUND']);
    expect(codes(await a.gql(LOGIN, { u: 'frank', p: 'frank-password-3' }))).toEqual(['UNAUTHENTICATED']);
  });

  it('answers bad input with GraphQL errors carrying a code', async () => {
    const cases: [string, Record<string, unknown>][] = [
      [CREATE_USER, { input: { username: 'Bad Name', password: 'long-enough' } }],
      [CREATE_USER, { input: { username: 'shortpw', password: 'short' } }],
      [CREATE_USER, { input: { username: 'rolex', password: 'long-enough', platformRole: 'king' } }],
      [`mutation { createWorkspace(name: "Not_A_DNS_Label") { name } }`, {}],
      [`{ users(first: -1) { totalCount } }`, {}],
      [`{ users(after: "garbage") { totalCount } }`, {}],
      [`mutation { createApiToken(name: "") { token } }`, {}],
    ];
    for (const [q, v] of cases) expect(codes(await a.gql(q, v, admin)), q).toEqual(['BAD_USER_INPUT']);
    expect(codes(await a.gql(CREATE_USER, { input: { username: 'alice', password: 'long-enough' } }, admin))).toEqual([
      'CONFLICT',
    ]);
  });

  it('pages users with cursors', async () => {
    const Q = `query($after: String) { users(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { username } } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const r: {
        data?: {
          users: {
            totalCount: number;
            pageInfo: { hasNextPage: boolean; endCursor: string | null };
            edges: { node: { username: string } }[];
          };
        } | null;
      } = await a.gql(Q, { after }, admin);
      const page = r.data!.users;
      seen.push(...page.edges.map((e) => e.node.username));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual([...seen].sort());
    expect(seen).toContain('admin');
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('rotates the signing key: new tokens carry the new kid, old ones still verify, both keys are published', async () => {
    const before = (await a.login('alice', 'alice-password')).accessToken;
    const r = await a.gql<{ rotateSigningKey: string }>(`mutation { rotateSigningKey }`, {}, admin);
    const kid = r.data!.rotateSigningKey;
    expect(kid).not.toBe(decodeProtectedHeader(before).kid);
    const after = (await a.login('alice', 'alice-password')).accessToken;
    expect(decodeProtectedHeader(after).kid).toBe(kid);
    const jwks = (await (await fetch(`${a.sub.baseUrl}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string; d?: string }[];
    };
    expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([kid, decodeProtectedHeader(before).kid]));
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
    const set = createRemoteJWKSet(new URL(`${a.sub.baseUrl}/.well-known/jwks.json`));
    await jwtVerify(before, set);
    await jwtVerify(after, set);
    const alice = (await a.login('alice', 'alice-password')).accessToken;
    expect(codes(await a.gql(`mutation { rotateSigningKey }`, {}, alice))).toEqual(['FORBIDDEN']);
  });
});
