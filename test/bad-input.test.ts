// Bad input gets the right answer (issue 13, section 4): what the gateway says about requests it cannot run, as the
// GraphQL-over-HTTP specification and DESIGN.md's error model ask, judged by graphql-http's own audit too; no schema
// hints when introspection is off; NUL bytes in names are the caller's mistake, never a database error.
import { createHash } from 'node:crypto';
import { auditServer } from 'graphql-http';
import { Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../gateway/compose.js';
import { startGateway, type Gateway, type GatewayOptions } from '../gateway/gateway.js';
import { accountsAuthenticator } from '../gateway/identity.js';
import { startAccountsSubgraph, type AccountsSubgraph } from '../services/accounts/server.js';
import { quietLogger } from './harness/stack.js';
import { startBrokenServer, startTestSubgraph, type TestSubgraph } from './harness/subgraphs.js';

const FED = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])';
const SDL = `${FED}
  enum Phase { RUNNING PENDING }
  input PodFilter { name: String  phase: Phase }
  type Query { pods(filter: PodFilter): [Pod!]!  hello: String }
  type Mutation { applyYaml(yaml: String!): Int! }
  type Subscription { podChanged: Pod }
  type Pod @key(fields: "name") { name: String!  phase: Phase! }`;

interface Body {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function post(
  url: string,
  body: unknown,
  accept?: string,
): Promise<{ status: number; type: string; body: Body }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (accept) headers.accept = accept;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Body };
}

const codes = (b: Body) => (b.errors ?? []).map((e) => e.extensions?.code);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let subgraph: TestSubgraph;
let supergraphSdl: string;
const gateways: Gateway[] = [];
async function gatewayWith(opts: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const g = await startGateway({ port: 0, supergraphSdl, logger: quietLogger, readyCacheMs: 0, ...opts });
  gateways.push(g);
  return g;
}

beforeAll(async () => {
  subgraph = await startTestSubgraph('workloads', SDL, {
    Query: { pods: () => [{ name: 'p', phase: 'RUNNING' }], hello: () => 'world' },
    Mutation: { applyYaml: () => 1 },
    Subscription: { podChanged: { subscribe: async function* () {} } },
  });
  supergraphSdl = composeSupergraph([{ name: 'workloads', sdl: SDL, url: subgraph.url }]);
});

afterAll(async () => {
  for (const g of gateways) await g.close();
  await subgraph?.close();
});

