// The gateway in front of real subgraphs over HTTP: federation, partial results when a subgraph fails, readiness,
// metrics and logs, protections against abusive queries, persisted queries and query plans shared through Redis.
import { createHash, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { getIntrospectionQuery } from 'graphql';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../gateway/compose.js';
import { gatewayOptionsFromEnv } from '../gateway/config.js';
import { ConfigError } from '../services/common/config.js';
import { startGateway, type Gateway, type GatewayOptions } from '../gateway/gateway.js';
import { notFoundError } from '../services/common/errors.js';
import { deleteByPrefix } from '../services/common/redis.js';
import { createLogger, type Logger } from '../services/common/log.js';
import { eventually } from './harness/sandbox.js';
import { startBrokenServer, startTestSubgraph, type TestSubgraph } from './harness/subgraphs.js';

const FED = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])';
const WORKLOADS_SDL = `${FED}
  type Query { pods(first: Int): [Pod!]!  pod(namespace: String!, name: String!): Pod  echo(token: String): String  held: String }
  type Mutation { restart(name: String!): Int! }
  type Pod @key(fields: "namespace name") { namespace: String!  name: String!  phase: String!  related(first: Int): [Pod!]!  labels: [String!]! }`;
const MONITORING_SDL = `${FED}
  type Query { alerts: [String!] }
  type Pod @key(fields: "namespace name") { namespace: String!  name: String!  cpu: Float }`;

interface PodRef {
  namespace: string;
  name: string;
}
const PODS: (PodRef & { phase: string })[] = Array.from({ length: 5 }, (_, i) => ({
  namespace: 'shop',
  name: `pod-${i}`,
  phase: 'Running',
}));
const slice = (first: number | null | undefined) => PODS.slice(0, first ?? PODS.length);

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: GraphQLBody }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as GraphQLBody };
}

