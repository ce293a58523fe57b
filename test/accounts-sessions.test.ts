// Sessions through the gateway (issue 13, "Sessions"): access tokens of ended sessions (logout, password change,
// refresh-token reuse) are refused within moments; locked, deleted and re-created users; login payloads resolve as
// the user who logged in; a stale Authorization header does not stop logging in again; lockout that tells nothing
// and cannot be used by one source against a user elsewhere; login records with the client's address and user agent;
// graphql-ws close codes; the ignored KUBEGRAPH_ADMIN_PASSWORD warning.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../services/common/config.js';
import type { Logger } from '../services/common/log.js';
import { openDb } from '../services/accounts/clients/db.js';
import { startAccountsSubgraph } from '../services/accounts/server.js';
import { SigningKeys } from '../services/accounts/model/tokens.js';
import { trustProxyFromEnv } from '../gateway/config.js';
import type { Gateway } from '../gateway/gateway.js';
import { gql, type GraphQLResult } from './harness/graphql.js';
import { eventually } from './harness/sandbox.js';
import { quietLogger, startTestStack, type TestStack } from './harness/stack.js';

const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken } }';
const REFRESH = 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }';
const ME = '{ me { username } }';
// A workloads field: the gateway's decision, not accounts' own checks, is what these tests are about.
const PODS = '{ pods(first: 1) { totalCount } }';
const MAX_FAILURES = 3;
const MAX_FAILURES_PER_SOURCE = 8;

let stack: TestStack;
const codes = (r: GraphQLResult) => r.errors?.map((e) => e.extensions?.code);

async function createUser(username: string, platformRole = 'platform-regular'): Promise<void> {
  const r = await stack.gql('mutation($i: CreateUserInput!) { createUser(input: $i) { username } }', {
    i: { username, password: `${username}-password`, platformRole },
  });
  expect(r.errors).toBeUndefined();
}
async function session(
  username: string,
  password = `${username}-password`,
): Promise<{ accessToken: string; refreshToken: string }> {
  const r = await stack.gqlAs<{ login: { accessToken: string; refreshToken: string } }>(undefined, LOGIN, {
    u: username,
    p: password,
  });
  if (!r.data?.login) throw new Error(`login of ${username} failed: ${JSON.stringify(r.errors)}`);
  return r.data.login;
}
/** Whether a token is refused by the gateway as a whole (HTTP 401, UNAUTHENTICATED, no data). */
async function refused(token: string, query = PODS): Promise<boolean> {
  const r = await stack.gqlAs(token, query);
  return r.status === 401 && codes(r)?.[0] === 'UNAUTHENTICATED' && !r.data;
}
async function works(token: string, query = PODS): Promise<boolean> {
  const r = await stack.gqlAs(token, query);
  return r.status === 200 && r.errors === undefined;
}

