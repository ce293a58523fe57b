// Live container logs against the sandbox cluster, through the module the logging subgraph serves them with
// (createLiveLogResolvers): sharing of upstream streams, exactly-once delivery across upstream drops and a restart,
// a deleted pod, a Deployment scaled up, one-shot reads (previous included) and authorization for every role.
// Lines are compared with the sandbox's own answer for the container's log, read in one request.
import { createServer, connect, type Server, type Socket } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANONYMOUS, type Viewer } from '../services/common/authz.js';
import { createLogger } from '../services/common/log.js';
import { NamespaceTenancy, WORKSPACE_LABEL } from '../services/common/tenancy.js';
import { timestampKey } from '../services/logging/clients/pod-logs.js';
import {
  createLiveLogResolvers,
  type LiveLogChunk,
  type LiveLogResolvers,
} from '../services/logging/live-resolvers.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';

// ------------------------------------------------------------------ helpers

interface Reader {
  readonly chunks: LiveLogChunk[];
  /** Every line read, as `<timestamp> <message>` (the API server's own text of the line). */
  lines(): string[];
  /** The lines of one container, as `<timestamp> <message>`. */
  linesOf(container: string, pod?: string): string[];
  readonly error: unknown;
  readonly done: boolean;
  readonly finished: Promise<void>;
  lastToken(): string | undefined;
  stop(): Promise<void>;
}

function read(it: AsyncIterableIterator<LiveLogChunk>): Reader {
  const chunks: LiveLogChunk[] = [];
  const state: { error: unknown; done: boolean } = { error: undefined, done: false };
  const finished = (async () => {
    try {
      for await (const c of it) chunks.push(c);
    } catch (e) {
      state.error = e;
    } finally {
      state.done = true;
    }
  })();
  return {
    chunks,
    lines: () => chunks.flatMap((c) => c.lines.map((l) => `${l.timestamp} ${l.message}`)),
    linesOf: (container, pod) =>
      chunks.flatMap((c) =>
        c.lines
          .filter((l) => l.container === container && (pod === undefined || l.podName === pod))
          .map((l) => `${l.timestamp} ${l.message}`),
      ),
    get error() {
      return state.error;
    },
    get done() {
      return state.done;
    },
    finished,
    lastToken: () => chunks.at(-1)?.resumeToken,
    stop: async () => {
      await it.return?.();
      await finished;
    },
  };
}

/** A TCP proxy on 127.0.0.1 in front of the sandbox: cut() closes every connection through it, as a network failure. */
async function cuttableProxy(sb: TestSandbox) {
  const target = new URL(sb.sandbox.url);
  const pairs = new Set<[Socket, Socket]>();
  const stats = { connections: 0 };
  const server: Server = createServer((client) => {
    stats.connections++;
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
    const n = pairs.size;
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
    return n;
  };
  return {
    kubeConfig,
    cut,
    /** Connections made through the proxy so far. */
    connections: () => stats.connections,
    close: async () => {
      cut();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function errorOf(p: Promise<unknown> | (() => Promise<unknown>)): Promise<GraphQLError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(GraphQLError);
    return e as GraphQLError;
  }
  throw new Error('expected an error');
}

const podSpec = (name: string, containers: [string, string][], labels: Record<string, string> = {}): k8s.V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: containers.map(([n, image]) => ({ name: n, image })) },
});

// ------------------------------------------------------------------ the cluster

const NS = 'live-a';
const OTHER_NS = 'live-b';
const WS = 'ws-live';
const admin: Viewer = { username: 'admin', platformRole: 'platform-admin' };
const silent = createLogger('test-live', () => {});