function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const push = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    lines.push({ level, msg, ...fields });
  return { lines, logger: { debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') } };
}

/** The value of a Prometheus sample with (at least) these labels, in any order. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** Runs f (synchronous) with these variables set, or unset where undefined; the environment is restored after. */
function withEnv<T>(env: Record<string, string | undefined>, f: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(env);
  try {
    return f();
  } finally {
    apply(saved);
  }
}

const metricsText = async (g: Gateway) => (await fetch(g.url.replace(/\/graphql$/, '/metrics'))).text();

const codes = (b: GraphQLBody) => (b.errors ?? []).map((e) => e.extensions?.code);

/** `held` resolves only when the test opens the gate: a request kept in a slow subgraph for as long as needed. */
const hold = { arrived: 0, gate: Promise.resolve() };
/** Closes the gate (and counts arrivals from zero); returns what opens it. */
function holdSubgraph(): () => void {
  let open = () => {};
  hold.gate = new Promise<void>((r) => {
    open = r;
  });
  hold.arrived = 0;
  return () => open();
}
/** Every `restart` mutation the workloads subgraph executed. */
const restarts: string[] = [];

let workloads: TestSubgraph;
let monitoring: TestSubgraph;
let supergraphSdl: string;
const gateways: Gateway[] = [];
const closers: (() => Promise<void>)[] = [];

async function gatewayWith(opts: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const g = await startGateway({ port: 0, supergraphSdl, logger: capture().logger, readyCacheMs: 0, ...opts });
  gateways.push(g);
  return g;
}

/** A URL where nothing listens (connection refused). */
async function refusedUrl(): Promise<string> {
  const s = await startBrokenServer(500);
  await s.close();
  return s.url;
}

beforeAll(async () => {
  workloads = await startTestSubgraph('workloads', WORKLOADS_SDL, {
    Query: {
      pods: (_: unknown, a: { first?: number }) => slice(a.first),
      pod: (_: unknown, a: PodRef) => {
        const pod = PODS.find((p) => p.namespace === a.namespace && p.name === a.name);
        if (!pod) throw notFoundError(`pod ${a.namespace}/${a.name} not found`);
        return pod;
      },
      echo: (_: unknown, a: { token?: string }) => (a.token ? 'ok' : null),
      held: async () => {
        hold.arrived++;
        await hold.gate;
        return 'released';
      },
    },
    Mutation: {
      restart: (_: unknown, a: { name: string }) => restarts.push(a.name),
    },
    Pod: {
      __resolveReference: (ref: PodRef) => PODS.find((p) => p.name === ref.name) ?? null,
      related: (_: unknown, a: { first?: number }) => slice(a.first),
      labels: () => ['app=shop'],
    },
  });
  monitoring = await startTestSubgraph('monitoring', MONITORING_SDL, {
    Query: { alerts: () => ['HighCPU'] },
    Pod: { __resolveReference: (ref: PodRef) => ({ ...ref, cpu: 0.25 }) },
  });
  supergraphSdl = composeSupergraph([
    { name: 'workloads', sdl: WORKLOADS_SDL, url: workloads.url },
    { name: 'monitoring', sdl: MONITORING_SDL, url: monitoring.url },
  ]);
});

afterAll(async () => {
  for (const g of gateways) await g.close();
  for (const c of closers) await c();
  await workloads?.close();
  await monitoring?.close();
});

describe('gateway over two subgraphs', () => {
  let gw: Gateway;
  const logs = process.env.DEBUG_GW
    ? { lines: [], logger: { debug: console.log, info: console.log, warn: console.log, error: console.log } }
    : capture();
  beforeAll(async () => {
    gw = await gatewayWith({ logger: logs.logger });
  });

  it('resolves a query across both subgraphs over POST and GET', async () => {
    const q = 'query Pods { pods(first: 2) { name phase cpu } alerts }';
    const r = await post(gw.url, { query: q, operationName: 'Pods' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      data: {
        pods: [
          { name: 'pod-0', phase: 'Running', cpu: 0.25 },
          { name: 'pod-1', phase: 'Running', cpu: 0.25 },
        ],
        alerts: ['HighCPU'],
      },
    });

    const res = await fetch(`${gw.url}?query=${encodeURIComponent(q)}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as GraphQLBody).data?.alerts).toEqual(['HighCPU']);
  });

  it('answers /healthz, and /readyz only while every subgraph is ready', async () => {
    const base = gw.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    monitoring.setReady(false);
    try {
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
    } finally {
      monitoring.setReady(true);
    }
    await eventually(async () => (await fetch(`${base}/readyz`)).status === 200, 5_000, 'ready again');
  });

  it('reuses a readiness answer for readyCacheMs', async () => {
    const cached = await gatewayWith({ readyCacheMs: 60_000 });
    expect(await cached.ready()).toBe(true);
    workloads.setReady(false);
    try {
      expect(await cached.ready()).toBe(true);
    } finally {
      workloads.setReady(true);
    }
  });

  it('exports request, duration, subgraph fetch and in-flight metrics', async () => {
    await post(gw.url, { query: 'query Pods { pods(first: 2) { name cpu } }', operationName: 'Pods' });
    const text = await (await fetch(gw.url.replace(/\/graphql$/, '/metrics'))).text();
    expect(
      sample(text, 'kubegraph_gateway_requests_total', { operation: 'Pods', outcome: 'success' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'kubegraph_gateway_request_duration_seconds_count', { operation: 'Pods', outcome: 'success' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'kubegraph_gateway_subgraph_fetch_duration_seconds_count', { service: 'monitoring', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'kubegraph_gateway_subgraph_fetch_duration_seconds_count', { service: 'workloads', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'kubegraph_gateway_requests_in_flight', {})).toBe(0);
  });

  it('counts the requests in flight while a slow subgraph holds them, and none once they are answered or abandoned', async () => {
    const g = await gatewayWith();
    const inFlight = async () => sample(await metricsText(g), 'kubegraph_gateway_requests_in_flight', {});
    expect(await inFlight()).toBe(0);
    const open = holdSubgraph();
    const query = 'query Held { held alerts }';
    // Three clients (their user agents, forwarded to the subgraph): identical fetches of one would share a request.
    try {
      const one = post(g.url, { query, operationName: 'Held' }, { 'user-agent': 'client-1' });
      await eventually(() => hold.arrived === 1, 5_000, 'one request held in the subgraph');
      expect(await inFlight()).toBe(1);
      const two = post(g.url, { query, operationName: 'Held' }, { 'user-agent': 'client-2' });
      // A client that gives up: its request stays in the gateway until the subgraph answers, then is counted out.
      const quitter = new AbortController();
      const abandoned = fetch(g.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'client-3' },
        body: JSON.stringify({ query }),
        signal: quitter.signal,
      }).then(
        () => 'answered',
        () => 'abandoned',
      );
      await eventually(() => hold.arrived === 3, 5_000, 'three requests held in the subgraph');
      expect(await inFlight()).toBe(3);
      quitter.abort();
      expect(await abandoned).toBe('abandoned');
      open();
      for (const r of await Promise.all([one, two]))
        expect(r.body).toEqual({ data: { held: 'released', alerts: ['HighCPU'] } });
      await eventually(async () => (await inFlight()) === 0, 5_000, 'no request in flight');
    } finally {
      open();
      hold.gate = Promise.resolve();
    }
  });

  it('sends identical queries in flight to the subgraph once, and each client gets the whole answer', async () => {
    const g = await gatewayWith();
    const inFlight = async () => sample(await metricsText(g), 'kubegraph_gateway_requests_in_flight', {});
    const open = holdSubgraph();
    const query = 'query Held { held alerts }';
    try {
      const same = { 'user-agent': 'same-client' };
      const first = post(g.url, { query, operationName: 'Held' }, { ...same, 'x-request-id': 'held-1' });
      await eventually(() => hold.arrived === 1, 5_000, 'one request held in the subgraph');
      const second = post(g.url, { query, operationName: 'Held' }, { ...same, 'x-request-id': 'held-2' });
      await eventually(async () => (await inFlight()) === 2, 5_000, 'two requests in the gateway');
      expect(hold.arrived).toBe(1);
      open();
      for (const r of await Promise.all([first, second]))
        expect(r.body).toEqual({ data: { held: 'released', alerts: ['HighCPU'] } });
      expect(hold.arrived).toBe(1);
      // Once answered, the same query asks the subgraph again.
      expect((await post(g.url, { query, operationName: 'Held' }, same)).body.data).toEqual({
        held: 'released',
        alerts: ['HighCPU'],
      });
      expect(hold.arrived).toBe(2);
    } finally {
      open();
      hold.gate = Promise.resolve();
    }
  });

  it('logs one JSON line per request with operation name, duration and error codes, never variables', async () => {
    const secret = `s3cret-${randomUUID()}`;
    await post(
      gw.url,
      {
        query: 'query Echo($token: String) { echo(token: $token) }',
        operationName: 'Echo',
        variables: { token: secret },
      },
      { 'x-request-id': 'req-echo-1' },
    );
    await post(gw.url, { query: '{ nope }' }, { 'x-request-id': 'req-bad-1' });
    const echo = await eventually(
      () => logs.lines.find((l) => l.requestId === 'req-echo-1'),
      5_000,
      'the Echo log line',
    );
    expect(echo).toMatchObject({
      msg: 'graphql request',
      operation: 'Echo',
      operationType: 'query',
      outcome: 'success',
      status: 200,
    });
    expect(typeof echo.durationMs).toBe('number');
    const bad = await eventually(
      () => logs.lines.find((l) => l.requestId === 'req-bad-1'),
      5_000,
      'the failed request log line',
    );
    expect(bad).toMatchObject({ outcome: 'error', status: 400, errorCodes: ['GRAPHQL_VALIDATION_FAILED'] });
    expect(logs.lines.filter((l) => l.requestId === 'req-echo-1')).toHaveLength(1);
    expect(JSON.stringify(logs.lines)).not.toContain(secret);
  });
});

describe('the request log, as the real JSON logger writes it', () => {
  it('is one JSON line per GraphQL request, with operation, outcome and duration, never the query text or variables', async () => {
    let out = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        out += chunk.toString('utf8');
        done();
      },
    });
    const logger = withEnv({ LOG_LEVEL: 'info' }, () => createLogger('gateway', (line) => stream.write(`${line}\n`)));
    const g = await gatewayWith({ logger });
    const secret = `s3cret-${randomUUID()}`;
    const badSecret = `hunter2-${randomUUID()}`;
    const literal = `nope-${randomUUID().slice(0, 8)}`;

    const echo = await post(
      g.url,
      {
        query: 'query Echo($token: String) { echo(token: $token) }',
        operationName: 'Echo',
        variables: { token: secret },
      },
      { 'x-request-id': 'log-echo' },
    );
    expect(echo.body).toEqual({ data: { echo: 'ok' } });
    // A variable that fails coercion: the error message sent back quotes its value; the log must not.
    const bad = await post(
      g.url,
      { query: 'query Page($n: Int) { pods(first: $n) { name } }', operationName: 'Page', variables: { n: badSecret } },
      { 'x-request-id': 'log-page' },
    );
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain(badSecret);
    // A partial answer whose error message quotes a literal of the query text.
    const missing = await post(
      g.url,
      {
        query: `query Missing { pod(namespace: "shop", name: "${literal}") { name } alerts }`,
        operationName: 'Missing',
      },
      { 'x-request-id': 'log-missing' },
    );
    expect(missing.body.data).toEqual({ pod: null, alerts: ['HighCPU'] });
    expect(JSON.stringify(missing.body)).toContain(literal);

    await eventually(
      () => out.split('\n').filter((l) => l.includes('"graphql request"')).length >= 3,
      5_000,
      'three request lines',
    );
    expect(out.endsWith('\n')).toBe(true);
    const lines = out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = lines.filter((l) => l.msg === 'graphql request');
    expect(requests).toHaveLength(3);
    const allowed = new Set([
      'time',
      'level',
      'service',
      'msg',
      'requestId',
      'operation',
      'operationType',
      'queryHash',
      'outcome',
      'status',
      'durationMs',
      'errorCodes',
      'services',
    ]);
    for (const l of requests) {
      expect(l).toMatchObject({ level: 'info', service: 'gateway', operationType: 'query' });
      expect(Number.isNaN(Date.parse(String(l.time)))).toBe(false);
      expect(typeof l.durationMs).toBe('number');
      expect(l.durationMs).toBeGreaterThanOrEqual(0);
      expect(Object.keys(l).filter((k) => !allowed.has(k))).toEqual([]);
    }
    expect(requests[0]).toMatchObject({ requestId: 'log-echo', operation: 'Echo', outcome: 'success', status: 200 });
    expect(requests[1]).toMatchObject({
      requestId: 'log-page',
      operation: 'Page',
      outcome: 'error',
      status: 400,
      errorCodes: ['BAD_USER_INPUT'],
    });
    expect(requests[2]).toMatchObject({
      operation: 'Missing',
      outcome: 'partial',
      status: 200,
      errorCodes: ['NOT_FOUND'],
      services: ['workloads'],
    });
    for (const never of [secret, badSecret, literal, 'echo(token', 'pods(first', 'shop'])
      expect(out).not.toContain(never);
  });
});

describe('a failing subgraph', () => {
  const query = 'query Pods { pods(first: 2) { name cpu } alerts }';
  const expectPartial = (body: GraphQLBody) => {
    expect(body.data).toEqual({
      pods: [
        { name: 'pod-0', cpu: null },
        { name: 'pod-1', cpu: null },
      ],
      alerts: null,
    });
    expect(body.errors?.length).toBeGreaterThan(0);
    for (const e of body.errors ?? []) {
      expect(e.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', service: 'monitoring' });
      expect(e.extensions).not.toHaveProperty('response');
      expect(e.message).toMatch(/service "monitoring" is unavailable/);
    }
    expect(body.errors?.map((e) => e.path)).toEqual(expect.arrayContaining([['alerts'], ['pods', 0, 'cpu']]));
  };

  it('unreachable (connection refused): UPSTREAM_UNAVAILABLE for its fields, the rest resolves', async () => {
    const gw = await gatewayWith({ subgraphUrls: { monitoring: await refusedUrl() } });
    const r = await post(gw.url, { query, operationName: 'Pods' });
    expect(r.status).toBe(200);
    expectPartial(r.body);
    expect((await fetch(gw.url.replace(/\/graphql$/, '/readyz'))).status).toBe(503);
    const text = await (await fetch(gw.url.replace(/\/graphql$/, '/metrics'))).text();
    expect(sample(text, 'kubegraph_gateway_requests_total', { operation: 'Pods', outcome: 'partial' })).toBe(1);
    expect(
      sample(text, 'kubegraph_gateway_subgraph_fetch_duration_seconds_count', {
        service: 'monitoring',
        outcome: 'unavailable',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('answering HTTP 500 with a non-GraphQL body: the same', async () => {
    const broken = await startBrokenServer(500);
    closers.push(broken.close);
    const gw = await gatewayWith({ subgraphUrls: { monitoring: broken.url } });
    expectPartial((await post(gw.url, { query, operationName: 'Pods' })).body);
  });

  it('not answering in time: the same', async () => {
    const { createServer } = await import('node:http');
    const hung = createServer(() => {});
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    closers.push(
      () =>
        new Promise((r) => {
          hung.closeAllConnections();
          hung.close(() => r());
        }),
    );
    const port = (hung.address() as { port: number }).port;
    const gw = await gatewayWith({
      subgraphUrls: { monitoring: `http://127.0.0.1:${port}/graphql` },
      subgraphTimeoutMs: 300,
    });
    const r = await post(gw.url, { query, operationName: 'Pods' });
    expectPartial(r.body);
    expect(r.body.errors?.[0].message).toMatch(/within 300 ms/);
  });

  it("passes the subgraph's own GraphQL errors through with their codes", async () => {
    const gw = await gatewayWith();
    const r = await post(gw.url, { query: '{ pod(namespace: "shop", name: "nope") { name } alerts }' });
    expect(r.body.data).toEqual({ pod: null, alerts: ['HighCPU'] });
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors?.[0]).toMatchObject({
      message: 'pod shop/nope not found',
      path: ['pod'],
      extensions: { code: 'NOT_FOUND', service: 'workloads' },
    });
  });
});

