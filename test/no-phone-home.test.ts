// kubegraph must not phone home (issue 13, section 3; DESIGN.md "Network"): `npm start` runs as its own process group
// with a preload (test/harness/no-egress.mjs, through NODE_OPTIONS, so npm and the node process under it both carry
// it) that refuses, before anything is sent, every outbound connection attempt that is not to a loopback address, and
// records it. The test logs in, queries every subgraph, runs a subscription and a mutation, reads /metrics (guarded
// by METRICS_TOKEN here), then stops npm start by SIGINT to npm's process alone — the final flush of any reporter
// included — and fails on any recorded attempt. Apollo's variables are set as an operator's environment might hold
// them for other tools: kubegraph must report nothing anyway. Tests only ever reach loopback addresses; the guard's
// decision is unit-tested with a stub (no connection is made to any other address).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from './harness/graphql.js';
import { eventually } from './harness/sandbox.js';
// @ts-expect-error -- plain JavaScript preload (it runs before tsx), no declarations
import { decide } from './harness/no-egress.mjs';
import { adminToken, npmStartEnv, readyGateway, spawnNpmStart, type NpmStart } from './harness/npm-start.js';

const ROOT = resolve(import.meta.dirname, '..');
const PRELOAD = pathToFileURL(join(ROOT, 'test/harness/no-egress.mjs')).href;
const ADMIN_PASSWORD = 'no-phone-home-admin-password';
const METRICS_TOKEN = 'no-phone-home-metrics-token';
const STARTUP_MS = 120_000;

describe('the loopback-only guard decides without connecting', () => {
  const d = decide as (host: string | undefined) => 'allow' | 'refuse';
  it('refuses cloud metadata, Apollo and every other address or name', () => {
    for (const host of [
      '169.254.169.254',
      'metadata.google.internal',
      'metadata.google.internal.',
      'usage-reporting.api.apollographql.com',
      'registry.npmjs.org',
      '10.0.0.1',
      '0.0.0.0',
      'fd00::1',
      '::ffff:169.254.169.254',
    ]) {
      expect(d(host), host).toBe('refuse');
    }
  });
  it('allows loopback addresses and localhost', () => {
    for (const host of [
      '127.0.0.1',
      '127.8.9.10',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      'localhost',
      undefined,
    ])
      expect(d(host), String(host)).toBe('allow');
  });
});

describe('npm start with every outbound connection guarded', () => {
  let kubegraph: NpmStart;
  let dir: string;
  let logPath: string;
  let gatewayUrl: string;
  let token: string;
  const records = (): {
    kind: string;
    host?: string;
    port?: number | null;
    pid: number;
    argv: string[];
    stack?: string[];
  }[] =>
    existsSync(logPath)
      ? readFileSync(logPath, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubegraph-no-egress-'));
    logPath = join(dir, 'egress.jsonl');
    const env = npmStartEnv(dir, ADMIN_PASSWORD, {
      NODE_OPTIONS: `--import ${PRELOAD}`,
      KUBEGRAPH_EGRESS_LOG: logPath,
      METRICS_TOKEN,
      // What an operator's environment may hold for Apollo's own tools: kubegraph reports nothing regardless.
      APOLLO_KEY: 'service:kubegraph-test:not-a-real-key',
      APOLLO_GRAPH_REF: 'kubegraph-test@current',
    });
    // Its own process group, so that afterAll can always clean up; the test itself signals npm's process alone.
    kubegraph = spawnNpmStart(env);
    gatewayUrl = await readyGateway(kubegraph, STARTUP_MS);
  }, STARTUP_MS + 70_000);

  afterAll(async () => {
    kubegraph?.killGroup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('the guard runs in npm and in the node process of services/start.ts', () => {
    const loaded = records().filter((r) => r.kind === 'loaded');
    expect(loaded.some((r) => r.argv.some((a) => a.endsWith('services/start.ts')))).toBe(true);
  });

  it('answers requests of every subgraph', async () => {
    token = await adminToken(gatewayUrl, ADMIN_PASSWORD);
    const auth = { authorization: `Bearer ${token}` };
    const r = await gql(
      gatewayUrl,
      '{ me { username } workspaces { name } pods(first: 3) { totalCount edges { node { name } } } projects { edges { node { name workspace { name } } } } }',
      {},
      auth,
    );
    expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    expect(r.data.pods.totalCount).toBeGreaterThan(0);
    // Monitoring answers (its Prometheus, when one was started, is on loopback too).
    const m = await gql(gatewayUrl, '{ promQuery(query: "up") { series { labels } } }', {}, auth);
    expect(m.data === null && m.errors?.[0].extensions?.code !== 'UPSTREAM_UNAVAILABLE').toBe(false);
  });

  it('runs a subscription and sees a change', async () => {
    const client = createClient({
      url: gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    try {
      const seen: unknown[] = [];
      let failed: unknown;
      const stop = client.subscribe(
        { query: 'subscription { podStatusChanged(namespace: "shop") { type pod { name } } }' },
        { next: (v) => seen.push(v), error: (e) => (failed = e), complete: () => {} },
      );
      // A change to see: a demo pod deleted through the gateway (its ReplicaSet makes another).
      const auth = { authorization: `Bearer ${token}` };
      const pods = await gql(gatewayUrl, '{ pods(namespace: "shop", first: 1) { edges { node { name } } } }', {}, auth);
      const name = pods.data.pods.edges[0].node.name as string;
      await eventually(
        async () => {
          if (failed) throw new Error(`subscription failed: ${JSON.stringify(failed)}`);
          if (seen.length === 0)
            await gql(
              gatewayUrl,
              'mutation($n: String!) { deletePod(namespace: "shop", name: $n) }',
              { n: name },
              auth,
            );
          return seen.length > 0;
        },
        30_000,
        'a podStatusChanged event',
      );
      stop();
    } finally {
      await client.dispose();
    }
  });

  it('/metrics of every service wants METRICS_TOKEN', async () => {
    const urls = kubegraph
      .lines()
      .map((l) => /^kubegraph: (?:accounts|workloads|monitoring) subgraph at (\S+)/.exec(l)?.[1])
      .filter((u): u is string => Boolean(u));
    expect(urls.length).toBe(3);
    for (const base of [...urls, gatewayUrl].map((u) => u.replace(/\/graphql$/, ''))) {
      const open = await fetch(`${base}/metrics`);
      await open.arrayBuffer();
      expect(open.status, base).toBe(401);
      const wrong = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer not-the-token' } });
      await wrong.arrayBuffer();
      expect(wrong.status, base).toBe(401);
      const ok = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(ok.status, base).toBe(200);
      expect(await ok.text()).toContain('process_cpu_seconds_total');
    }
  });

  it('serves no landing page that would load from a CDN', async () => {
    const res = await fetch(gatewayUrl, { headers: { accept: 'text/html' } });
    expect(await res.text()).not.toMatch(/apollographql\.com|cdn\./i);
  });

  it('SIGINT to npm alone stops every process; nothing tried to leave the machine', async () => {
    process.kill(kubegraph.child.pid!, 'SIGINT');
    await eventually(() => !kubegraph.groupAlive(), 30_000, 'every process of npm start to exit');
    const refused = records().filter((r) => r.kind !== 'loaded');
    expect(refused, JSON.stringify(refused, null, 2)).toEqual([]);
  }, 40_000);
});