describe('live logs (module against the sandbox)', () => {
  let sb: TestSandbox;
  let tenancy: NamespaceTenancy;
  let live: LiveLogResolvers;
  let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
  const subscribe = (r: LiveLogResolvers, viewer: Viewer, args: Record<string, unknown>) =>
    r.resolvers.Subscription.podLogs.subscribe(undefined, args as never, { viewer });

  const logOf = async (pod: string, container: string) => {
    const text = await sb.core.readNamespacedPodLog({ namespace: NS, name: pod, container, timestamps: true });
    return text.split('\n').filter(Boolean);
  };
  const runningPod = async (pod: k8s.V1Pod, namespace = NS) => {
    await sb.core.createNamespacedPod({ namespace, body: pod });
    return eventually(
      async () => {
        const p = await sb.core.readNamespacedPod({ namespace, name: pod.metadata!.name! });
        const st = p.status?.containerStatuses ?? [];
        return st.length === pod.spec!.containers.length && st.every((c) => c.state?.running) ? p : undefined;
      },
      30_000,
      `pod ${pod.metadata!.name} running`,
    );
  };
  const logRequests = (since: Record<string, number>) => sb.sandbox.server.requestCounts(since)['get pods/log'] ?? 0;

  beforeAll(async () => {
    sb = await startTestSandbox({ speed: 10 });
    for (const [name, ws] of [
      [NS, WS],
      [OTHER_NS, 'ws-other'],
    ])
      await sb.core.createNamespace({ body: { metadata: { name, labels: { [WORKSPACE_LABEL]: ws } } } });
    tenancy = new NamespaceTenancy(sb.kc, silent);
    await tenancy.start();
    proxy = await cuttableProxy(sb);
    live = createLiveLogResolvers({ kubeConfig: proxy.kubeConfig, log: silent, tenancy });
  });
  afterAll(async () => {
    await live?.close();
    await tenancy?.stop();
    await proxy?.close();
    await sb?.close();
  });

  it('streams a container as LogLines with the API server timestamps, in the order of the log', async () => {
    const pod = await runningPod(podSpec('web-1', [['nginx', 'nginx:1.27']]));
    const r = read(await subscribe(live, admin, { namespace: NS, pod: 'web-1', tailLines: 2 }));
    await eventually(() => r.lines().length >= 8, 20_000, 'eight lines');
    await r.stop();
    const first = r.chunks[0].lines[0];
    expect(first).toMatchObject({
      stream: null,
      namespace: NS,
      podName: 'web-1',
      container: 'nginx',
      node: pod.spec!.nodeName,
    });
    expect(first.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const truth = await logOf('web-1', 'nginx');
    const got = r.lines();
    const at = truth.indexOf(got[0]);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(got).toEqual(truth.slice(at, at + got.length));
    expect(r.chunks.every((c) => typeof c.resumeToken === 'string' && c.resumeToken.length > 0)).toBe(true);
  });

  it('50 subscribers of one container share one upstream stream, closed when the last one leaves', async () => {
    await runningPod(podSpec('shared-1', [['app', 'example/orders-api:1.4.2']]));
    const before = sb.sandbox.server.requestCounts();
    const readers = await Promise.all(
      Array.from({ length: 50 }, async () =>
        read(await subscribe(live, admin, { namespace: NS, pod: 'shared-1', tailLines: 5 })),
      ),
    );
    await eventually(() => readers.every((r) => r.lines().length >= 8), 30_000, 'every subscriber reading');
    expect(logRequests(before)).toBe(1);
    expect(live.live.upstreamStreams()).toBe(1);
    expect(live.live.stats().subscriptions).toBe(50);
    await Promise.all(readers.map((r) => r.stop()));
    expect(live.live.stats().subscriptions).toBe(0);
    const truth = await logOf('shared-1', 'app');
    for (const r of readers) {
      const got = r.lines();
      const at = truth.indexOf(got[0]);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(got).toEqual(truth.slice(at, at + got.length));
    }
    await eventually(() => live.live.upstreamStreams() === 0, 10_000, 'the upstream stream closed');
  });

  it('delivers every line exactly once, in order, across 10 upstream drops and a restart of the subgraph', async () => {
    // A Java container: stack traces are many lines with one timestamp, which a resume must count, not skip.
    await runningPod(
      podSpec('steady-1', [
        ['app', 'example/spring-orders:3.2.0'],
        ['proxy', 'nginx:1.27'],
      ]),
    );
    const before = sb.sandbox.server.requestCounts();
    let r = read(await subscribe(live, admin, { namespace: NS, pod: 'steady-1' }));
    for (let drop = 0; drop < 10; drop++) {
      const n = r.lines().length;
      await eventually(() => r.lines().length > n, 20_000, `lines after drop ${drop}`);
      proxy.cut();
    }
    const n = r.lines().length;
    await eventually(() => r.lines().length > n, 20_000, 'lines after the last drop');
    // The subgraph restarts: a new instance, resumed from the last token the client received.
    await live.close();
    await r.finished;
    const token = r.lastToken()!;
    const first = { app: r.linesOf('app'), proxy: r.linesOf('proxy') };
    await new Promise((res) => setTimeout(res, 700)); // lines are written while nobody reads
    live = createLiveLogResolvers({ kubeConfig: proxy.kubeConfig, log: silent, tenancy });
    r = read(await subscribe(live, admin, { namespace: NS, pod: 'steady-1', resumeToken: token }));
    await eventually(() => r.lines().length >= 20, 20_000, 'lines after the restart');
    await r.stop();
    expect(logRequests(before)).toBeGreaterThanOrEqual(12);
    for (const container of ['app', 'proxy'] as const) {
      const got = [...first[container], ...r.linesOf(container)];
      const truth = await logOf('steady-1', container);
      expect(got.length).toBeGreaterThan(10);
      expect(got).toEqual(truth.slice(0, got.length));
    }
    // Within a chunk the two containers' lines are merged by time.
    for (const chunk of r.chunks) {
      const keys = chunk.lines.map((l) => timestampKey(l.timestamp)!);
      expect(keys).toEqual([...keys].sort());
    }
    expect(r.chunks.some((c) => new Set(c.lines.map((l) => l.container)).size === 2)).toBe(true);
  });

  it('cuts off a subscriber that stops reading, which resumes from its last token without a gap', async () => {
    await runningPod(podSpec('busy-1', [['nginx', 'nginx:1.27']]));
    // One line per chunk, and a reader that leaves 20 lines unread for 300 ms is cut off (within seconds here).
    const small = createLiveLogResolvers({
      kubeConfig: sb.kc,
      log: silent,
      batching: { batchMs: 1, maxLinesPerChunk: 1, maxPendingLines: 20, stallMs: 300 },
    });
    try {
      const it = await subscribe(small, admin, { namespace: NS, pod: 'busy-1', tailLines: 1 });
      const first = [(await it.next()).value as LiveLogChunk, (await it.next()).value as LiveLogChunk];
      expect(first.map((c) => c.lines.length)).toEqual([1, 1]);
      await eventually(() => small.live.upstreamStreams() === 0, 20_000, 'the slow subscriber cut off');
      const e = await errorOf(() => it.next());
      expect(e.extensions.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(await it.next()).toEqual({ done: true, value: undefined });
      const resumed = read(
        await subscribe(small, admin, { namespace: NS, pod: 'busy-1', resumeToken: first[1].resumeToken }),
      );
      await eventually(() => resumed.lines().length >= 10, 20_000, 'lines after resuming');
      await resumed.stop();
      const got = [...first.flatMap((c) => c.lines.map((l) => `${l.timestamp} ${l.message}`)), ...resumed.lines()];
      const truth = await logOf('busy-1', 'nginx');
      const at = truth.indexOf(got[0]);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(got).toEqual(truth.slice(at, at + got.length));
    } finally {
      await small.close();
    }
  });

  it('follows a crash-looping container from run to run, each ended run whole, across connection cuts', async () => {
    await sb.core.createNamespacedPod({
      namespace: NS,
      body: podSpec('crashloop-1', [['worker', 'example/payment-worker-crash:2.1.0']]),
    });
    // Subscribed before the container first started: every run's lines are new to it.
    const r = read(await subscribe(live, admin, { namespace: NS, pod: 'crashloop-1' }));
    const restarts = async () =>
      (await sb.core.readNamespacedPod({ namespace: NS, name: 'crashloop-1' })).status?.containerStatuses?.[0]
        ?.restartCount ?? 0;
    let cuts = 0;
    await eventually(
      async () => {
        if (cuts++ % 3 === 0) proxy.cut();
        return (await restarts()) >= 3;
      },
      60_000,
      'three restarts',
    );
    const previous = (
      await sb.core.readNamespacedPodLog({ namespace: NS, name: 'crashloop-1', previous: true, timestamps: true })
    )
      .split('\n')
      .filter(Boolean);
    // The last ended run's log arrives whole, in order, wherever the cuts fell.
    await eventually(() => r.lines().includes(previous.at(-1)!), 20_000, 'the last ended run delivered');
    await r.stop();
    const got = r.lines();
    expect(new Set(got).size).toBe(got.length);
    const at = got.indexOf(previous[0]);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(got.slice(at, at + previous.length)).toEqual(previous);
    // Every run from its first line, the first run included: the earlier runs came before it.
    expect(got[0]).toContain(' Starting payment-worker-crash');
    expect(got.slice(0, at).filter((l) => l.includes(' Starting payment-worker-crash')).length).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('ends a subscription whose pod is deleted with NOT_FOUND, after the lines already read', async () => {
    await runningPod(podSpec('doomed-1', [['nginx', 'nginx:1.27']]));
    const r = read(await subscribe(live, admin, { namespace: NS, pod: 'doomed-1', tailLines: 1 }));
    await eventually(() => r.lines().length >= 3, 20_000, 'lines before the deletion');
    await sb.core.deleteNamespacedPod({ namespace: NS, name: 'doomed-1', gracePeriodSeconds: 0 });
    await r.finished;
    expect(r.lines().length).toBeGreaterThanOrEqual(3);
    expect(r.error).toBeInstanceOf(GraphQLError);
    expect((r.error as GraphQLError).extensions.code).toBe('NOT_FOUND');
    expect((r.error as GraphQLError).message).toBe(`pod ${NS}/doomed-1 was deleted`);
    // Resuming it is final too: the kubelet has no lines of the pod any more.
    const again = await errorOf(subscribe(live, admin, { namespace: NS, pod: 'doomed-1', resumeToken: r.lastToken() }));
    expect(again.extensions.code).toBe('RESUME_EXPIRED');
    expect(again.message).toContain(`pod ${NS}/doomed-1 was deleted`);
    const missing = await errorOf(subscribe(live, admin, { namespace: NS, pod: 'never-was' }));
    expect(missing.extensions.code).toBe('NOT_FOUND');
  });

  it('workloadLogs merges the pods of a Deployment and follows it when it is scaled up', async () => {
    await sb.apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'shop' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'shop' } },
          template: {
            metadata: { labels: { app: 'shop' } },
            spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
          },
        },
      },
    });
    // A pod with the same labels but no owner: not the Deployment's.
    await runningPod(podSpec('shop-impostor', [['web', 'nginx:1.27']], { app: 'shop' }));
    const podsOf = async () =>
      (await sb.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=shop' })).items
        .filter((p) => p.metadata?.ownerReferences?.length)
        .map((p) => p.metadata!.name!);
    await eventually(async () => (await podsOf()).length === 1, 30_000, 'one replica');
    const r = read(
      await live.resolvers.Subscription.workloadLogs.subscribe(
        undefined,
        { namespace: NS, kind: 'DEPLOYMENT', name: 'shop', tailLines: 1 },
        { viewer: admin },
      ),
    );
    const podNames = () => new Set(r.chunks.flatMap((c) => c.lines.map((l) => l.podName)));
    await eventually(() => podNames().size === 1, 20_000, 'lines of the first replica');
    await sb.apps.patchNamespacedDeploymentScale(
      { namespace: NS, name: 'shop', body: { spec: { replicas: 3 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await eventually(() => podNames().size === 3, 30_000, 'lines of three replicas');
    await r.stop();
    expect([...podNames()].sort()).toEqual((await podsOf()).sort());
    // Each pod's lines are that pod's log, in order.
    for (const name of podNames()) {
      const got = r.linesOf('web', name);
      const truth = await logOf(name, 'web');
      const at = truth.indexOf(got[0]);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(got).toEqual(truth.slice(at, at + got.length));
    }
    const missing = await errorOf(
      live.resolvers.Subscription.workloadLogs.subscribe(
        undefined,
        { namespace: NS, kind: 'STATEFUL_SET', name: 'shop' },
        { viewer: admin },
      ),
    );
    expect([missing.extensions.code, missing.message]).toEqual(['NOT_FOUND', `StatefulSet ${NS}/shop not found`]);
  });

  it('workloadLogs goes on when a pod is replaced, and ends with NOT_FOUND when the workload is deleted', async () => {
    await sb.apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'churn' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'churn' } },
          template: {
            metadata: { labels: { app: 'churn' } },
            spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
          },
        },
      },
    });
    const podsOf = async () =>
      (await sb.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=churn' })).items
        .filter((p) => !p.metadata?.deletionTimestamp)
        .map((p) => p.metadata!.name!);
    const [firstPod] = await eventually(async () => ((await podsOf()).length === 1 ? podsOf() : undefined), 30_000);
    const r = read(
      await live.resolvers.Subscription.workloadLogs.subscribe(
        undefined,
        { namespace: NS, kind: 'DEPLOYMENT', name: 'churn', tailLines: 1 },
        { viewer: admin },
      ),
    );
    const podNames = () => new Set(r.chunks.flatMap((c) => c.lines.map((l) => l.podName)));
    await eventually(() => podNames().has(firstPod), 20_000, 'lines of the first pod');
    await sb.core.deleteNamespacedPod({ namespace: NS, name: firstPod, gracePeriodSeconds: 0 });
    await eventually(() => podNames().size === 2, 30_000, 'lines of the replacement pod');
    expect(r.done).toBe(false);
    // The first pod's position left the token once its lines were delivered: only the replacement is in it.
    const token = JSON.parse(Buffer.from(r.lastToken()!, 'base64url').toString()) as { p: Record<string, unknown> };
    expect(Object.keys(token.p)).toEqual([...podNames()].filter((n) => n !== firstPod));
    await sb.apps.deleteNamespacedDeployment({ namespace: NS, name: 'churn' });
    await r.finished;
    expect((r.error as GraphQLError).extensions.code).toBe('NOT_FOUND');
    expect((r.error as GraphQLError).message).toBe(`Deployment ${NS}/churn was deleted`);
  });

  it('Pod.containerLog reads once, the crashed container with previous, and checks its arguments', async () => {
    await sb.core.createNamespacedPod({
      namespace: NS,
      body: podSpec('crashy-1', [['worker', 'example/payment-worker-crash:2.1.0']]),
    });
    await eventually(
      async () =>
        ((await sb.core.readNamespacedPod({ namespace: NS, name: 'crashy-1' })).status?.containerStatuses?.[0]
          ?.restartCount ?? 0) >= 1,
      60_000,
      'the worker crashed once',
    );
    const containerLog = (args: Record<string, unknown>, viewer: Viewer = admin, name = 'crashy-1') =>
      live.resolvers.Pod.containerLog({ namespace: NS, name }, args as never, { viewer });
    const previous = await containerLog({ previous: true });
    expect(previous).toBe(
      await sb.core.readNamespacedPodLog({ namespace: NS, name: 'crashy-1', previous: true, tailLines: 10_000 }),
    );
    expect(previous.trim().length).toBeGreaterThan(0);
    const tail = await containerLog({ container: 'worker', tailLines: 1, previous: true });
    expect(tail).toBe(previous.split('\n').filter(Boolean).slice(-1)[0] + '\n');
    for (const tailLines of [-1, 10_001, 1.5]) {
      const e = await errorOf(containerLog({ tailLines }));
      expect([e.extensions.code, e.extensions.argument]).toEqual(['BAD_USER_INPUT', 'tailLines']);
    }
    expect((await errorOf(containerLog({}, admin, 'no-such-pod'))).extensions.code).toBe('NOT_FOUND');
    expect((await errorOf(containerLog({ container: 'nope' }))).extensions.code).toBe('BAD_USER_INPUT');
    // A container that never crashed has no previous log.
    expect((await errorOf(containerLog({ previous: true }, admin, 'web-1'))).extensions.code).toBe('NOT_FOUND');
  });

  it('authorizes every role before any request to the cluster', async () => {
    await runningPod(podSpec('secret-1', [['nginx', 'nginx:1.27']]), OTHER_NS);
    const roles: [string, Viewer, string | undefined][] = [
      ['platform admin', admin, undefined],
      [
        'project viewer',
        { username: 'pv', platformRole: 'platform-regular', projectRoles: { [NS]: 'project-viewer' } },
        undefined,
      ],
      [
        'project operator',
        { username: 'po', platformRole: 'platform-regular', projectRoles: { [NS]: 'project-operator' } },
        undefined,
      ],
      [
        'project admin',
        { username: 'pa', platformRole: 'platform-regular', projectRoles: { [NS]: 'project-admin' } },
        undefined,
      ],
      [
        'workspace viewer',
        { username: 'wv', platformRole: 'platform-regular', workspaceRoles: { [WS]: 'workspace-viewer' } },
        undefined,
      ],
      [
        'workspace admin',
        { username: 'wa', platformRole: 'platform-regular', workspaceRoles: { [WS]: 'workspace-admin' } },
        undefined,
      ],
      [
        'workspace regular (no project)',
        { username: 'wr', platformRole: 'platform-regular', workspaceRoles: { [WS]: 'workspace-regular' } },
        'FORBIDDEN',
      ],
      [
        'viewer of another project',
        { username: 'ov', platformRole: 'platform-regular', projectRoles: { [NS]: 'project-viewer' } },
        'FORBIDDEN',
      ],
      ['platform regular', { username: 'pr', platformRole: 'platform-regular' }, 'FORBIDDEN'],
      ['anonymous', ANONYMOUS, 'UNAUTHENTICATED'],
    ];
    // The refused calls go to an instance whose every connection to the cluster is counted: there must be none.
    const counted = await cuttableProxy(sb);
    const guarded = createLiveLogResolvers({ kubeConfig: counted.kubeConfig, log: silent, tenancy });
    for (const [role, viewer, refused] of roles) {
      // Every role is asked for OTHER_NS's pod when refused there, and for its own project's pod otherwise.
      const target = refused ? { namespace: OTHER_NS, name: 'secret-1' } : { namespace: NS, name: 'web-1' };
      const via = refused ? guarded : live;
      const calls = [
        () => subscribe(via, viewer, { namespace: target.namespace, pod: target.name, tailLines: 1 }),
        () =>
          via.resolvers.Subscription.workloadLogs.subscribe(
            undefined,
            { namespace: target.namespace, kind: 'DEPLOYMENT', name: 'shop' } as never,
            { viewer },
          ),
        () => via.resolvers.Pod.containerLog(target, { tailLines: 1 }, { viewer }),
      ];
      if (refused) {
        for (const call of calls) expect([role, (await errorOf(call)).extensions.code]).toEqual([role, refused]);
        expect([role, counted.connections()]).toEqual([role, 0]);
      } else {
        const r = read((await calls[0]()) as AsyncIterableIterator<LiveLogChunk>);
        await eventually(() => r.lines().length > 0, 20_000, `${role} reads`);
        await r.stop();
        expect(typeof (await calls[2]())).toBe('string');
      }
    }
    // The same instance does reach the cluster for a caller who may read (the count above could not stay 0 for nothing).
    const r = read(await subscribe(guarded, admin, { namespace: OTHER_NS, pod: 'secret-1', tailLines: 1 }));
    await eventually(() => r.lines().length > 0, 20_000, 'the admin reads through the counted instance');
    await r.stop();
    expect(counted.connections()).toBeGreaterThan(0);
    await guarded.close();
    await counted.close();
  });

  it('lets one user (platform admins aside) hold only so many live subscriptions at once', async () => {
    const limited = createLiveLogResolvers({ kubeConfig: sb.kc, log: silent, tenancy, maxSubscriptionsPerUser: 2 });
    const pv: Viewer = { username: 'pv', platformRole: 'platform-regular', projectRoles: { [NS]: 'project-viewer' } };
    try {
      const open = [
        read(await subscribe(limited, pv, { namespace: NS, pod: 'web-1', tailLines: 1 })),
        read(await subscribe(limited, pv, { namespace: NS, pod: 'web-1', tailLines: 2 })),
      ];
      const refused = await errorOf(subscribe(limited, pv, { namespace: NS, pod: 'web-1', tailLines: 3 }));
      expect([refused.extensions.code, refused.extensions.limit]).toEqual(['BAD_USER_INPUT', 2]);
      // Another user, and the platform admin, are not held back by pv's subscriptions.
      const other = { ...pv, username: 'pv2' };
      const more = [
        read(await subscribe(limited, other, { namespace: NS, pod: 'web-1', tailLines: 1 })),
        read(await subscribe(limited, admin, { namespace: NS, pod: 'web-1', tailLines: 1 })),
        read(await subscribe(limited, admin, { namespace: NS, pod: 'web-1', tailLines: 1 })),
      ];
      await open[0].stop();
      const again = read(await subscribe(limited, pv, { namespace: NS, pod: 'web-1', tailLines: 3 }));
      await eventually(() => again.lines().length > 0, 20_000, 'the new subscription reads');
      for (const r of [open[1], again, ...more]) await r.stop();
    } finally {
      await limited.close();
    }
  });

  it('refuses bad arguments with BAD_USER_INPUT naming them', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ namespace: NS, pod: 'web-1', tailLines: -1 }, 'tailLines'],
      [{ namespace: NS, pod: 'web-1', tailLines: 10_001 }, 'tailLines'],
      [{ namespace: NS, pod: 'web-1', sinceSeconds: 0 }, 'sinceSeconds'],
      [{ namespace: NS, pod: 'web-1', tailLines: 1, sinceSeconds: 5 }, 'sinceSeconds'],
      [{ namespace: NS, pod: '../secrets' }, 'pod'],
      [{ namespace: NS, pod: 'web-1', container: 'a/b' }, 'container'],
      [{ namespace: NS, pod: 'web-1', resumeToken: 'eyJ2IjoxfQ' }, 'resumeToken'],
    ];
    for (const [args, argument] of cases) {
      const e = await errorOf(subscribe(live, admin, args));
      expect([args, e.extensions.code, e.extensions.argument]).toEqual([args, 'BAD_USER_INPUT', argument]);
    }
    const wrong = await errorOf(subscribe(live, admin, { namespace: NS, pod: 'web-1', container: 'sidecar' }));
    expect(wrong.extensions.code).toBe('BAD_USER_INPUT');
    expect(wrong.message).toContain('nginx');
  });
});