describe('protections', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gatewayWith();
  });

  it('refuses a query deeper than the maximum depth with QUERY_TOO_DEEP', async () => {
    const deep = `{ pods { ${'related { '.repeat(20)}name${' }'.repeat(20)} } }`;
    const r = await post(gw.url, { query: deep });
    expect(r.status).toBe(400);
    expect(codes(r.body)).toContain('QUERY_TOO_DEEP');
    // Through fragments too.
    const frag = `{ pods { ...A } } fragment A on Pod { related(first: 1) { ...B } } fragment B on Pod { ${'related(first: 1) { '.repeat(14)}name${' }'.repeat(14)} }`;
    expect(codes((await post(gw.url, { query: frag })).body)).toContain('QUERY_TOO_DEEP');
    const ok = `{ pods(first: 1) { ${'related(first: 1) { '.repeat(5)}name${' }'.repeat(5)} } }`;
    expect((await post(gw.url, { query: ok })).body.errors).toBeUndefined();
  });

  it('refuses more aliases than the maximum with TOO_MANY_ALIASES', async () => {
    const many = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: alerts`).join(' ')} }`;
    const r = await post(gw.url, { query: many });
    expect(r.status).toBe(400);
    expect(codes(r.body)).toEqual(['TOO_MANY_ALIASES']);
    // Fragment spreads count each time they are used.
    const viaFragments = `{ pods(first: 1) { ${Array.from({ length: 8 }, (_, i) => `p${i}: related(first: 1) { ...F }`).join(' ')} } } fragment F on Pod { x: name y: phase z: namespace }`;
    expect(codes((await post(gw.url, { query: viaFragments })).body)).toEqual(['TOO_MANY_ALIASES']);
  });

  it('refuses a query above the cost budget with QUERY_TOO_COSTLY, with literal and variable page sizes', async () => {
    const costly = '{ pods(first: 1000) { related(first: 1000) { name labels } } }';
    const r = await post(gw.url, { query: costly });
    expect(r.status).toBe(400);
    expect(codes(r.body)).toEqual(['QUERY_TOO_COSTLY']);
    expect(r.body.errors?.[0].extensions).toMatchObject({ maxCost: 50_000 });

    const byVariables = 'query Costly($n: Int) { pods(first: $n) { related(first: $n) { name } } }';
    const v = await post(gw.url, { query: byVariables, operationName: 'Costly', variables: { n: 1000 } });
    expect(v.status).toBe(400);
    expect(codes(v.body)).toEqual(['QUERY_TOO_COSTLY']);
    const cheap = await post(gw.url, { query: byVariables, operationName: 'Costly', variables: { n: 3 } });
    expect(cheap.status).toBe(200);
    expect(cheap.body.errors).toBeUndefined();
    // Guessing 50 per unknown page size would refuse this (50 × 50 × 50 > 50,000); its real cost is small.
    const nested = 'query Nested($n: Int) { pods(first: $n) { related(first: $n) { related(first: $n) { name } } } }';
    const small = await post(gw.url, { query: nested, operationName: 'Nested', variables: { n: 2 } });
    expect(small.body.errors).toBeUndefined();
    expect(codes((await post(gw.url, { query: nested, operationName: 'Nested', variables: { n: 100 } })).body)).toEqual(
      ['QUERY_TOO_COSTLY'],
    );
  });

  it('limits are configurable', async () => {
    const lenient = await gatewayWith({ limits: { maxDepth: 30, maxAliases: 100, maxCost: 10_000_000 } });
    const deep = `{ pods(first: 1) { ${'related(first: 1) { '.repeat(20)}name${' }'.repeat(20)} } }`;
    expect((await post(lenient.url, { query: deep })).body.errors).toBeUndefined();
    const strict = await gatewayWith({ limits: { maxCost: 5 } });
    expect(codes((await post(strict.url, { query: '{ pods(first: 10) { name } }' })).body)).toEqual([
      'QUERY_TOO_COSTLY',
    ]);
  });

  it('refuses a request body above the size limit with 413 and a GraphQL error', async () => {
    const r = await post(gw.url, { query: `{ alerts } # ${'x'.repeat(200 * 1024)}` });
    expect(r.status).toBe(413);
    expect(codes(r.body)).toEqual(['PAYLOAD_TOO_LARGE']);
    // A GET carries its query in the URL; the same limit applies (here below Node's 16 KB header limit).
    const small = await gatewayWith({ maxBodyBytes: 2048 });
    const res = await fetch(`${small.url}?query=${'%20'.repeat(1024)}{alerts}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(413);
    expect(codes((await res.json()) as GraphQLBody)).toEqual(['PAYLOAD_TOO_LARGE']);
  });

  it('prevents CSRF: simple GET and text/plain POST requests are refused', async () => {
    const get = await fetch(`${gw.url}?query=${encodeURIComponent('{ alerts }')}`);
    expect(get.status).toBe(400);
    const form = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ alerts }' }),
    });
    expect(form.status).toBe(400);
    // Refused before Apollo's request pipeline, they are still counted.
    const text = await (await fetch(gw.url.replace(/\/graphql$/, '/metrics'))).text();
    expect(
      sample(text, 'kubegraph_gateway_requests_total', { operation: 'unknown', outcome: 'rejected' }),
    ).toBeGreaterThanOrEqual(2);
  });

  it('refuses a mutation sent with GET (405, Allow: POST) without running it; over POST it runs', async () => {
    const before = restarts.length;
    const get = (query: string, operationName?: string) =>
      fetch(`${gw.url}?query=${encodeURIComponent(query)}${operationName ? `&operationName=${operationName}` : ''}`, {
        headers: { 'apollo-require-preflight': 'true' },
      });
    const res = await get('mutation Restart { restart(name: "pod-0") }');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    const body = (await res.json()) as GraphQLBody;
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0].message).toMatch(/GET requests only support query operations/);
    // One document with a query and a mutation: GET may select the query, never the mutation.
    const both = 'query Read { alerts } mutation Write { restart(name: "pod-1") }';
    expect((await get(both, 'Write')).status).toBe(405);
    const read = await get(both, 'Read');
    expect(read.status).toBe(200);
    expect(((await read.json()) as GraphQLBody).data).toEqual({ alerts: ['HighCPU'] });
    expect(restarts.slice(before)).toEqual([]);
    // The subgraph does count mutations that reach it.
    const posted = await post(gw.url, {
      query: 'mutation Restart { restart(name: "pod-0") }',
      operationName: 'Restart',
    });
    expect(posted.body).toEqual({ data: { restart: before + 1 } });
    expect(restarts.slice(before)).toEqual(['pod-0']);
  });

  it('serves introspection (the standard query passes the limits) unless switched off', async () => {
    const on = await post(gw.url, { query: getIntrospectionQuery() });
    expect(on.body.errors).toBeUndefined();
    expect(JSON.stringify(on.body.data)).toContain('"Pod"');
    const closed = await gatewayWith({ introspection: false });
    const off = await post(closed.url, { query: '{ __schema { types { name } } }' });
    expect(off.status).toBe(400);
    expect(off.body.errors?.[0].message).toMatch(/introspection/i);
    expect((await post(closed.url, { query: '{ alerts }' })).body.data).toEqual({ alerts: ['HighCPU'] });
  });
});

describe('persisted queries and query plans', () => {
  const query = 'query Persisted { pods(first: 1) { name cpu } }';
  const sha256Hash = createHash('sha256').update(query).digest('hex');
  const ext = { persistedQuery: { version: 1, sha256Hash } };

  it('works in memory without Redis', async () => {
    const gw = await gatewayWith();
    expect(codes((await post(gw.url, { extensions: ext })).body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expect((await post(gw.url, { query, extensions: ext })).body.data).toEqual({
      pods: [{ name: 'pod-0', cpu: 0.25 }],
    });
    expect((await post(gw.url, { extensions: ext })).body.data).toEqual({ pods: [{ name: 'pod-0', cpu: 0.25 }] });
  });

  it('keeps answering when Redis is unreachable (caches degrade to misses)', async () => {
    const down = (await refusedUrl()).replace(/^http:\/\/([^/]+)\/graphql$/, 'redis://$1');
    const gw = await gatewayWith({ redisUrl: down, redisKeyPrefix: `kubegraph-test:${randomUUID()}:` });
    const r = await post(gw.url, { query, extensions: ext, operationName: 'Persisted' });
    expect(r.body).toEqual({ data: { pods: [{ name: 'pod-0', cpu: 0.25 }] } });
  });

  describe('in Redis, shared by replicas', () => {
    const prefix = `kubegraph-test:${randomUUID()}:`;
    const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    let redis: Redis;
    beforeAll(() => {
      redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    });
    afterAll(async () => {
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    });

    it('hash only → PERSISTED_QUERY_NOT_FOUND; register; then hash only works, also on a second gateway', async () => {
      const a = await gatewayWith({ redisUrl, redisKeyPrefix: prefix });
      const b = await gatewayWith({ redisUrl, redisKeyPrefix: prefix });
      const miss = await post(a.url, { extensions: ext });
      expect(codes(miss.body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
      const registered = await post(a.url, { query, extensions: ext, operationName: 'Persisted' });
      expect(registered.body.data).toEqual({ pods: [{ name: 'pod-0', cpu: 0.25 }] });
      expect(await redis.exists(`${prefix}apq:apq:${sha256Hash}`)).toBe(1);
      expect((await post(a.url, { extensions: ext })).body.data).toEqual({ pods: [{ name: 'pod-0', cpu: 0.25 }] });
      // The other replica never saw the query text: it finds it in Redis, and the query plan too.
      const other = await post(b.url, { extensions: ext, operationName: 'Persisted' });
      expect(other.body).toEqual({ data: { pods: [{ name: 'pod-0', cpu: 0.25 }] } });
      const metrics = await (await fetch(b.url.replace(/\/graphql$/, '/metrics'))).text();
      expect(sample(metrics, 'kubegraph_gateway_query_plan_cache_total', { result: 'hit' })).toBeGreaterThanOrEqual(1);
      expect(sample(metrics, 'kubegraph_gateway_query_plan_cache_total', { result: 'miss' })).toBeUndefined();
      expect((await redis.keys(`${prefix}plan:*`)).length).toBeGreaterThan(0);
      expect(await redis.ttl(`${prefix}apq:apq:${sha256Hash}`)).toBeGreaterThan(0);
    });
  });
});

describe('configuration from the environment', () => {
  it('reads subgraph URLs, limits, Redis and introspection', () => {
    const opts = withEnv(
      {
        WORKLOADS_URL: 'http://workloads:4002/graphql',
        GATEWAY_MAX_DEPTH: '9',
        GATEWAY_MAX_COST: '1000',
        REDIS_URL: 'redis://127.0.0.1:6379/2',
        GRAPHQL_INTROSPECTION: 'false',
        GATEWAY_PORT: '4100',
      },
      gatewayOptionsFromEnv,
    );
    expect(opts).toMatchObject({
      port: 4100,
      subgraphUrls: { workloads: 'http://workloads:4002/graphql' },
      redisUrl: 'redis://127.0.0.1:6379/2',
      introspection: false,
      limits: { maxDepth: 9, maxCost: 1000, maxAliases: 30 },
    });
  });

  it('switches introspection off by default under NODE_ENV=production, and a gateway so configured refuses it', async () => {
    const prod = withEnv({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: undefined }, gatewayOptionsFromEnv);
    expect(prod.introspection).toBe(false);
    // Elsewhere it is on by default, and the variable wins over NODE_ENV.
    expect(
      withEnv({ NODE_ENV: 'development', GRAPHQL_INTROSPECTION: undefined }, gatewayOptionsFromEnv).introspection,
    ).toBe(true);
    expect(
      withEnv({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' }, gatewayOptionsFromEnv).introspection,
    ).toBe(true);

    // The production options as loaded, with this test's subgraphs, port and no accounts behind the gateway.
    const gw = await gatewayWith({
      ...prod,
      port: 0,
      host: '127.0.0.1',
      subgraphUrls: undefined,
      redisUrl: undefined,
      authenticator: undefined,
      identitySecret: undefined,
    });
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Pod") { fields { name } } }']) {
      const r = await post(gw.url, { query });
      expect(r.status).toBe(400);
      expect(r.body.data).toBeUndefined();
      expect(r.body.errors?.[0].message).toMatch(/introspection/i);
    }
    expect(
      (await post(gw.url, { query: 'query Pods { pods(first: 1) { name cpu } }', operationName: 'Pods' })).body,
    ).toEqual({ data: { pods: [{ name: 'pod-0', cpu: 0.25 }] } });
  });

  it('stops on a bad value with a message naming the variable', () => {
    expect(() => withEnv({ WORKLOADS_URL: 'not a url' }, gatewayOptionsFromEnv)).toThrow(ConfigError);
    expect(() => withEnv({ WORKLOADS_URL: 'not a url' }, gatewayOptionsFromEnv)).toThrow(/WORKLOADS_URL/);
    expect(() => withEnv({ GATEWAY_MAX_ALIASES: '-1' }, gatewayOptionsFromEnv)).toThrow(/GATEWAY_MAX_ALIASES/);
    expect(() => withEnv({ REDIS_URL: 'localhost:6379' }, gatewayOptionsFromEnv)).toThrow(/REDIS_URL/);
    expect(() => withEnv({ GRAPHQL_INTROSPECTION: 'maybe' }, gatewayOptionsFromEnv)).toThrow(/GRAPHQL_INTROSPECTION/);
  });
});
