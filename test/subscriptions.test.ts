// Live data end to end: graphql-ws clients subscribe through the gateway, which executes the plan across the
// workloads subgraph and a second subgraph extending Pod, against the sandbox cluster.
import * as k8s from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect as collectFrom, startLiveStack, type Collected, type LiveStack } from './harness/live-stack.js';
import { createBigEvents, openRawWs } from './harness/slow-client.js';
import { eventually } from './harness/sandbox.js';

interface PodEventData {
  podStatusChanged: {
    type: 'ADDED' | 'MODIFIED' | 'DELETED';
    resumeToken: string;
    snapshot?: boolean;
    pod: {
      name: string;
      status?: string;
      ready?: string;
      labels?: Record<string, string>;
      insight?: { summary: string; nameLength: number } | null;
    };
  };
}

const events = (c: Collected<PodEventData>) =>
  c.results.filter((r) => r.data?.podStatusChanged).map((r) => r.data!.podStatusChanged);

function podManifest(ns: string, name: string, labels: Record<string, string>): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
  };
}

describe('subscriptions through the gateway', () => {
  let stack: LiveStack;
  let core: k8s.CoreV1Api;
  const ns = 'live-test';

  beforeAll(async () => {
    // A client may have 100 results waiting (bursts of replay stay far below); the slow-client test goes past it.
    stack = await startLiveStack({ gateway: { subscriptionQueueLimit: 100, keepAliveMs: 300 } });
    core = stack.cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });
  afterAll(async () => {
    await stack?.close();
  });
  // Every subscription a test opens is closed after it, passed or failed, so the next starts with no upstream.
  const open: Collected<unknown>[] = [];
  const collect = <T>(...args: Parameters<typeof collectFrom>): Collected<T> => {
    const c = collectFrom<T>(...args);
    open.push(c as Collected<unknown>);
    return c;
  };
  afterEach(async () => {
    for (const c of open.splice(0)) c.stop();
    await eventually(async () => (await upstreams()) === 0, 10_000, 'every upstream closed after the test');
  });

  const upstreams = () => stack.gatewayMetric('kubegraph_gateway_upstream_subscriptions');
  const setLabel = (name: string, key: string, value: string) =>
    core.patchNamespacedPod(
      { name, namespace: ns, body: { metadata: { labels: { [key]: value } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  const runningPod = async (name: string, labels: Record<string, string>) => {
    await core.createNamespacedPod({ namespace: ns, body: podManifest(ns, name, labels) });
    await eventually(
      async () =>
        (await core.readNamespacedPod({ name, namespace: ns })).status?.containerStatuses?.[0]?.ready === true,
      20_000,
      `${name} running`,
    );
  };

  it('sends ADDED, MODIFIED (running, ready) and DELETED in order, with fields of two subgraphs in every event', async () => {
    const before = await upstreams();
    const c = collect<PodEventData>(
      stack.wsClient(),
      `subscription($ns: String) { podStatusChanged(namespace: $ns, labelSelector: "app=frontend") { type resumeToken pod { name status ready insight { summary nameLength } } } }`,
      { ns: 'shop' },
    );
    await eventually(async () => (await upstreams()) === before + 1, 10_000, 'the upstream subscription');
    const scale = (replicas: number) =>
      stack.gql(
        `mutation { scaleWorkload(namespace: "shop", kind: DEPLOYMENT, name: "frontend", replicas: ${replicas}) { name } }`,
      );
    expect((await scale(4)).errors).toBeUndefined();
    const added = await eventually(() => events(c).find((e) => e.type === 'ADDED'), 20_000, 'an ADDED event');
    const newPod = added.pod.name;
    await eventually(
      () =>
        events(c).some(
          (e) => e.pod.name === newPod && e.type === 'MODIFIED' && e.pod.status === 'RUNNING' && e.pod.ready === '1/1',
        ),
      20_000,
      'the new pod running',
    );
    expect((await scale(3)).errors).toBeUndefined();
    const deleted = await eventually(() => events(c).find((e) => e.type === 'DELETED'), 20_000, 'a DELETED event');

    const all = events(c);
    // Per pod: one ADDED first (for pods that were new), DELETED last, and tokens always increasing.
    const ofNew = all.filter((e) => e.pod.name === newPod).map((e) => e.type);
    expect(ofNew[0]).toBe('ADDED');
    expect(ofNew.slice(1).every((t) => t === 'MODIFIED' || t === 'DELETED')).toBe(true);
    const ofDeleted = all.filter((e) => e.pod.name === deleted.pod.name);
    expect(ofDeleted[ofDeleted.length - 1].type).toBe('DELETED');
    expect(ofDeleted.some((e) => e.pod.status === 'TERMINATING')).toBe(true);
    const tokens = all.map((e) => BigInt(e.resumeToken));
    expect(tokens.every((t, i) => i === 0 || t > tokens[i - 1])).toBe(true);
    // The insight subgraph's field is in every event, for the pod of that event.
    for (const e of all)
      expect(e.pod.insight).toEqual({ summary: `shop/${e.pod.name}`, nameLength: e.pod.name.length });
    expect(c.results.every((r) => !r.errors)).toBe(true);
    c.stop();
    await eventually(async () => (await upstreams()) === before, 10_000, 'the upstream closed with its last client');
  });

  it('does not send a MODIFIED that changes nothing the subscriber selected', async () => {
    await runningPod('quiet', { app: 'quiet' });
    const narrow = collect<PodEventData>(
      stack.wsClient(),
      `subscription { podStatusChanged(namespace: "${ns}", labelSelector: "app=quiet") { type pod { name status } } }`,
    );
    const wide = collect<PodEventData>(
      stack.wsClient(),
      `subscription { podStatusChanged(namespace: "${ns}", labelSelector: "app=quiet") { type pod { name status labels } } }`,
    );
    await eventually(async () => (await upstreams()) === 2, 10_000, 'both upstream subscriptions');
    await core.patchNamespacedPod(
      { name: 'quiet', namespace: ns, body: { metadata: { annotations: { note: 'only an annotation' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await setLabel('quiet', 'color', 'blue');
    await eventually(
      () => events(wide).some((e) => e.pod.labels?.color === 'blue'),
      10_000,
      'the label change for the subscriber that selects labels',
    );
    await core.deleteNamespacedPod({ name: 'quiet', namespace: ns, gracePeriodSeconds: 0 });
    await eventually(() => events(narrow).some((e) => e.type === 'DELETED'), 10_000, 'DELETED');
    // Neither the annotation nor the label changed the name or status: the narrow subscriber saw only the deletion.
    expect(events(narrow).map((e) => e.type)).toEqual(['DELETED']);
    expect(
      events(wide).filter((e) => e.type === 'MODIFIED' && e.pod.labels?.color === 'blue' && e.pod.status === 'RUNNING'),
    ).toHaveLength(1);
    narrow.stop();
    wide.stop();
    await eventually(async () => (await upstreams()) === 0, 10_000, 'no upstream left');
  });

  it('shares one upstream subscription and one enrichment per event between clients with the same subscription', async () => {
    await runningPod('shared', { app: 'shared', step: '0' });
    const query = `subscription { podStatusChanged(namespace: "${ns}", labelSelector: "app=shared") { type pod { name labels insight { summary } } } }`;
    const a = collect<PodEventData>(stack.wsClient(), query);
    const b = collect<PodEventData>(stack.wsClient(), query);
    await eventually(
      async () => (await stack.gatewayMetric('kubegraph_gateway_subscriptions_active')) === 2,
      10_000,
      'two client subscriptions',
    );
    expect(await upstreams()).toBe(1);
    const requestsBefore = stack.insight.stats.requests;
    for (let i = 1; i <= 5; i++) await setLabel('shared', 'step', String(i));
    for (const c of [a, b]) await eventually(() => events(c).some((e) => e.pod.labels?.step === '5'), 10_000, 'step 5');
    expect(events(a).map((e) => e.pod.labels?.step)).toEqual(['1', '2', '3', '4', '5']);
    expect(events(b)).toEqual(events(a));
    // One _entities request per event, not one per client and event.
    expect(stack.insight.stats.requests - requestsBefore).toBe(5);
    a.stop();
    await eventually(
      async () => (await stack.gatewayMetric('kubegraph_gateway_subscriptions_active')) === 1,
      10_000,
      'one client left',
    );
    expect(await upstreams()).toBe(1);
    b.stop();
    await eventually(async () => (await upstreams()) === 0, 10_000, 'the last client closed the upstream');
  });

  it('turns a failing entity fetch into an error on that event only', async () => {
    await runningPod('flaky-one', { app: 'flaky' });
    await runningPod('steady-one', { app: 'flaky' });
    const c = collect<PodEventData>(
      stack.wsClient(),
      `subscription { podStatusChanged(namespace: "${ns}", labelSelector: "app=flaky") { type pod { name labels insight { summary } } } }`,
    );
    await eventually(async () => (await upstreams()) === 1, 10_000, 'the upstream subscription');
    stack.insight.failFor = 'flaky';
    try {
      await setLabel('flaky-one', 'v', '1');
      await setLabel('steady-one', 'v', '1');
      await eventually(() => events(c).some((e) => e.pod.name === 'steady-one'), 10_000, 'the next event');
    } finally {
      stack.insight.failFor = undefined;
    }
    const [failed, next] = c.results;
    expect(failed.data?.podStatusChanged.pod).toMatchObject({
      name: 'flaky-one',
      labels: { app: 'flaky', v: '1' },
      insight: null,
    });
    expect(failed.errors?.[0].message).toContain('insight unavailable for flaky-one');
    expect(next.errors).toBeUndefined();
    expect(next.data?.podStatusChanged.pod.insight).toEqual({ summary: `${ns}/steady-one` });
    expect(c.done).toBe(false);
    c.stop();
  });

  it('sends DELETED when a pod leaves the selector and ADDED when it comes back, as a Kubernetes watch does', async () => {
    await runningPod('mover', { app: 'mover', tier: 'gold' });
    const c = collect<PodEventData>(
      stack.wsClient(),
      `subscription { podStatusChanged(namespace: "${ns}", labelSelector: "app=mover,tier=gold", fieldSelector: "status.phase=Running") { type pod { name labels } } }`,
    );
    await eventually(async () => (await upstreams()) === 1, 10_000, 'the upstream subscription');
    await setLabel('mover', 'tier', 'silver');
    await setLabel('mover', 'note', 'unseen');
    await setLabel('mover', 'tier', 'gold');
    await eventually(() => events(c).length >= 2 || undefined, 10_000, 'two events');
    expect(events(c).map((e) => `${e.type}:${e.pod.labels?.tier}`)).toEqual(['DELETED:silver', 'ADDED:gold']);
  });

  it('refuses bad arguments with a coded error', async () => {
    const c = collect(stack.wsClient(), `subscription { podStatusChanged(labelSelector: "app in (") { type } }`);
    await eventually(() => c.done || undefined, 10_000, 'the subscription to end');
    expect(c.results[0]?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const t = collect(stack.wsClient(), `subscription { podStatusChanged(resumeToken: "yesterday") { type } }`);
    await eventually(() => t.done || undefined, 10_000, 'the subscription to end');
    expect(t.results[0]?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const f = collect(stack.wsClient(), `subscription { podStatusChanged(fieldSelector: "spec.color=blue") { type } }`);
    await eventually(() => f.done || undefined, 10_000, 'the subscription to end');
    expect(f.results[0]?.errors?.[0]).toMatchObject({
      message: expect.stringContaining('field label not supported: spec.color'),
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(await upstreams()).toBe(0);
  });

  it('resumes from a resumeToken: what changed after it, once, in order', async () => {
    await runningPod('resumed', { app: 'resumed', step: '0' });
    const query = `subscription($t: String) { podStatusChanged(namespace: "${ns}", labelSelector: "app=resumed", resumeToken: $t) { type resumeToken snapshot pod { name labels } } }`;
    const first = collect<PodEventData>(stack.wsClient(), query, {});
    await eventually(async () => (await upstreams()) === 1, 10_000, 'the upstream subscription');
    for (let i = 1; i <= 6; i++) await setLabel('resumed', 'step', String(i));
    await eventually(() => events(first).length >= 6 || undefined, 10_000, 'six events');
    const seen = events(first);
    const third = seen[2];
    const again = collect<PodEventData>(stack.wsClient(), query, { t: third.resumeToken });
    await eventually(() => events(again).length >= 3 || undefined, 10_000, 'the replay');
    expect(events(again)).toEqual(seen.slice(3));
    first.stop();
    again.stop();
  });

  it('loses and repeats nothing while the workloads subgraph restarts and the API server drops its watches', async () => {
    await runningPod('counter', { app: 'counter', step: '0' });
    const query = `subscription { podStatusChanged(namespace: "${ns}", labelSelector: "app=counter") { type pod { name labels } } }`;
    const other = `subscription { podStatusChanged(namespace: "${ns}", labelSelector: "app=counter") { type resumeToken pod { labels insight { nameLength } } } }`;
    const clients = [
      collect<PodEventData>(stack.wsClient(), query),
      collect<PodEventData>(stack.wsClient(), query),
      collect<PodEventData>(stack.wsClient(), other),
    ];
    await eventually(async () => (await upstreams()) === 2, 10_000, 'the upstream subscriptions');
    const restarts = (async () => {
      // Faults while the changes go on: the subgraph goes down and comes back (twice), the API server drops watches.
      await new Promise((r) => setTimeout(r, 300));
      await stack.restartWorkloads(200);
      stack.cluster.sandbox.server.closeWatches();
      await new Promise((r) => setTimeout(r, 300));
      await stack.restartWorkloads(0);
      stack.cluster.sandbox.server.closeWatches();
    })();
    for (let i = 1; i <= 200; i++) await setLabel('counter', 'step', String(i));
    await restarts;
    const expected = Array.from({ length: 200 }, (_, i) => String(i + 1));
    for (const c of clients) {
      await eventually(
        () => events(c).some((e) => e.pod.labels?.step === '200'),
        30_000,
        'the last change at every client',
      );
      expect(events(c).map((e) => e.pod.labels?.step)).toEqual(expected);
      expect(c.results.every((r) => !r.errors)).toBe(true);
      expect(c.done).toBe(false);
    }
    expect(await stack.gatewayMetric('kubegraph_gateway_upstream_resubscribes_total')).toBeGreaterThanOrEqual(4);
    for (const c of clients) c.stop();
  });

  it('streams workload changes and Kubernetes Events', async () => {
    const w = collect<{
      workloadStatusChanged: {
        type: string;
        workload: { name: string; replicas: number; readyReplicas: number | null };
      };
    }>(
      stack.wsClient(),
      `subscription { workloadStatusChanged(namespace: "shop", kind: DEPLOYMENT, name: "api") { type workload { name replicas readyReplicas } } }`,
    );
    const e = collect<{
      events: { type: string; event: { reason: string; involvedObject: { kind: string; name: string } } };
    }>(
      stack.wsClient(),
      `subscription { events(namespace: "${ns}", involvedObject: { kind: "Pod", name: "ev-pod" }) { type event { reason involvedObject { kind name } } } }`,
    );
    await eventually(async () => (await upstreams()) === 2, 10_000, 'both upstream subscriptions');
    const original = (
      await stack.gql<{ workload: { replicas: number } }>(
        `{ workload(namespace: "shop", kind: DEPLOYMENT, name: "api") { replicas } }`,
      )
    ).data!.workload.replicas;
    await stack.gql(
      `mutation { scaleWorkload(namespace: "shop", kind: DEPLOYMENT, name: "api", replicas: ${original + 2}) { name } }`,
    );
    await eventually(
      () => w.results.some((r) => r.data?.workloadStatusChanged.workload.readyReplicas === original + 2),
      20_000,
      'the scaled deployment ready',
    );
    expect(
      w.results.every(
        (r) =>
          r.data?.workloadStatusChanged.workload.name === 'api' && r.data.workloadStatusChanged.type === 'MODIFIED',
      ),
    ).toBe(true);
    await stack.gql(
      `mutation { scaleWorkload(namespace: "shop", kind: DEPLOYMENT, name: "api", replicas: ${original}) { name } }`,
    );

    await runningPod('ev-pod', { app: 'ev' });
    await runningPod('other-pod', { app: 'ev' });
    await eventually(
      () => e.results.some((r) => r.data?.events.event.reason === 'Started'),
      20_000,
      'the Started event of ev-pod',
    );
    const reasons = e.results.map((r) => r.data?.events.event.reason);
    expect(reasons).toContain('Scheduled');
    expect(e.results.every((r) => r.data?.events.type === 'ADDED' || r.data?.events.type === 'MODIFIED')).toBe(true);
    expect(e.results.every((r) => r.data?.events.event.involvedObject.name === 'ev-pod')).toBe(true);
  });

  it('pings its clients, and drops one that stops answering', async () => {
    const silent = await openRawWs(stack.gateway.url);
    let pings = 0;
    silent.ws.on('ping', () => pings++);
    silent.ws.send(JSON.stringify({ type: 'connection_init' }));
    await eventually(() => pings >= 2 || undefined, 5_000, 'keep-alive pings from the gateway (every 300 ms here)');
    expect(await stack.gatewayMetric('kubegraph_gateway_ws_connections')).toBe(1);
    // A client that stops reading stops answering pings too: the gateway closes it after one unanswered ping.
    silent.pause();
    await eventually(
      async () => (await stack.gatewayMetric('kubegraph_gateway_ws_connections')) === 0,
      10_000,
      'the gateway to drop the silent client',
    );
    silent.resume();
    await silent.closed;
  });

  it('cuts off a client that stops reading once its queue is full', async () => {
    // Pings every minute: here it is the bounded queue, not the keep-alive, that ends the connection.
    const gateway = await stack.startGateway({ subscriptionQueueLimit: 100, keepAliveMs: 60_000 });
    const slow = await openRawWs(gateway.url);
    await slow.init();
    slow.subscribe('1', `subscription { events(namespace: "${ns}") { type event { message } } }`);
    const metric = (name: string) => stack.gatewayMetric(name, gateway);
    await eventually(
      async () => (await metric('kubegraph_gateway_upstream_subscriptions')) === 1,
      10_000,
      'the upstream subscription',
    );
    slow.pause();
    // Large events until the kernel's buffers are full and the client's queue overflows.
    const cutOff = () => metric('kubegraph_gateway_subscription_clients_cut_off_total');
    await createBigEvents(core, ns, 'nobody', async () => (await cutOff()) !== 0);
    expect(await cutOff()).toBe(1);
    slow.resume();
    await slow.closed;
    await eventually(
      async () => (await metric('kubegraph_gateway_upstream_subscriptions')) === 0,
      10_000,
      'the cut-off client’s upstream closed',
    );
  });
});

describe('a resumeToken older than the API server keeps', () => {
  let stack: LiveStack;
  beforeAll(async () => {
    // A short history on the API server: the demo seed alone pushes version 1 out of it.
    stack = await startLiveStack({ sandbox: { historySize: 50 } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('ends with RESUME_EXPIRED and no event; listing again gives a token that follows the live changes', async () => {
    const stale = collectFrom<PodEventData>(
      stack.wsClient(),
      `subscription { podStatusChanged(namespace: "shop", resumeToken: "1") { type resumeToken pod { name } } }`,
    );
    await eventually(() => stale.done || undefined, 20_000, 'the stale subscription to end');
    expect(events(stale)).toEqual([]);
    expect(stale.results.flatMap((r) => r.errors ?? []).map((e) => e.extensions?.code)).toEqual(['RESUME_EXPIRED']);

    // What the error tells the client to do: list again, subscribe with that list's token.
    const listed = (
      await stack.gql<{ pods: { resumeToken: string; edges: { node: { name: string } }[] } }>(
        `{ pods(namespace: "shop", first: 100) { resumeToken edges { node { name } } } }`,
      )
    ).data!.pods;
    const c = collectFrom<PodEventData>(
      stack.wsClient(),
      `subscription($t: String) { podStatusChanged(namespace: "shop", resumeToken: $t) { type resumeToken pod { name } } }`,
      { t: listed.resumeToken },
    );
    const victim = listed.edges[0].node.name;
    await stack.gql(`mutation { deletePod(namespace: "shop", name: "${victim}") }`);
    await eventually(
      () => events(c).some((e) => e.type === 'DELETED' && e.pod.name === victim),
      20_000,
      'the deletion after the list',
    );
    // Nothing the list already showed is sent again as ADDED.
    expect(events(c).filter((e) => e.type === 'ADDED' && listed.edges.some((l) => l.node.name === e.pod.name))).toEqual(
      [],
    );
    expect(c.results.every((r) => !r.errors)).toBe(true);
    c.stop();
  });
});