describe('requests the gateway cannot run', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gatewayWith();
  });

  it('several operations without operationName: 400 BAD_USER_INPUT', async () => {
    const r = await post(gw.url, { query: 'query A { hello } query B { hello }' });
    expect(r.status).toBe(400);
    expect(codes(r.body)).toEqual(['BAD_USER_INPUT']);
    expect(r.body.data).toBeUndefined();
    // Naming one of them runs it.
    expect((await post(gw.url, { query: 'query A { hello } query B { hello }', operationName: 'B' })).body).toEqual({
      data: { hello: 'world' },
    });
  });

  it('an operationName the document does not have: 400 BAD_USER_INPUT', async () => {
    const r = await post(gw.url, { query: 'query A { hello }', operationName: 'C' });
    expect(r.status).toBe(400);
    expect(codes(r.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('a persisted query whose hash does not match its text: 400 PERSISTED_QUERY_HASH_MISMATCH', async () => {
    const r = await post(gw.url, {
      query: '{ hello }',
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ other }') } },
    });
    expect(r.status).toBe(400);
    expect(codes(r.body)).toEqual(['PERSISTED_QUERY_HASH_MISMATCH']);
    // The right hash is stored and then served by hash alone.
    const ok = await post(gw.url, {
      query: '{ hello }',
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ hello }') } },
    });
    expect(ok.body).toEqual({ data: { hello: 'world' } });
  });

  describe('parse and validation failures, by the media type the client accepts', () => {
    const failures = [
      ['a parse error', '{ hello', 'GRAPHQL_PARSE_FAILED'],
      ['a validation error', '{ nope }', 'GRAPHQL_VALIDATION_FAILED'],
    ] as const;
    for (const [what, query, code] of failures) {
      it(`${what}: 200 for Accept: application/json (the specification's legacy media type)`, async () => {
        const r = await post(gw.url, { query }, 'application/json');
        expect(r.status).toBe(200);
        expect(r.type).toMatch(/^application\/json/);
        expect(codes(r.body)).toEqual([code]);
        expect(r.body.data).toBeUndefined();
      });
      it(`${what}: 400 for Accept: application/graphql-response+json`, async () => {
        const r = await post(gw.url, { query }, 'application/graphql-response+json');
        expect(r.status).toBe(400);
        expect(r.type).toMatch(/^application\/graphql-response\+json/);
        expect(codes(r.body)).toEqual([code]);
        // Preferred over application/json, it wins; a wildcard alone names no media type and keeps the 400.
        expect(
          (await post(gw.url, { query }, 'application/json;q=0.9, application/graphql-response+json')).status,
        ).toBe(400);
        expect((await post(gw.url, { query }, '*/*')).status).toBe(400);
      });
    }
  });

  it("passes graphql-http's audit of the GraphQL-over-HTTP specification", async () => {
    const asked = new Set<string>();
    const results = await auditServer({
      url: gw.url,
      // The gateway's CSRF prevention wants a non-simple header on requests a browser could send cross-site
      // (what Apollo's clients send); the audit's requests are otherwise its own. Only the gateway is ever fetched.
      fetchFn: (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        asked.add(url.origin);
        const headers = new Headers(init?.headers);
        headers.set('apollo-require-preflight', 'true');
        return fetch(url, { ...init, headers });
      },
    });
    expect([...asked]).toEqual([new URL(gw.url).origin]);
    const failed = results.filter((r) => r.status !== 'ok').map((r) => `${r.status} ${r.id}: ${r.name} (${r.reason})`);
    expect(failed).toEqual([]);
  });
});

describe('with introspection off (NODE_ENV=production)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gatewayWith({ introspection: false });
  });

  it('validation errors suggest no field, argument or type names', async () => {
    for (const query of [
      'mutation { applyYam(yaml: "") }',
      '{ pods(filtr: {}) { name } }',
      '{ pods { nme } }',
      'query($f: PodFiltr) { pods(filter: $f) { name } }',
    ]) {
      const r = await post(gw.url, { query });
      expect(r.body.errors?.length, query).toBeGreaterThan(0);
      for (const e of r.body.errors ?? []) expect(e.message, query).not.toMatch(/did you mean/i);
    }
  });

  it('nor do variable values (enum values, input fields)', async () => {
    const query = 'query($f: PodFilter) { pods(filter: $f) { name } }';
    for (const f of [{ phase: 'RUNING' }, { nam: 'p' }]) {
      const r = await post(gw.url, { query, variables: { f } });
      expect(codes(r.body)).toEqual(['BAD_USER_INPUT']);
      expect(r.body.errors?.[0].message).not.toMatch(/did you mean/i);
    }
  });

  it('nor do subscriptions over graphql-ws', async () => {
    const client: Client = createClient({
      url: gw.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: {},
      retryAttempts: 0,
      lazy: true,
    });
    try {
      const errors = await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: 'subscription { podChangd { name } }' },
          { next: () => {}, error: resolve, complete: () => resolve(undefined) },
        );
      });
      expect(JSON.stringify(errors)).toContain('Cannot query field \\"podChangd\\"');
      expect(JSON.stringify(errors)).not.toMatch(/did you mean/i);
    } finally {
      await client.dispose();
    }
  });

  it('with introspection on, suggestions stay (a developer aid)', async () => {
    const on = await gatewayWith({ introspection: true });
    const r = await post(on.url, { query: 'mutation { applyYam(yaml: "") }' });
    expect(r.body.errors?.[0].message).toMatch(/Did you mean "applyYaml"\?/);
  });
});

