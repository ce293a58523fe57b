// List, then watch, with nothing missed (issue 17 §2): a client lists through the gateway, then subscribes with the
// list's resumeToken while 200 changes are being made. Every change made after the list must arrive exactly once and
// in order, and nothing the list already showed may come again; a token older than every kept history (the
// subgraph's and the API server's) must end the subscription with RESUME_EXPIRED, never with a silent gap.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startLiveStack, type Collected, type LiveStack } from './harness/live-stack.js';
import { eventually } from './harness/sandbox.js';

const CHANGES = 200;
const OBJECTS = 5;
const SEQ = 'kubegraph.test/seq';

/** One event as the test reads it, whatever the subscription. */
interface Seen {
  type: string;
  token: bigint;
  name: string;
  seq: string | undefined;
}

type Result = Collected<Record<string, unknown>>['results'][number];

interface Case {
  kind: string;
  namespace: string;
  /** Creates the OBJECTS objects the changes are made to. */
  create(api: Apis, name: string): Promise<unknown>;
  /** The list query: its data gives the token and each listed object's name and resourceVersion. */
  list: string;
  listed(data: Record<string, unknown>): { token: string; versions: Map<string, bigint> };
  subscription: string;
  seen(r: Result): Seen | undefined;
  /** Sets the SEQ annotation of an object; the object's new resourceVersion. */
  annotate(api: Apis, name: string, seq: string): Promise<string | undefined>;
}

interface Apis {
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
}

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const seqPatch = (seq: string) => ({ metadata: { annotations: { [SEQ]: seq } } });

interface Node {
  name: string;
  resourceVersion: string;
}
const connection = (c: unknown) => c as { resumeToken: string; edges: { node: Node }[] };
const listedOf = (c: unknown) => {
  const conn = connection(c);
  return {
    token: conn.resumeToken,
    versions: new Map(conn.edges.map((e) => [e.node.name, BigInt(e.node.resourceVersion)])),
  };
};
const seenOf = (field: string, objectField: string) => (r: Result) => {
  const d = r.data?.[field] as { type: string; resumeToken: string; [k: string]: unknown } | undefined;
  if (!d) return undefined;
  const o = d[objectField] as { name: string; annotations: Record<string, string> };
  return { type: d.type, token: BigInt(d.resumeToken), name: o.name, seq: o.annotations[SEQ] };
};

const CASES: Case[] = [
  {
    kind: 'pods',
    namespace: 'lw-pods',
    create: (api, name) =>
      api.core.createNamespacedPod({
        namespace: 'lw-pods',
        body: { metadata: { name }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
      }),
    list: `{ pods(namespace: "lw-pods", first: 100) { resumeToken edges { node { name resourceVersion } } } }`,
    listed: (d) => listedOf(d.pods),
    subscription: `subscription($t: String) { podStatusChanged(namespace: "lw-pods", resumeToken: $t) {
      type resumeToken pod { name annotations } } }`,
    seen: seenOf('podStatusChanged', 'pod'),
    annotate: async (api, name, seq) =>
      (await api.core.patchNamespacedPod({ name, namespace: 'lw-pods', body: seqPatch(seq) }, mergePatch)).metadata
        ?.resourceVersion,
  },
  {
    // A list over every workload kind: its token carries each kind's version; the subscription is to Deployments.
    kind: 'workloads',
    namespace: 'lw-workloads',
    create: (api, name) =>
      api.apps.createNamespacedDeployment({
        namespace: 'lw-workloads',
        body: {
          metadata: { name },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: name } },
            template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
          },
        },
      }),
    list: `{ workloads(namespace: "lw-workloads", first: 100) { resumeToken edges { node { name resourceVersion } } } }`,
    listed: (d) => listedOf(d.workloads),
    subscription: `subscription($t: String) { workloadStatusChanged(namespace: "lw-workloads", kind: DEPLOYMENT, resumeToken: $t) {
      type resumeToken workload { name annotations } } }`,
    seen: seenOf('workloadStatusChanged', 'workload'),
    annotate: async (api, name, seq) =>
      (await api.apps.patchNamespacedDeployment({ name, namespace: 'lw-workloads', body: seqPatch(seq) }, mergePatch))
        .metadata?.resourceVersion,
  },
  {
    kind: 'events',
    namespace: 'lw-events',
    create: (api, name) =>
      api.core.createNamespacedEvent({
        namespace: 'lw-events',
        body: {
          metadata: { name },
          involvedObject: { kind: 'ConfigMap', namespace: 'lw-events', name: 'settings', apiVersion: 'v1' },
          reason: 'Tested',
          message: 'list then watch',
          type: 'Normal',
          count: 1,
        },
      }),
    list: `{ events(namespace: "lw-events", first: 100) { resumeToken edges { node { name resourceVersion } } } }`,
    listed: (d) => listedOf(d.events),
    subscription: `subscription($t: String) { events(namespace: "lw-events", resumeToken: $t) {
      type resumeToken event { name annotations } } }`,
    seen: seenOf('events', 'event'),
    annotate: async (api, name, seq) =>
      (await api.core.patchNamespacedEvent({ name, namespace: 'lw-events', body: seqPatch(seq) }, mergePatch)).metadata
        ?.resourceVersion,
  },
];