beforeAll(async () => {
  stack = await startTestStack({
    accounts: { settings: { maxFailedLogins: MAX_FAILURES, maxFailedLoginsPerSource: MAX_FAILURES_PER_SOURCE } },
  });
  // Platform admins: every workloads read is theirs, so a refusal can only be the gateway's.
  for (const u of ['erin', 'fred', 'gina', 'lena', 'mia', 'nora', 'olga']) await createUser(u, 'platform-admin');
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe('ended sessions', () => {
  it("logout: that session's access tokens are refused within moments; other sessions go on", async () => {
    const a = await session('erin');
    const b = await session('erin');
    expect(await works(a.accessToken)).toBe(true);
    expect(
      (await stack.gqlAs(undefined, 'mutation($t: String!) { logout(refreshToken: $t) }', { t: a.refreshToken })).data,
    ).toEqual({ logout: true });
    await eventually(() => refused(a.accessToken), 10_000, 'the logged-out access token to be refused');
    expect((await stack.gqlAs(a.accessToken, ME)).errors?.[0].message).toMatch(/session/);
    expect(await works(b.accessToken)).toBe(true);
  });

  it('changePassword: every session of the user ends; API tokens stay (separate credentials, as in KubeSphere)', async () => {
    const a = await session('fred');
    const b = await session('fred');
    const api = await stack.gqlAs<{ createApiToken: { token: string } }>(
      a.accessToken,
      'mutation { createApiToken(name: "ci") { token } }',
    );
    const apiToken = api.data!.createApiToken.token;
    const changed = await stack.gqlAs(
      a.accessToken,
      'mutation { changePassword(currentPassword: "fred-password", newPassword: "fred-password-2") }',
    );
    expect(changed.data).toEqual({ changePassword: true });
    await eventually(
      async () => (await refused(a.accessToken)) && (await refused(b.accessToken)),
      10_000,
      'both sessions to be refused',
    );
    expect(await works(apiToken)).toBe(true);
    expect((await stack.gqlAs(apiToken, ME)).data).toEqual({ me: { username: 'fred' } });
    // The refresh tokens of those sessions are gone too; the new password starts a new one.
    expect(codes(await stack.gqlAs(undefined, REFRESH, { t: b.refreshToken }))).toEqual(['UNAUTHENTICATED']);
    expect(await works((await session('fred', 'fred-password-2')).accessToken)).toBe(true);
  });

  it('refresh-token reuse ends the whole session: every access token of it is refused', async () => {
    const first = await session('gina');
    const second = (
      await stack.gqlAs<{ refreshToken: { accessToken: string; refreshToken: string } }>(undefined, REFRESH, {
        t: first.refreshToken,
      })
    ).data!.refreshToken;
    expect(await works(second.accessToken)).toBe(true);
    const other = await session('gina');
    // The used refresh token presented again: refused, and the family is revoked.
    expect(codes(await stack.gqlAs(undefined, REFRESH, { t: first.refreshToken }))).toEqual(['UNAUTHENTICATED']);
    await eventually(
      async () => (await refused(first.accessToken)) && (await refused(second.accessToken)),
      10_000,
      'the reused session to be refused',
    );
    expect(await works(other.accessToken)).toBe(true);
  });
});

describe('who the token is for', () => {
  it('a user locked by an administrator is refused like a disabled one (and locking ends their sessions)', async () => {
    const t = await session('lena');
    expect(await works(t.accessToken)).toBe(true);
    expect((await stack.gql('mutation { setUserState(username: "lena", state: LOCKED) { state } }')).data).toEqual({
      setUserState: { state: 'LOCKED' },
    });
    await eventually(() => refused(t.accessToken), 10_000, 'the locked user to be refused');
    // Even with the right password, a locked user's login answers as a wrong password does.
    const locked = await stack.gqlAs(undefined, LOGIN, { u: 'lena', p: 'lena-password' });
    const wrong = await stack.gqlAs(undefined, LOGIN, { u: 'mia', p: 'not-mias-password' });
    expect(locked.errors?.[0].message).toBe(wrong.errors?.[0].message);
    expect(locked.errors?.[0].message).not.toMatch(/lena|lock/i);
    await stack.gql('mutation { setUserState(username: "lena", state: ACTIVE) { state } }');
    expect(await works((await session('lena')).accessToken)).toBe(true);
    expect(await refused(t.accessToken)).toBe(true);
  });

  it('the tokens of a deleted user do not work for a user created later under the same name', async () => {
    const t = await session('mia');
    const api = (
      await stack.gqlAs<{ createApiToken: { token: string } }>(
        t.accessToken,
        'mutation { createApiToken(name: "ci") { token } }',
      )
    ).data!.createApiToken.token;
    expect(await works(api)).toBe(true);
    expect((await stack.gql('mutation { deleteUser(username: "mia") }')).data).toEqual({ deleteUser: true });
    await createUser('mia', 'platform-admin');
    const fresh = await session('mia');
    expect(await works(fresh.accessToken)).toBe(true);
    expect(await refused(t.accessToken)).toBe(true);
    expect(await refused(api)).toBe(true);
  });
});

describe('logging in', () => {
  it('resolves the fields under login and refreshToken as the user who just logged in', async () => {
    expect(
      (
        await stack.gql(
          'mutation { createWorkspace(name: "nora-ws") { name } addWorkspaceMember(workspace: "nora-ws", username: "nora", role: "workspace-viewer") { name } }',
        )
      ).errors,
    ).toBeUndefined();
    const login = await stack.gqlAs<{
      login: { accessToken: string; refreshToken: string; user: { username: string; workspaces: { name: string }[] } };
    }>(
      undefined,
      'mutation { login(username: "nora", password: "nora-password") { accessToken refreshToken user { username workspaces { name } roleBindings { platformRole } } } }',
    );
    expect(login.errors).toBeUndefined();
    expect(login.data!.login).toMatchObject({
      user: { username: 'nora', workspaces: [{ name: 'nora-ws' }], roleBindings: { platformRole: 'platform-admin' } },
    });
    expect(login.data!.login.accessToken).toBeTruthy();
    const refreshed = await stack.gqlAs(
      undefined,
      'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken user { username workspaces { name } } } }',
      { t: login.data!.login.refreshToken },
    );
    expect(refreshed.errors).toBeUndefined();
    expect(refreshed.data).toMatchObject({
      refreshToken: { user: { username: 'nora', workspaces: [{ name: 'nora-ws' }] } },
    });
    // Another caller's token does not change who the payload is about, and nothing outside it runs as nora.
    const asAdmin = await stack.gql(
      'mutation { login(username: "nora", password: "nora-password") { user { username workspaces { name } } } }',
    );
    expect(asAdmin.data).toEqual({ login: { user: { username: 'nora', workspaces: [{ name: 'nora-ws' }] } } });
  });

  it('a stale or invalid Authorization header does not stop login, refreshToken and logout; it stops everything else', async () => {
    const ended = await session('olga');
    const staleHeaders = async function* () {
      yield 'not-a-token';
      yield 'kgt_no-such-api-token';
      await stack.gqlAs(undefined, 'mutation($t: String!) { logout(refreshToken: $t) }', { t: ended.refreshToken });
      await eventually(() => refused(ended.accessToken), 10_000, 'the ended session to be refused');
      yield ended.accessToken;
    };
    for await (const stale of staleHeaders()) {
      const login = await stack.gqlAs<{ login: { accessToken: string; refreshToken: string } }>(stale, LOGIN, {
        u: 'olga',
        p: 'olga-password',
      });
      expect(login.status).toBe(200);
      expect(login.errors).toBeUndefined();
      const refreshed = await stack.gqlAs<{ refreshToken: { refreshToken: string } }>(stale, REFRESH, {
        t: login.data!.login.refreshToken,
      });
      expect(refreshed.errors).toBeUndefined();
      const out = await stack.gqlAs(stale, 'mutation($t: String!) { logout(refreshToken: $t) }', {
        t: refreshed.data!.refreshToken.refreshToken,
      });
      expect(out.data).toEqual({ logout: true });
      // Anything else with that header is refused as a whole, even next to a login.
      expect(await refused(stale, ME)).toBe(true);
      const mixed = await stack.gqlAs(
        stale,
        'mutation { login(username: "olga", password: "olga-password") { accessToken } createWorkspace(name: "by-a-stale-token") { name } }',
      );
      expect(mixed.status).toBe(401);
      expect(mixed.data ?? null).toBeNull();
      const fragment = await stack.gqlAs(
        stale,
        'mutation { ...F } fragment F on Mutation { login(username: "olga", password: "olga-password") { accessToken } }',
      );
      expect(fragment.status).toBe(401);
    }
    expect((await stack.gql('{ workspace(name: "by-a-stale-token") { name } }')).data).toEqual({ workspace: null });
  });
});

describe('lockout', () => {
  let lb: Gateway;
  // Behind one load balancer: the client's address is the last X-Forwarded-For entry.
  const from = <T = Record<string, unknown>>(
    ip: string,
    query: string,
    variables: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) => gql<T>(lb.url, query, variables, { 'x-forwarded-for': ip, ...headers });
  const login = (ip: string, u: string, p: string) => from(ip, LOGIN, { u, p });

  beforeAll(async () => {
    lb = await stack.startGateway({ trustProxy: 1 });
    for (const u of ['pia', 'quinn']) await createUser(u);
  });

  it('one generic answer in every case; failures from one source lock the account there only, admin included', async () => {
    const attacker = '198.51.100.1';
    for (let i = 0; i < MAX_FAILURES; i++) {
      expect(codes(await login(attacker, 'pia', 'wrong-password'))).toEqual(['UNAUTHENTICATED']);
      expect(codes(await login(attacker, 'admin', 'wrong-password'))).toEqual(['UNAUTHENTICATED']);
      expect(codes(await login(attacker, 'nobody-here', 'wrong-password'))).toEqual(['UNAUTHENTICATED']);
    }
    const wrong = await login('198.51.100.9', 'quinn', 'wrong-password');
    const lockedRight = await login(attacker, 'pia', 'pia-password');
    const lockedUnknown = await login(attacker, 'nobody-here', 'whatever-password');
    const lockedAdmin = await login(attacker, 'admin', 'stack-admin-password-1');
    for (const r of [lockedRight, lockedUnknown, lockedAdmin]) {
      expect(codes(r)).toEqual(['UNAUTHENTICATED']);
      expect(r.errors![0].message).toBe(wrong.errors![0].message);
      expect(r.errors![0].message).not.toMatch(/pia|admin|lock|until/i);
    }
    // A known and an unknown name look the same while throttled.
    expect(lockedRight.errors![0].extensions).toEqual(lockedUnknown.errors![0].extensions);
    // From elsewhere the same users log in.
    expect((await login('198.51.100.2', 'pia', 'pia-password')).data?.login).toBeTruthy();
    expect((await login('198.51.100.2', 'admin', 'stack-admin-password-1')).data?.login).toBeTruthy();
    expect((await stack.gql<{ user: { state: string } }>('{ user(username: "pia") { state } }')).data).toEqual({
      user: { state: 'ACTIVE' },
    });
  });

  it('a source with too many failures across accounts is throttled for every account', async () => {
    const flood = '198.51.100.3';
    for (let i = 0; i < MAX_FAILURES_PER_SOURCE; i++)
      expect(codes(await login(flood, `guess-${i}`, 'wrong-password'))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await login(flood, 'quinn', 'quinn-password'))).toEqual(['UNAUTHENTICATED']);
    expect((await login('198.51.100.4', 'quinn', 'quinn-password')).data?.login).toBeTruthy();
  });

  it('login records carry the client address and user agent the gateway forwards', async () => {
    const ua = 'kubegraph-console/2.0 (test)';
    expect(
      (await from('203.0.113.9', LOGIN, { u: 'quinn', p: 'quinn-password' }, { 'user-agent': ua })).data?.login,
    ).toBeTruthy();
    // Entries left of the one the load balancer appended came from the client: not believed.
    expect(
      (await from('192.0.2.66, 203.0.113.10', LOGIN, { u: 'quinn', p: 'quinn-password' }, { 'user-agent': ua })).data
        ?.login,
    ).toBeTruthy();
    // The stack's own gateway trusts no proxy: a client's X-Forwarded-For is ignored.
    expect(
      (
        await gql(
          stack.gateway.url,
          LOGIN,
          { u: 'quinn', p: 'quinn-password' },
          { 'x-forwarded-for': '192.0.2.77', 'user-agent': ua },
        )
      ).data?.login,
    ).toBeTruthy();
    const records = await stack.gql<{
      user: { loginRecords: { sourceIp: string; userAgent: string; success: boolean }[] };
    }>('{ user(username: "quinn") { loginRecords(first: 3) { sourceIp userAgent success } } }');
    expect(records.data!.user.loginRecords).toEqual([
      { sourceIp: '127.0.0.1', userAgent: ua, success: true },
      { sourceIp: '203.0.113.10', userAgent: ua, success: true },
      { sourceIp: '203.0.113.9', userAgent: ua, success: true },
    ]);
  });

  it('GATEWAY_TRUST_PROXY is validated', () => {
    const saved = process.env.GATEWAY_TRUST_PROXY;
    try {
      const value = (v: string | undefined) => {
        if (v === undefined) delete process.env.GATEWAY_TRUST_PROXY;
        else process.env.GATEWAY_TRUST_PROXY = v;
        return trustProxyFromEnv();
      };
      expect([value(undefined), value('false'), value('true'), value('2')]).toEqual([0, 0, 1, 2]);
      expect(() => value('sometimes')).toThrow(ConfigError);
      expect(() => value('sometimes')).toThrow(/GATEWAY_TRUST_PROXY/);
    } finally {
      if (saved === undefined) delete process.env.GATEWAY_TRUST_PROXY;
      else process.env.GATEWAY_TRUST_PROXY = saved;
    }
  });
});

describe('graphql-ws', () => {
  /** The close code of a connection whose connection_init carries `payload`, or 'ack' when it is accepted. */
  function connect(payload: Record<string, unknown> | undefined): Promise<number | 'ack'> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(stack.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', ...(payload ? { payload } : {}) })));
      ws.on('message', (m) => {
        if ((JSON.parse(String(m)) as { type: string }).type === 'connection_ack') {
          resolve('ack');
          ws.close();
        }
      });
      ws.on('close', (code) => resolve(code));
      ws.on('error', reject);
    });
  }

  it('closes 4401 for missing, invalid or ended credentials, 4403 for a user who may not act', async () => {
    const ok = await session('erin');
    expect(await connect({ authorization: `Bearer ${ok.accessToken}` })).toBe('ack');
    expect(await connect(undefined)).toBe(4401);
    expect(await connect({ authorization: 'Bearer not-a-token' })).toBe(4401);
    expect(await connect({ token: 'kgt_no-such-api-token' })).toBe(4401);
    // Expired: signed with accounts' own key, its lifetime over.
    const lapsed = new SigningKeys(stack.accounts.db, { ...stack.accounts.model.settings, accessTokenTtlSeconds: -60 });
    await lapsed.init();
    const uid = (await stack.accounts.model.users.roleBindings('erin'))!.uid;
    const expired = await lapsed.sign({ username: 'erin', uid, platform_role: 'platform-admin' }, 'a-session');
    expect((await stack.gqlAs(expired, ME)).errors?.[0].message).toMatch(/expired/);
    expect(await connect({ authorization: `Bearer ${expired}` })).toBe(4401);
    const ended = await session('erin');
    await stack.gqlAs(undefined, 'mutation($t: String!) { logout(refreshToken: $t) }', { t: ended.refreshToken });
    await eventually(
      async () => (await connect({ authorization: `Bearer ${ended.accessToken}` })) === 4401,
      10_000,
      'the ended session to be refused',
    );

    await createUser('rita');
    const rita = (
      await stack.gqlAs<{ createApiToken: { token: string } }>(
        (await session('rita')).accessToken,
        'mutation { createApiToken(name: "ws") { token } }',
      )
    ).data!.createApiToken.token;
    expect(await connect({ token: rita })).toBe('ack');
    await stack.gql('mutation { setUserState(username: "rita", state: DISABLED) { state } }');
    await eventually(async () => (await connect({ token: rita })) === 4403, 10_000, 'the disabled user to be refused');
  });
});