describe('NUL bytes in names (accounts on PGlite, through the gateway)', () => {
  const INTERNAL = 'bad-input-test-internal-token';
  const SECRET = 'bad-input-test-identity-secret';
  const PASSWORD = 'bad-input-admin-password';
  let accounts: AccountsSubgraph;
  let gw: Gateway;
  let auth: Record<string, string>;

  const gql = async (
    query: string,
    variables: Record<string, unknown> = {},
    headers: Record<string, string> = auth,
  ) => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, body: (await res.json()) as Body };
  };

  beforeAll(async () => {
    accounts = await startAccountsSubgraph({
      port: 0,
      log: quietLogger,
      adminPassword: PASSWORD,
      internalToken: INTERNAL,
      identitySecret: SECRET,
      settings: { scryptLogN: 10 },
    });
    // The real supergraph; every other subgraph is a closed port (their fields are not asked for here).
    const closed = await startBrokenServer(500);
    await closed.close();
    gw = await gatewayWith({
      supergraphSdl: undefined,
      identitySecret: SECRET,
      authenticator: accountsAuthenticator({
        accountsUrl: accounts.baseUrl,
        internalToken: INTERNAL,
        bindingsCheckMs: 0,
      }),
      subgraphUrls: {
        accounts: accounts.url,
        workloads: closed.url,
        monitoring: closed.url,
        logging: closed.url,
        apps: closed.url,
      },
    });
    const login = await gql(
      'mutation($p: String!) { login(username: "admin", password: $p) { accessToken } }',
      { p: PASSWORD },
      {},
    );
    auth = { authorization: `Bearer ${(login.body.data?.login as { accessToken: string }).accessToken}` };
  });

  afterAll(async () => {
    await accounts?.close();
  });

  it('login answers the generic failure, as for any wrong username', async () => {
    const wrong = await gql(
      'mutation($u: String!) { login(username: $u, password: "whatever-password") { accessToken } }',
      { u: 'nobody' },
      {},
    );
    for (const u of ['admin\u0000', '\u0000', 'ad\u0000min']) {
      const r = await gql(
        'mutation($u: String!) { login(username: $u, password: "whatever-password") { accessToken } }',
        { u },
        {},
      );
      expect(codes(r.body), JSON.stringify(u)).toEqual(codes(wrong.body));
      expect(r.body.errors?.[0].message).toBe(wrong.body.errors?.[0].message);
    }
    expect(codes(wrong.body)).toEqual(['UNAUTHENTICATED']);
  });

  it('user, workspace and the mutations taking names answer BAD_USER_INPUT, never a database message', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['query($n: String!) { user(username: $n) { username } }', { n: 'admin\u0000' }],
      ['query($n: String!) { workspace(name: $n) { name } }', { n: 'demo\u0000' }],
      ['mutation($n: String!) { createWorkspace(name: $n) { name } }', { n: 'w\u0000' }],
      ['mutation($n: String!) { deleteUser(username: $n) }', { n: 'x\u0000' }],
      [
        'mutation($n: String!) { createUser(input: { username: "nul-user", password: "a-long-password-1", displayName: $n }) { username } }',
        { n: 'Nul\u0000' },
      ],
      [
        'mutation($n: String!) { createUser(input: { username: "nul-user2", password: "a-long-password-1", email: $n }) { username } }',
        { n: 'a\u0000@example.com' },
      ],
    ];
    for (const [query, variables] of cases) {
      const r = await gql(query, variables);
      expect(codes(r.body), query).toEqual(['BAD_USER_INPUT']);
      expect(r.body.errors?.[0].message, query).not.toMatch(/byte sequence|encoding|0x00|invalid input syntax/i);
    }
  });
});