const errorsOf = (c: Collected<Record<string, unknown>>) => c.results.flatMap((r) => r.errors ?? []);

describe('list, then subscribe with the list’s resumeToken, while 200 changes are made', () => {
  let stack: LiveStack;
  let api: Apis;

  beforeAll(async () => {
    stack = await startLiveStack();
    api = {
      core: stack.cluster.kc.makeApiClient(k8s.CoreV1Api),
      apps: stack.cluster.kc.makeApiClient(k8s.AppsV1Api),
    };
  });
  afterAll(async () => {
    await stack?.close();
  });

  for (const c of CASES) {
    it(`${c.kind}: every change after the list arrives exactly once, in order`, async () => {
      await api.core.createNamespace({ body: { metadata: { name: c.namespace } } });
      const names = Array.from({ length: OBJECTS }, (_, i) => `${c.kind}-${i}`);
      for (const n of names) await c.create(api, n);
      // The list must show the objects (the subgraph's caches follow the API server's watch).
      const listed = await eventually(
        async () => {
          const r = await stack.gql(c.list);
          expect(r.errors).toBeUndefined();
          const l = c.listed(r.data!);
          return names.every((n) => l.versions.has(n)) ? l : undefined;
        },
        20_000,
        `the ${c.kind} listed`,
      );
      expect(listed.token).not.toBe('');

      // Subscribe, and make the changes at the same time: some land before the subscription is open, some after.
      const sub = collect(stack.wsClient(), c.subscription, { t: listed.token });
      const written = new Map<bigint, string>(); // resourceVersion → seq
      await Promise.all(
        names.map(async (name, lane) => {
          for (let i = lane; i < CHANGES; i += OBJECTS) {
            const rv = await c.annotate(api, name, String(i));
            written.set(BigInt(rv!), String(i));
          }
        }),
      );
      expect(written.size).toBe(CHANGES);

      const seen = () => sub.results.map(c.seen).filter((s): s is Seen => s !== undefined);
      await eventually(
        () => {
          if (errorsOf(sub).length) return true;
          const tokens = new Set(seen().map((s) => s.token));
          return [...written.keys()].every((rv) => tokens.has(rv));
        },
        60_000,
        `every ${c.kind} change`,
      );
      expect(errorsOf(sub)).toEqual([]);
      const events = seen();
      sub.stop();

      // In order, none twice: the tokens (resourceVersions) strictly increase.
      for (let i = 1; i < events.length; i++)
        expect(events[i].token > events[i - 1].token, `event ${i} after event ${i - 1}`).toBe(true);
      // Each change exactly once, as it was made.
      for (const [rv, seq] of written) {
        const matching = events.filter((e) => e.token === rv);
        expect(matching).toHaveLength(1);
        expect(matching[0]).toMatchObject({ type: 'MODIFIED', seq });
      }
      // Nothing the list already showed: every event is newer than the version of the object the list gave.
      for (const e of events) {
        const shown = listed.versions.get(e.name);
        if (shown !== undefined) expect(e.token > shown, `${e.name} at ${e.token}, listed at ${shown}`).toBe(true);
      }
      // The first change of each object (seq 0..OBJECTS-1) was made right after the list, so none may be missing
      // from the start of the stream: the seqs of each object come in the order they were written.
      for (const name of names) {
        const seqs = events.filter((e) => e.name === name && e.seq !== undefined).map((e) => Number(e.seq));
        const distinct = seqs.filter((s, i) => i === 0 || s !== seqs[i - 1]);
        expect(distinct).toEqual([...written.values()].map(Number).filter((s) => s % OBJECTS === names.indexOf(name)));
      }
    });
  }
  it('gives a second client subscribing with the same token every change too, not the rest of the first one’s', async () => {
    const pods = CASES[0];
    const r = await stack.gql(pods.list);
    const { token } = pods.listed(r.data!);
    const first = collect(stack.wsClient(), pods.subscription, { t: token });
    const written: bigint[] = [];
    for (let i = 0; i < 20; i++) written.push(BigInt((await pods.annotate(api, 'pods-0', `again-${i}`))!));
    const tokensOf = (c: Collected<Record<string, unknown>>) => new Set(c.results.map(pods.seen).map((e) => e?.token));
    await eventually(() => written.every((rv) => tokensOf(first).has(rv)), 30_000, 'the first client’s events');
    // Same operation, same token, later: a client listing at the same moment as the first would do this.
    const second = collect(stack.wsClient(), pods.subscription, { t: token });
    await eventually(() => written.every((rv) => tokensOf(second).has(rv)), 30_000, 'the second client’s events');
    expect(errorsOf(second)).toEqual([]);
    first.stop();
    second.stop();
  });
});