describe('graphql-ws connections that are already open', () => {
  /** A connection accepted with `payload`; `closed` resolves with its close code. */
  async function open(payload: Record<string, unknown>): Promise<{ closed: Promise<number>; ws: WebSocket }> {
    const ws = new WebSocket(stack.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload })));
      ws.on('message', (m) =>
        (JSON.parse(String(m)) as { type: string }).type === 'connection_ack' ? resolve() : undefined,
      );
      ws.on('error', reject);
      void closed.then((code) => reject(new Error(`closed ${code} before the ack`)));
    });
    return { closed, ws };
  }

  it('are closed 4401 when their session ends, and 4403 when their user is locked; other connections stay', async () => {
    await createUser('tess', 'platform-admin');
    const a = await session('tess');
    const b = await session('tess');
    const first = await open({ authorization: `Bearer ${a.accessToken}` });
    const second = await open({ authorization: `Bearer ${b.accessToken}` });
    let secondClosed: number | undefined;
    void second.closed.then((c) => (secondClosed = c));
    await stack.gqlAs(undefined, 'mutation($t: String!) { logout(refreshToken: $t) }', { t: a.refreshToken });
    expect(await first.closed).toBe(4401);
    expect(secondClosed).toBeUndefined();
    await stack.gql('mutation { setUserState(username: "tess", state: LOCKED) { state } }');
    expect(await second.closed).toBe(4403);
  });
});

