// Live container logs end to end: graphql-ws clients of the gateway, the logging subgraph (its live part on the
// sandbox's pod log API, reached through a TCP proxy the test can cut) and the workloads subgraph, composed into one
// supergraph. Checks what a user of the live log view notices: one upstream stream however many watch a pod, no line
// lost or repeated across connection cuts and a restart of the logging subgraph, a deleted pod's reason, and a
// Deployment's new replicas showing up. Lines are compared with the sandbox's own one-read log of the container.
import { createServer, connect, type Server, type Socket } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/gateway.js';
import { startLoggingSubgraph, type LoggingSubgraph } from '../services/logging/server.js';
import { startWorkloadsSubgraph, type WorkloadsSubgraph } from '../services/workloads/server.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';
import { quietLogger } from './harness/stack.js';
import { liveGateway, nginxDeployment, watch } from './logging-live-helpers.js';

/** A TCP proxy on 127.0.0.1 in front of the sandbox: cut() closes every connection through it. */
async function cuttableProxy(sb: TestSandbox) {
  const target = new URL(sb.sandbox.url);
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromString(sb.sandbox.kubeconfig.replace(sb.sandbox.url, `${target.protocol}//127.0.0.1:${port}`));
  const cut = () => {
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    kubeConfig,
    cut,
    close: async () => {
      cut();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const NS = 'live-gw';
const POD_LOGS = `subscription Tail($ns: String!, $pod: String!, $tail: Int) {
  podLogs(namespace: $ns, pod: $pod, tailLines: $tail) {
    resumeToken
    lines { timestamp message podName container node pod { name namespace } }
  }
}`;

describe('live logs through the gateway', () => {
  let sb: TestSandbox;
  let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
  let workloads: WorkloadsSubgraph;
  let logging: LoggingSubgraph;
  let gateway: Gateway;
  let loggingPort: number;
  const clients: Client[] = [];
  const wsClient = () => {
    const c = createClient({ url: gateway.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    clients.push(c);
    return c;
  };
  const logOf = async (pod: string, container: string) =>
    (await sb.core.readNamespacedPodLog({ namespace: NS, name: pod, container, timestamps: true }))
      .split('\n')
      .filter(Boolean);
  const runningPod = async (name: string, containers: [string, string][]) => {
    await sb.core.createNamespacedPod({
      namespace: NS,
      body: { metadata: { name }, spec: { containers: containers.map(([n, image]) => ({ name: n, image })) } },
    });
    await eventually(
      async () =>
        ((await sb.core.readNamespacedPod({ namespace: NS, name })).status?.containerStatuses ?? []).filter(
          (c) => c.state?.running,
        ).length === containers.length,
      30_000,
      `${name} running`,
    );
  };
  const logRequests = (since: Record<string, number>) => sb.sandbox.server.requestCounts(since)['get pods/log'] ?? 0;
  const startLogging = (port: number) => startLoggingSubgraph({ port, kubeConfig: proxy.kubeConfig, log: quietLogger });
  const upstreams = async () => {
    const text = await (await fetch(gateway.url.replace(/\/graphql$/, '/metrics'))).text();
    let sum = 0;
    for (const m of text.matchAll(/^kubegraph_gateway_upstream_subscriptions(?:\{[^}]*\})? (\S+)$/gm))
      sum += Number(m[1]);
    return sum;
  };

  beforeAll(async () => {
    sb = await startTestSandbox({ speed: 10 });
    await sb.core.createNamespace({ body: { metadata: { name: NS } } });
    proxy = await cuttableProxy(sb);
    workloads = await startWorkloadsSubgraph({ port: 0, kubeConfig: sb.kc, log: quietLogger });
    logging = await startLogging(0);
    loggingPort = logging.port;
    gateway = await liveGateway(workloads.url, logging.url, { resubscribeBackoff: { min: 50, max: 500 } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await gateway?.close();
    await logging?.close();
    await workloads?.close();
    await proxy?.close();
    await sb?.close();
  });

  it('50 clients watching one pod (50 distinct operations) make one pods/log request', async () => {
    await runningPod('shared-gw', [['app', 'example/orders-api:1.4.2']]);
    const before = sb.sandbox.server.requestCounts();
    const client = wsClient();
    // Different operation names and aliases: 50 upstream subscriptions, so the sharing counted is the subgraph's own.
    const watchers = Array.from({ length: 50 }, (_, i) =>
      watch(client, POD_LOGS.replace('Tail(', `Tail${i}(`).replace('podLogs(', `l${i}: podLogs(`), {
        ns: NS,
        pod: 'shared-gw',
        tail: 3,
      }),
    );
    await eventually(() => watchers.every((w) => w.lines().length >= 6), 30_000, 'every client reading');
    expect(await upstreams()).toBe(50);
    expect(logRequests(before)).toBe(1);
    for (const w of watchers) w.stop();
    const truth = await logOf('shared-gw', 'app');
    for (const w of watchers) {
      const got = w.lines();
      const at = truth.indexOf(got[0]);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(got).toEqual(truth.slice(at, at + got.length));
      expect(w.errors()).toEqual([]);
    }
    const line = watchers[0].results[0].data!.l0.lines[0];
    expect(line).toMatchObject({ podName: 'shared-gw', container: 'app', pod: { name: 'shared-gw', namespace: NS } });
    await eventually(async () => (await upstreams()) === 0, 10_000, 'the upstream subscriptions closed');
  });

  it('every line arrives exactly once and in order across 10 cuts of the log stream and a restart of the subgraph', async () => {
    await runningPod('steady-gw', [
      ['app', 'example/spring-orders:3.2.0'],
      ['proxy', 'nginx:1.27'],
    ]);
    const before = sb.sandbox.server.requestCounts();
    const w = watch(wsClient(), POD_LOGS, { ns: NS, pod: 'steady-gw' });
    for (let cut = 0; cut < 10; cut++) {
      const n = w.lines().length;
      await eventually(() => w.lines().length > n, 20_000, `lines after cut ${cut}`);
      proxy.cut();
    }
    let n = w.lines().length;
    await eventually(() => w.lines().length > n, 20_000, 'lines after the last cut');
    // The subgraph goes away for a moment (lines are written meanwhile) and comes back on its port.
    await logging.close();
    await new Promise((r) => setTimeout(r, 700));
    logging = await startLogging(loggingPort);
    n = w.lines().length;
    await eventually(() => w.lines().length >= n + 20, 30_000, 'lines after the restart');
    w.stop();
    expect(w.errors()).toEqual([]);
    expect(logRequests(before)).toBeGreaterThanOrEqual(12);
    for (const container of ['app', 'proxy']) {
      const got = w.lines(container);
      const truth = await logOf('steady-gw', container);
      expect(got.length).toBeGreaterThan(20);
      expect(got).toEqual(truth.slice(0, got.length));
    }
  });

  it('a pod deleted mid-stream ends the subscription with NOT_FOUND and its reason, after its lines', async () => {
    await runningPod('doomed-gw', [['nginx', 'nginx:1.27']]);
    const w = watch(wsClient(), POD_LOGS, { ns: NS, pod: 'doomed-gw', tail: 1 });
    await eventually(() => w.lines().length >= 3, 20_000, 'lines before the deletion');
    await sb.core.deleteNamespacedPod({ namespace: NS, name: 'doomed-gw', gracePeriodSeconds: 0 });
    await eventually(() => w.done, 20_000, 'the subscription ended');
    expect(w.errors()).toEqual([{ message: `pod ${NS}/doomed-gw was deleted`, code: 'NOT_FOUND' }]);
    expect(w.lines().length).toBeGreaterThanOrEqual(3);
    // The error is the last thing the client got.
    expect(w.results.at(-1)!.errors).toBeDefined();
  });

  it('workloadLogs shows the lines of a Deployment scaled up, pod by pod in their order', async () => {
    await sb.apps.createNamespacedDeployment({
      namespace: NS,
      body: nginxDeployment('web', 1),
    });
    const podsOf = async () =>
      (await sb.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' })).items.map(
        (p) => p.metadata!.name!,
      );
    await eventually(async () => (await podsOf()).length === 1, 30_000, 'one replica');
    const w = watch(
      wsClient(),
      `subscription($ns: String!) {
        workloadLogs(namespace: $ns, kind: DEPLOYMENT, name: "web", tailLines: 2) {
          resumeToken lines { timestamp message podName container node pod { name } }
        }
      }`,
      { ns: NS },
    );
    const podNames = () => new Set(w.results.flatMap((r) => r.data?.workloadLogs.lines.map((l) => l.podName) ?? []));
    await eventually(() => podNames().size === 1, 20_000, 'lines of the first replica');
    await sb.apps.patchNamespacedDeploymentScale(
      { namespace: NS, name: 'web', body: { spec: { replicas: 3 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await eventually(() => podNames().size === 3, 30_000, 'lines of three replicas');
    w.stop();
    expect([...podNames()].sort()).toEqual((await podsOf()).sort());
    for (const pod of podNames()) {
      const got = w.lines('nginx', pod);
      const truth = await logOf(pod, 'nginx');
      const at = truth.indexOf(got[0]);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(got).toEqual(truth.slice(at, at + got.length));
    }
  });
});