describe('a resumeToken older than every kept history', () => {
  let stack: LiveStack;
  let api: Apis;

  beforeAll(async () => {
    // Short histories: the subgraph keeps 20 changes per kind, the API server 50 in all (then 410 Gone).
    stack = await startLiveStack({ sandbox: { historySize: 50 }, workloads: { live: { historySize: 20 } } });
    api = {
      core: stack.cluster.kc.makeApiClient(k8s.CoreV1Api),
      apps: stack.cluster.kc.makeApiClient(k8s.AppsV1Api),
    };
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('gets RESUME_EXPIRED, telling the client to list again, and no event', async () => {
    await api.core.createNamespace({ body: { metadata: { name: 'lw-stale' } } });
    const r = await stack.gql<{ pods: { resumeToken: string }; workloads: { resumeToken: string } }>(
      `{ pods(namespace: "lw-stale") { resumeToken } workloads(namespace: "lw-stale") { resumeToken } }`,
    );
    expect(r.errors).toBeUndefined();
    // Enough pod and deployment changes to push both tokens out of both histories.
    await api.core.createNamespacedPod({
      namespace: 'lw-stale',
      body: { metadata: { name: 'churn' }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
    });
    await api.apps.createNamespacedDeployment({
      namespace: 'lw-stale',
      body: {
        metadata: { name: 'churn' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'churn' } },
          template: { metadata: { labels: { app: 'churn' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
        },
      },
    });
    for (let i = 0; i < 80; i++) {
      await api.core.patchNamespacedPod(
        { name: 'churn', namespace: 'lw-stale', body: seqPatch(String(i)) },
        mergePatch,
      );
      await api.apps.patchNamespacedDeployment(
        { name: 'churn', namespace: 'lw-stale', body: seqPatch(String(i)) },
        mergePatch,
      );
    }

    for (const [query, token] of [
      [
        `subscription($t: String) { podStatusChanged(namespace: "lw-stale", resumeToken: $t) { type resumeToken pod { name annotations } } }`,
        r.data!.pods.resumeToken,
      ],
      [
        `subscription($t: String) { workloadStatusChanged(namespace: "lw-stale", kind: DEPLOYMENT, resumeToken: $t) { type resumeToken workload { name annotations } } }`,
        r.data!.workloads.resumeToken,
      ],
    ]) {
      const sub = collect(stack.wsClient(), query, { t: token });
      await eventually(() => sub.done || errorsOf(sub).length > 0, 30_000, 'the subscription to end');
      await eventually(() => sub.done, 10_000, 'the subscription to complete');
      const errors = errorsOf(sub);
      expect(errors).toHaveLength(1);
      expect(errors[0].extensions?.code).toBe('RESUME_EXPIRED');
      expect(errors[0].message).toMatch(/list again/);
      // Never a silent gap: no event came before the error.
      expect(sub.results.filter((x) => x.data)).toEqual([]);
    }
  });
});
