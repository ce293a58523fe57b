// The monitoring model and Prometheus client without a cluster: what reaches PromQL (validation, escaping — checked
// against a real Prometheus's parser), durations and ranges, authorization of a non-admin viewer, PROMETHEUS_URL
// unset, the per-request timeout and the circuit breaker against a Prometheus that never answers, and composition of
// the monitoring schema with an accounts subgraph that owns Workspace.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../gateway/compose.js';
import type { Viewer } from '../services/common/authz.js';
import { PrometheusClient, PrometheusUnavailableError } from '../services/monitoring/clients/prometheus.js';
import { createMonitoringModel, PrometheusAccess } from '../services/monitoring/model/index.js';
import {
  alternation,
  matcher,
  parseDuration,
  parseRange,
  promString,
  rangeSteps,
  validName,
} from '../services/monitoring/model/promql.js';
import { startPrometheus, type TestPrometheus } from './harness/prometheus.js';
import { quietLogger } from './harness/stack.js';

const REGULAR: Viewer = { username: 'dev', platformRole: 'platform-regular' };
const ADMIN: Viewer = { username: 'admin', platformRole: 'platform-admin' };

let prom: TestPrometheus;
beforeAll(async () => {
  prom = await startPrometheus();
});
afterAll(async () => {
  await prom?.close();
});

const modelOn = (url: string | undefined, o: { timeoutMs?: number; breakerOpenMs?: number } = {}) => {
  const client = url
    ? new PrometheusClient({ url, timeoutMs: o.timeoutMs ?? 5000, breakerOpenMs: o.breakerOpenMs ?? 5000 })
    : undefined;
  return {
    client,
    model: createMonitoringModel({
      access: new PrometheusAccess({ client, log: quietLogger, rulesTtlMs: 60_000 }),
      rateWindow: '5m',
    }),
  };
};

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
    return undefined;
  } catch (e) {
    return (e as { extensions?: { code?: string } }).extensions?.code ?? (e as Error).message;
  }
}

describe('values that reach PromQL', () => {
  const nasty = [
    'a"b',
    'back\\slash',
    'line\nbreak',
    'tab\tand\r',
    'ünïcödé ✓ 𝔘',
    '"} or vector(1) or {a="',
    '{}|.*+?()[]^$',
  ];

  it('promString writes literals Prometheus parses back to exactly the same text', async () => {
    for (const s of nasty) {
      const [sample] = await prom.query(`label_replace(vector(1), "v", ${promString(s)}, "", "")`);
      expect(sample.metric.v, JSON.stringify(s)).toBe(s);
    }
  });

  it('matchers and alternations match exactly their values, metacharacters included', async () => {
    const values = ['web-1.shop', 'a.b', 'x|y'];
    const re = new RegExp(`^${alternation(values)}$`);
    for (const v of values) expect(re.test(v)).toBe(true);
    for (const v of ['web-1xshop', 'aXb', 'x', 'y']) expect(re.test(v)).toBe(false);
    expect(matcher('pod', ['only'])).toBe('pod="only"');
    // Prometheus accepts the matcher and it selects the series whose label is one of the values.
    const m = matcher('v', ['a.b', 'c"d']);
    const result = await prom.query(
      `label_replace(vector(1), "v", "a.b", "", "") or label_replace(vector(2), "v", "aXb", "", "")`,
    );
    expect(result).toHaveLength(2);
    expect(await prom.query(`count({__name__="nonexistent", ${m}}) or vector(0)`)).toHaveLength(1);
  });

  it('names that are not Kubernetes names are BAD_USER_INPUT before any query is built', async () => {
    for (const bad of ['', 'UPPER', 'a"b', 'x\ny', '-lead', 'trail-', 'a'.repeat(64), '"} or vector(1) or {a="']) {
      expect(await codeOf(() => validName('namespace', bad)), JSON.stringify(bad)).toBe('BAD_USER_INPUT');
    }
    expect(validName('pod', 'api-7d9f8-x2b.c')).toBe('api-7d9f8-x2b.c');
    const { model } = modelOn(prom.url);
    const s = model.session(ADMIN);
    expect(await codeOf(() => s.pod({ namespace: 'shop', name: 'x"} or vector(1)' }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(s.top('pod', { by: 'CPU_CORES', namespace: 'shop"} or vector(1) or {a="' }))).toBe(
      'BAD_USER_INPUT',
    );
    expect(await codeOf(s.top('pod', { by: 'CPU_CORES', workspace: 'x\n' }))).toBe('BAD_USER_INPUT');
  });

  it('parses durations and ranges, bounding the number of samples', async () => {
    expect(parseDuration('30s')).toBe(30);
    expect(parseDuration('1m30s')).toBe(90);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('15')).toBe(15);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration('5 m')).toBeUndefined();
    expect(parseDuration('1x')).toBeUndefined();
    const r = parseRange('2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', '15s');
    expect(rangeSteps(r).map((t) => new Date(t * 1000).toISOString())).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:15.000Z',
      '2026-01-01T00:00:30.000Z',
      '2026-01-01T00:00:45.000Z',
      '2026-01-01T00:01:00.000Z',
    ]);
    for (const [start, end, step] of [
      ['2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z', '1m'],
      ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', '1s'],
      ['x', '2026-01-01T00:00:00Z', '1m'],
      ['2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', '0s'],
    ]) {
      expect(await codeOf(() => parseRange(start, end, step)), `${start} ${end} ${step}`).toBe('BAD_USER_INPUT');
    }
  });
});