describe('KUBEGRAPH_ADMIN_PASSWORD', () => {
  it('set on a database whose admin exists: one warning naming it at start, without the password', async () => {
    const lines: { level: string; message: string; fields: string }[] = [];
    const capture: Logger = {
      debug: () => {},
      info: (message, fields) => lines.push({ level: 'info', message, fields: JSON.stringify(fields ?? {}) }),
      warn: (message, fields) => lines.push({ level: 'warn', message, fields: JSON.stringify(fields ?? {}) }),
      error: (message, fields) => lines.push({ level: 'error', message, fields: JSON.stringify(fields ?? {}) }),
    };
    const db = await openDb({});
    const password = 'first-admin-password';
    try {
      const first = await startAccountsSubgraph({
        port: 0,
        db,
        log: quietLogger,
        adminPassword: password,
        settings: { scryptLogN: 10 },
      });
      await first.close();
      const second = await startAccountsSubgraph({
        port: 0,
        db,
        log: capture,
        adminPassword: 'another-admin-password',
        settings: { scryptLogN: 10 },
      });
      await second.close();
      const warnings = lines.filter((l) => l.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0].message).toContain('KUBEGRAPH_ADMIN_PASSWORD');
      expect(lines.some((l) => `${l.message} ${l.fields}`.includes('another-admin-password'))).toBe(false);
    } finally {
      await db.close();
    }
  });
});
