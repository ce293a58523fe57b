// The workloads subgraph with its API server gone (issue 13, section 2): the sandbox sits behind a TCP proxy that the
// test shuts (nothing listens: connection refused) and opens again. Meanwhile reads are still served from the informer
// caches but say so (`extensions.stale: true` with the time of the last sync), directly and through the gateway;
// errors name the Kubernetes API, never its address; /readyz of workloads and of the gateway fail once the watches
// have been down longer than WORKLOADS_STALE_AFTER_MS, and everything returns to normal when the API server is back.
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../gateway/compose.js';
import { startGateway, type Gateway } from '../gateway/gateway.js';
import { ConfigError } from '../services/common/config.js';
import { DEFAULT_STALE_AFTER_MS, workloadsOptionsFromEnv } from '../services/workloads/config.js';
import { SCHEMA_PATH, startWorkloadsSubgraph, type WorkloadsSubgraph } from '../services/workloads/server.js';
import { quietLogger } from './harness/stack.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';

/** A TCP proxy to the sandbox on a fixed loopback port that can be shut (nothing listens) and opened again. */
class Proxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: number) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: this.target });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r, j) => server.once('error', j).listen(this.port, '127.0.0.1', () => r()));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** The API server is gone: open connections cut, new ones refused. */
  async shut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((r) => server.close(r));
  }
}

let t: TestSandbox;
let proxy: Proxy;
let sg: WorkloadsSubgraph;
let gw: Gateway;
const STALE_AFTER_MS = 2_000;

interface Answer {
  status: number;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
    extensions?: Record<string, unknown>;
  };
}
async function post(url: string, query: string): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}
const readyz = async (graphqlUrl: string) => {
  const res = await fetch(graphqlUrl.replace(/\/graphql$/, '/readyz'));
  await res.arrayBuffer();
  return res.status;
};
const POD_COUNT = '{ pods(first: 1) { totalCount } }';

beforeAll(async () => {
  t = await startTestSandbox({ seed: { kind: 'demo' }, speed: 20 });
  const target = Number(new URL(t.kc.getCurrentCluster()!.server).port);
  proxy = new Proxy(target);
  await proxy.open();
  // The sandbox's kubeconfig, its server moved to the proxy (same host, so its certificate still fits).
  const kc = new k8s.KubeConfig();
  kc.loadFromString(t.sandbox.kubeconfig);
  const cluster = kc.getCurrentCluster()!;
  const server = new URL(cluster.server);
  server.port = String(proxy.port);
  kc.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.name === cluster.name ? { ...c, server: server.origin } : c)),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  sg = await startWorkloadsSubgraph({ port: 0, kubeConfig: kc, log: quietLogger, staleAfterMs: STALE_AFTER_MS });
  const supergraphSdl = composeSupergraph([{ name: 'workloads', sdl: readFileSync(SCHEMA_PATH, 'utf8'), url: sg.url }]);
  gw = await startGateway({ port: 0, supergraphSdl, logger: quietLogger, readyCacheMs: 0 });
  await eventually(async () => (await readyz(gw.url)) === 200, 30_000, 'the gateway to be ready');
});

afterAll(async () => {
  await gw?.close();
  await sg?.close();
  await proxy?.shut();
  await t?.close();
});

describe('WORKLOADS_STALE_AFTER_MS', () => {
  it(`defaults to ${DEFAULT_STALE_AFTER_MS} ms and is validated, naming the variable`, () => {
    const saved = process.env.WORKLOADS_STALE_AFTER_MS;
    try {
      delete process.env.WORKLOADS_STALE_AFTER_MS;
      expect(workloadsOptionsFromEnv().staleAfterMs).toBe(DEFAULT_STALE_AFTER_MS);
      process.env.WORKLOADS_STALE_AFTER_MS = '15000';
      expect(workloadsOptionsFromEnv().staleAfterMs).toBe(15_000);
      for (const bad of ['soon', '-1', '10']) {
        process.env.WORKLOADS_STALE_AFTER_MS = bad;
        expect(() => workloadsOptionsFromEnv()).toThrow(ConfigError);
        expect(() => workloadsOptionsFromEnv()).toThrow(/WORKLOADS_STALE_AFTER_MS/);
      }
    } finally {
      if (saved === undefined) delete process.env.WORKLOADS_STALE_AFTER_MS;
      else process.env.WORKLOADS_STALE_AFTER_MS = saved;
    }
  });
});

describe('with the API server reachable', () => {
  it('answers carry no staleness, directly or through the gateway', async () => {
    for (const url of [sg.url, gw.url]) {
      const r = await post(url, POD_COUNT);
      expect(r.body.errors).toBeUndefined();
      expect((r.body.data?.pods as { totalCount: number }).totalCount).toBeGreaterThan(0);
      expect(r.body.extensions?.stale).toBeUndefined();
    }
  });
});

describe('with the API server gone', () => {
  let shutAt: number;
  beforeAll(async () => {
    shutAt = Date.now();
    await proxy.shut();
  });

  it('reads are served from the caches, marked stale with the time of the last sync, directly and through the gateway', async () => {
    for (const url of [sg.url, gw.url]) {
      const r = await eventually(
        async () => {
          const a = await post(url, POD_COUNT);
          return a.body.extensions?.stale === true ? a : undefined;
        },
        20_000,
        `a stale answer from ${url}`,
      );
      expect(r.body.errors).toBeUndefined();
      expect((r.body.data?.pods as { totalCount: number }).totalCount).toBeGreaterThan(0);
      const at = Date.parse(String(r.body.extensions?.lastSyncedAt));
      expect(Number.isNaN(at)).toBe(false);
      // The caches were last known current when the first watch broke: after the proxy shut, not in the future.
      expect(at).toBeGreaterThanOrEqual(shutAt - 1000);
      expect(at).toBeLessThanOrEqual(Date.now());
    }
  });

  it('errors name the Kubernetes API, never its address', async () => {
    for (const url of [sg.url, gw.url]) {
      const r = await post(url, 'mutation { deletePod(namespace: "shop", name: "no-such-pod") }');
      const e = r.body.errors?.[0];
      expect(e?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(e?.message).toMatch(/^Kubernetes API unreachable/);
      const errors = (r.body.errors ?? []).map((x) => `${x.message} ${JSON.stringify(x.extensions)}`).join('\n');
      expect(errors).not.toMatch(/127\.0\.0\.1|localhost|https?:\/\/|:\d{2,5}\b/);
      expect(errors).not.toContain(String(proxy.port));
    }
  });

  it('/readyz of workloads and of the gateway fail once the watches are down longer than the threshold', async () => {
    await eventually(async () => (await readyz(sg.url)) === 503, 20_000, 'workloads /readyz to fail');
    expect(Date.now() - shutAt).toBeGreaterThanOrEqual(STALE_AFTER_MS);
    await eventually(async () => (await readyz(gw.url)) === 503, 20_000, 'the gateway /readyz to fail');
  });

  it('once the API server is back: ready again, and answers are no longer stale', async () => {
    await proxy.open();
    await eventually(async () => (await readyz(sg.url)) === 200, 60_000, 'workloads /readyz to recover');
    await eventually(async () => (await readyz(gw.url)) === 200, 20_000, 'the gateway /readyz to recover');
    for (const url of [sg.url, gw.url]) {
      const r = await eventually(
        async () => {
          const a = await post(url, POD_COUNT);
          return a.body.extensions?.stale === undefined ? a : undefined;
        },
        20_000,
        `a current answer from ${url}`,
      );
      expect(r.body.errors).toBeUndefined();
    }
  }, 120_000);
});