describe('authorization', () => {
  it('refuses PromQL to a viewer who is not a platform administrator, and runs it for one', async () => {
    const { model } = modelOn(prom.url);
    expect(await codeOf(model.session(REGULAR).promQuery('vector(1)'))).toBe('FORBIDDEN');
    expect(
      await codeOf(
        model.session(REGULAR).promQueryRange('vector(1)', '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', '30s'),
      ),
    ).toBe('FORBIDDEN');
    const r = await model.session(ADMIN).promQuery('vector(7)');
    expect(r.resultType).toBe('vector');
    expect(r.series[0].samples[0].value).toBe(7);
    // Prometheus refusing the caller's own PromQL is the caller's mistake.
    expect(await codeOf(model.session(ADMIN).promQuery('sum(('))).toBe('BAD_USER_INPUT');
  });

  it('gives a viewer without visible projects no metrics of pods, projects, nodes or workspaces, and empty rankings and alerts', async () => {
    const { model } = modelOn(prom.url);
    const s = model.session(REGULAR);
    expect(await codeOf(() => s.pod({ namespace: 'shop', name: 'redis-0' }))).toBe('FORBIDDEN');
    expect(await codeOf(() => s.project({ name: 'shop' }))).toBe('FORBIDDEN');
    expect(await codeOf(() => s.node({ name: 'node-1' }))).toBe('FORBIDDEN');
    // A workspace's metrics are for its members, and cover only the projects they may see in it (none here: no
    // value, and no query that Prometheus would refuse); others are refused before Prometheus is asked.
    expect(await codeOf(() => s.workspace({ name: 'demo-shop' }))).toBe('FORBIDDEN');
    const member = model.session({ ...REGULAR, workspaceRoles: { 'demo-shop': 'workspace-regular' } });
    const ws = member.workspace({ name: 'demo-shop' });
    expect(await member.value(member.metric(ws, 'cpuCores'))).toBeNull();
    expect(
      (await member.series(member.metric(ws, 'cpuCores'), '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', '30s')).map(
        (p) => p.value,
      ),
    ).toEqual([null, null, null]);
    expect(await codeOf(() => model.session({ username: '', platformRole: '' }).workspace({ name: 'demo-shop' }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(await codeOf(() => s.workload({ namespace: 'shop', kind: 'DEPLOYMENT', name: 'api' }))).toBe('FORBIDDEN');
    expect(await codeOf(() => s.cluster())).toBe('FORBIDDEN');
    expect(await s.top('pod', { by: 'CPU_CORES' })).toEqual([]);
    expect(await s.top('project', { by: 'POD_COUNT' })).toEqual([]);
    expect(await codeOf(s.top('node', { by: 'LOAD1' }))).toBe('FORBIDDEN');
    expect(await codeOf(s.top('pod', { by: 'CPU_CORES', namespace: 'shop' }))).toBe('FORBIDDEN');
    expect(await s.alerts({})).toEqual([]);
    expect(await codeOf(s.alertingRules({}))).toBe('FORBIDDEN');
  });
});

describe('Prometheus unavailable', () => {
  it('without PROMETHEUS_URL, metric values are UPSTREAM_UNAVAILABLE with a message naming PROMETHEUS_URL', async () => {
    const { model } = modelOn(undefined);
    const s = model.session(ADMIN);
    const handle = s.metric(s.pod({ namespace: 'shop', name: 'redis-0' }), 'cpuCores');
    const error = await s.value(handle).then(
      () => undefined,
      (e: { message: string; extensions: Record<string, unknown> }) => e,
    );
    expect(error?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', service: 'monitoring' });
    expect(error?.message).toMatch(/PROMETHEUS_URL/);
  });

  it('a Prometheus that refuses connections: the reason without its address', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const e = await new PrometheusClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 2_000, breakerOpenMs: 60_000 })
      .query('up')
      .then(
        () => undefined,
        (err: Error) => err,
      );
    expect(e).toBeInstanceOf(PrometheusUnavailableError);
    expect(e!.message).toBe('Prometheus is unavailable: ECONNREFUSED');
  });

  describe('a Prometheus that never answers', () => {
    let server: Server;
    let url: string;
    let received = 0;
    beforeAll(async () => {
      // Accepts every request and never answers: the client's timeout is all that ends them.
      server = createServer(() => {
        received++;
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    it('times each query out, never retries, and after 3 failures in a row stops asking (circuit breaker)', async () => {
      const client = new PrometheusClient({ url, timeoutMs: 200, breakerOpenMs: 60_000 });
      const errors: unknown[] = [];
      for (let i = 0; i < 6; i++)
        errors.push(
          await client.query('up').then(
            () => undefined,
            (e: unknown) => e,
          ),
        );
      for (const e of errors) expect(e).toBeInstanceOf(PrometheusUnavailableError);
      expect(String((errors[0] as Error).message)).toMatch(/no answer within 200 ms/);
      expect(String((errors[5] as Error).message)).toMatch(/failed 3 times in a row/);
      expect(received).toBe(3);
      // Errors name the system, never its address.
      for (const e of errors) expect(String((e as Error).message)).not.toContain('127.0.0.1');
    });

    it('through the model: one request per batch, failing as UPSTREAM_UNAVAILABLE', async () => {
      const before = received;
      const { model } = modelOn(url, { timeoutMs: 200, breakerOpenMs: 60_000 });
      const s = model.session(ADMIN);
      const pods = Array.from({ length: 20 }, (_, i) =>
        s.metric(s.pod({ namespace: 'shop', name: `p-${i}` }), 'memoryBytes'),
      );
      const codes = await Promise.all(pods.map((h) => codeOf(s.value(h))));
      expect(new Set(codes)).toEqual(new Set(['UPSTREAM_UNAVAILABLE']));
      // One query for the 20 pods (plus at most the background lookup of recording rules).
      expect(received - before).toBeLessThanOrEqual(2);
    });
  });
});

describe('schema', () => {
  it('composes with workloads alone and with an accounts subgraph that owns Workspace', () => {
    const sdl = (name: string) => readFileSync(new URL(`../schema/${name}.graphql`, import.meta.url), 'utf8');
    const base = [
      { name: 'workloads', sdl: sdl('workloads'), url: 'http://w/graphql' },
      { name: 'monitoring', sdl: sdl('monitoring'), url: 'http://m/graphql' },
    ];
    expect(composeSupergraph(base)).toContain('type Workspace');
    const accounts = `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
      type Workspace @key(fields: "name") { name: String!  description: String }
      type Query { workspace(name: String!): Workspace  workspaces: [Workspace!]! }`;
    const composed = composeSupergraph([...base, { name: 'accounts', sdl: accounts, url: 'http://a/graphql' }]);
    expect(composed).toMatch(/type Workspace[\s\S]*description: String[\s\S]*metrics: WorkspaceMetrics!/);
  });
});
