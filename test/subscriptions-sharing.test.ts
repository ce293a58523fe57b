// Who shares a subscription's work (issue 19 §2): clients with the same document, variables and authorization scope
// share one upstream and one execution per event (each result serialized once and written to every socket); another
// user, even with the same roles, or the same document under other roles, gets a stream of its own. And a client that
// stops reading falls behind alone: it is cut off when its queue is full, the others on the same execution go on.
import * as k8s from '@kubernetes/client-node';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator, Identity } from '../gateway/identity.js';
import { collect, startLiveStack, type Collected, type LiveStack } from './harness/live-stack.js';
import { createBigEvents, openRawWs } from './harness/slow-client.js';
import { eventually } from './harness/sandbox.js';

const SECRET = 'subscriptions-sharing-test-secret-0123456789';
/** Tokens and who they are: two connections of one admin, another admin, and a user with no role in any project. */
const PEOPLE: Record<string, Identity> = {
  'root-1': { username: 'root', platformRole: 'platform-admin' },
  'root-2': { username: 'root', platformRole: 'platform-admin' },
  ops: { username: 'ops', platformRole: 'platform-admin' },
  alice: { username: 'alice', platformRole: 'platform-regular' },
};
const authenticator: Authenticator = {
  authenticate: async (token) => {
    const who = token ? PEOPLE[token] : undefined;
    if (!who) throw new Error('unknown token');
    return { ...who };
  },
};

interface PodEvent {
  podStatusChanged: { type: string; pod: { name: string; namespace: string; labels?: Record<string, string> } };
}
const steps = (c: Collected<PodEvent>) =>
  c.results.filter((r) => r.data?.podStatusChanged).map((r) => r.data!.podStatusChanged.pod.labels?.step);

describe('sharing of gateway subscriptions', () => {
  let stack: LiveStack;
  let core: k8s.CoreV1Api;
  const clients: Client[] = [];
  const ns = 'share-test';

  beforeAll(async () => {
    // Identities signed and checked by the workloads subgraph, so its answers depend on who subscribes.
    stack = await startLiveStack({
      workloads: { identitySecret: SECRET },
      gateway: { identitySecret: SECRET, authenticator, subscriptionQueueLimit: 20, keepAliveMs: 60_000 },
    });
    core = stack.cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'shared', namespace: ns, labels: { app: 'shared', step: '0' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
      },
    });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await stack?.close();
  });

  const client = (token: string) => {
    const c = createClient({
      url: stack.gateway.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { token },
    });
    clients.push(c);
    return c;
  };
  const metric = (name: string) => stack.gatewayMetric(name);
  const setStep = (step: number) =>
    core.patchNamespacedPod(
      { name: 'shared', namespace: ns, body: { metadata: { labels: { step: String(step) } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );

  it('shares one execution per event within one scope, and never across users or roles', async () => {
    const query = `subscription { podStatusChanged(labelSelector: "app=shared") { type pod { name namespace labels insight { summary } } } }`;
    const subs = Object.fromEntries(Object.keys(PEOPLE).map((t) => [t, collect<PodEvent>(client(t), query)]));
    await eventually(async () => (await metric('kubegraph_gateway_subscriptions_active')) === 4, 20_000, '4 clients');
    // root's two connections share; ops (same roles, another user) and alice (other roles) each have their own.
    expect(await metric('kubegraph_gateway_upstream_subscriptions')).toBe(3);
    const requestsBefore = stack.insight.stats.requests;
    for (let i = 1; i <= 3; i++) await setStep(i);
    for (const t of ['root-1', 'root-2', 'ops'])
      await eventually(() => steps(subs[t]).includes('3'), 20_000, `step 3 at ${t}`);
    for (const t of ['root-1', 'root-2', 'ops'])
      expect(steps(subs[t]).filter((s) => s !== '0')).toEqual(['1', '2', '3']);
    // alice may see no pod of a project she is not a member of: nothing of root's stream reached her.
    expect(subs.alice.results.filter((r) => r.data?.podStatusChanged)).toEqual([]);
    expect(subs.alice.done).toBe(false);
    // One entity fetch per event and execution: root's (shared by two clients) and ops', none for alice's.
    expect(stack.insight.stats.requests - requestsBefore).toBe(3 * 2);
    for (const s of Object.values(subs)) s.stop();
    await eventually(async () => (await metric('kubegraph_gateway_upstream_subscriptions')) === 0, 10_000, 'closed');
  });

  it('cuts off a client that stops reading, alone: the others on its execution get every event', async () => {
    const query = `subscription { events(namespace: "${ns}") { type event { name message } } }`;
    const fast = collect<{ events: { event: { name: string } } }>(client('root-1'), query);
    // The slow client: the same user and document (the same execution), over a socket it stops reading.
    const slow = await openRawWs(stack.gateway.url);
    await slow.init({ token: 'root-2' });
    slow.subscribe('1', query);
    await eventually(async () => (await metric('kubegraph_gateway_subscriptions_active')) === 2, 10_000, 'two clients');
    expect(await metric('kubegraph_gateway_upstream_subscriptions')).toBe(1);
    slow.pause();
    const cutOff = () => metric('kubegraph_gateway_subscription_clients_cut_off_total');
    const created = await createBigEvents(core, ns, 'shared', async () => (await cutOff()) !== 0);
    expect(await cutOff()).toBe(1);
    // The fast client got every event, in order, and is still subscribed; the upstream stays for it.
    const names = () => fast.results.map((r) => r.data?.events.event.name).filter((n) => n?.startsWith('big-'));
    await eventually(() => names().length === created, 30_000, 'every event at the fast client');
    expect(names()).toEqual(Array.from({ length: created }, (_, i) => `big-${i}`));
    expect(fast.done).toBe(false);
    expect(await metric('kubegraph_gateway_upstream_subscriptions')).toBe(1);
    slow.resume();
    await slow.closed;
    fast.stop();
  });
});
