// Pod status through the gateway, state by state, compared with what kubectl prints for the same pod: `status` (the
// enum), `statusText` (kubectl's STATUS text), `phase`, `ready` (n/m), `restarts` and `age`. Pods are made to reach
// each state on the sandbox's simulated kubelet (services/sandbox/controllers/kubelet.ts) at its real-time speed:
// unschedulable, image pulls (slow: ContainerCreating), images named to fail (`doesnotexist`) or crash (`crash`),
// commands that exit 0 or 1 under restartPolicy Never, a finalizer holding a deleted pod, init containers that run,
// fail, or crash-loop.
//
// Two oracles, both kubectl 1.35 on the sandbox's kubeconfig: `kubectl get pod <name> --no-headers` for the states a
// pod stays in, and one `kubectl get pods -w` for the whole namespace, whose rows record every state a pod went
// through (transient ones like ContainerCreating and Init:0/1 included). The gateway's side of the transient states
// is a podStatusChanged subscription over graphql-ws, which sees every change too. The sandbox's Tables use the same
// printer module as the workloads subgraph, so each case also asserts the literal text kubectl's printer gives.
import type { ChildProcess } from 'node:child_process';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';

let stack: TestStack;
const ns = `pod-status-${Date.now().toString(36)}`;

/** What the gateway shows of a pod (and what a kubectl row shows: statusText, ready, restarts, age). */
interface Shown {
  name: string;
  status: string;
  statusText: string;
  phase: string;
  ready: string;
  restarts: number;
  age: string;
  createdAt: string;
}
const FIELDS = 'name status statusText phase ready restarts age createdAt';

interface KubectlRow {
  name: string;
  ready: string;
  status: string;
  restarts: number;
  age: string;
}

/** A `--no-headers` row: NAME READY STATUS RESTARTS AGE, where RESTARTS may read `2 (5s ago)`. */
function parseRow(line: string): KubectlRow | undefined {
  const m = /^(\S+)\s+(\d+\/\d+)\s+(\S+)\s+(\d+)(?: \([^)]*\))?\s+(\S+)\s*$/.exec(line);
  return m ? { name: m[1], ready: m[2], status: m[3], restarts: Number(m[4]), age: m[5] } : undefined;
}

/** Seconds an AGE string of kubectl's HumanDuration stands for (at second precision below 10 minutes). */
function ageSeconds(age: string): number {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(age);
  if (!m || age === '') throw new Error(`not a kubectl age: ${JSON.stringify(age)}`);
  return Number(m[1] ?? 0) * 86_400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}

// ---- recorders: every state each pod went through, per the gateway (subscription) and per kubectl (-w)

type Step = Pick<Shown, 'status' | 'statusText' | 'phase' | 'ready' | 'restarts'>;
const viaGateway = new Map<string, Step[]>();
const viaKubectl = new Map<string, KubectlRow[]>();
let ws: Client;
let stopSubscription: () => void = () => {};
let subscriptionError: unknown;
let watch: ChildProcess | undefined;
let watchErr = '';

function record<T>(map: Map<string, T[]>, name: string, step: T): void {
  let seq = map.get(name);
  if (!seq) map.set(name, (seq = []));
  if (JSON.stringify(seq.at(-1)) !== JSON.stringify(step)) seq.push(step);
}
const texts = (seq: { statusText?: string; status?: string }[] | undefined) =>
  (seq ?? []).map((s) => ('statusText' in s ? s.statusText : s.status));

// ---- pods

const core = () => stack.cluster.core;
const container = (image: string, extra: Partial<k8s.V1Container> = {}): k8s.V1Container => ({
  name: 'main',
  image,
  ...extra,
});
async function createPod(name: string, spec: k8s.V1PodSpec, metadata: k8s.V1ObjectMeta = {}): Promise<void> {
  await core().createNamespacedPod({ namespace: ns, body: { metadata: { ...metadata, name }, spec } });
}

const POD = `query($ns: String!, $name: String!) { pod(namespace: $ns, name: $name) { ${FIELDS} } }`;

/**
 * Waits until the gateway shows the pod with `statusText` and kubectl, asked right after, prints the same STATUS,
 * READY and RESTARTS (a pod that moved in between is asked again); gives both and the time bounds of the reading.
 */
async function settled(
  name: string,
  statusText: string,
  timeoutMs = 30_000,
): Promise<{ pod: Shown; row: KubectlRow; from: number; to: number }> {
  let last: unknown;
  try {
    return await eventually(
      async () => {
        const from = Date.now();
        const r = await stack.gql<{ pod: Shown | null }>(POD, { ns, name });
        if (r.errors) throw new Error(JSON.stringify(r.errors));
        const pod = r.data?.pod;
        last = { gateway: pod };
        if (!pod || pod.statusText !== statusText) return false;
        const out = await stack.cluster.kubectl(['get', 'pod', name, '-n', ns, '--no-headers']);
        const to = Date.now();
        const row = parseRow(out.trim());
        last = { gateway: pod, kubectl: out.trim() };
        if (!row || row.status !== pod.statusText || row.ready !== pod.ready || row.restarts !== pod.restarts)
          return false;
        return { pod, row, from, to };
      },
      timeoutMs,
      `${name} to show ${statusText} in the gateway and in kubectl`,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; last seen: ${JSON.stringify(last)}`, { cause: e });
  }
}

/** age is kubectl's rendering of now − createdAt, as kubectl's own AGE column is (a second of slack each side). */
function expectAge(s: { pod: Shown; row: KubectlRow; from: number; to: number }): void {
  const created = Date.parse(s.pod.createdAt);
  expect(s.pod.age).toMatch(/^\d+s$/); // these pods are all younger than 2 minutes: kubectl prints seconds
  const age = ageSeconds(s.pod.age);
  expect(age).toBeGreaterThanOrEqual(Math.floor((s.from - created) / 1000) - 1);
  expect(age).toBeLessThanOrEqual(Math.ceil((s.to - created) / 1000) + 1);
  expect(Math.abs(ageSeconds(s.row.age) - age)).toBeLessThanOrEqual(2);
}

beforeAll(async () => {
  // Speed 1: the kubelet's real-time delays (image pull 1 s, container start 0.2 s, init container 1 s, Job-like
  // command 3 s, crash 1 s, back-offs from 10 s), so each state lasts long enough to be seen.
  stack = await startTestStack({ sandbox: { seed: { kind: 'empty', nodes: 2 }, speed: 1 } });
  const created = await core().createNamespace({ body: { metadata: { name: ns } } });

  ws = createClient({
    url: stack.gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${stack.adminToken}` },
  });
  stopSubscription = ws.subscribe<{ podStatusChanged: { type: string; pod: Shown } }>(
    // From the namespace's creation on: every event of every pod, however long the subscription takes to open.
    {
      query: `subscription($ns: String, $from: String) { podStatusChanged(namespace: $ns, resumeToken: $from) { type pod { ${FIELDS} } } }`,
      variables: { ns, from: created.metadata!.resourceVersion },
    },
    {
      next: (r) => {
        const e = r.data?.podStatusChanged;
        if (e && e.type !== 'DELETED')
          record(viaGateway, e.pod.name, {
            status: e.pod.status,
            statusText: e.pod.statusText,
            phase: e.pod.phase,
            ready: e.pod.ready,
            restarts: e.pod.restarts,
          });
        if (r.errors) subscriptionError = r.errors;
      },
      error: (e) => (subscriptionError = e),
      complete: () => {},
    },
  );
  watch = stack.cluster.spawnKubectl(['get', 'pods', '-n', ns, '-w', '--no-headers']);
  watch.stderr!.setEncoding('utf8').on('data', (c: string) => (watchErr += c));
  let buffered = '';
  watch.stdout!.setEncoding('utf8').on('data', (c: string) => {
    buffered += c;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const l of lines) {
      const row = parseRow(l);
      if (row) record(viaKubectl, row.name, row);
    }
  });

  // The first pod also tells when both recorders are live: it never leaves Pending (no node has that label).
  await createPod('pending', {
    nodeSelector: { 'kubegraph.test/no-such-node': 'true' },
    containers: [container('nginx:1.27')],
  });
  await eventually(
    () => viaGateway.has('pending') && viaKubectl.has('pending'),
    20_000,
    'the subscription and kubectl -w to see the first pod',
  ).catch((e: Error) => {
    throw new Error(
      `${e.message} (subscription: ${JSON.stringify(viaGateway.get('pending'))}, error ${JSON.stringify(subscriptionError)}; kubectl -w: ${JSON.stringify(viaKubectl.get('pending'))}, stderr ${watchErr})`,
    );
  });

  await createPod('creating', {
    containers: [container('registry.example/slow-pull/web:1.0', { imagePullPolicy: 'Always' })],
  });
  await createPod('pull-fail', { containers: [container('registry.example/doesnotexist/web:1.0')] });
  await createPod('crash', { containers: [container('registry.example/crash-loop:1.0')] });
  await createPod('completed', {
    restartPolicy: 'Never',
    containers: [container('busybox:1.36', { command: ['sh', '-c', 'echo done; exit 0'] })],
  });
  await createPod('error', {
    restartPolicy: 'Never',
    containers: [container('busybox:1.36', { command: ['sh', '-c', 'echo failing; exit 1'] })],
  });
  await createPod('terminating', { containers: [container('nginx:1.27')] }, { finalizers: ['kubegraph.test/hold'] });
  await createPod('init', {
    initContainers: [
      {
        name: 'setup',
        image: 'registry.example/setup:1.0',
        imagePullPolicy: 'Always',
        command: ['sh', '-c', 'echo setup'],
      },
    ],
    containers: [container('nginx:1.27')],
  });
  await createPod('init-error', {
    restartPolicy: 'Never',
    initContainers: [{ name: 'setup', image: 'busybox:1.36', command: ['sh', '-c', 'exit 1'] }],
    containers: [container('nginx:1.27')],
  });
  await createPod('init-crash', {
    initContainers: [{ name: 'setup', image: 'busybox:1.36', command: ['sh', '-c', 'exit 1'] }],
    containers: [container('nginx:1.27')],
  });
}, 120_000);

afterAll(async () => {
  stopSubscription();
  watch?.kill();
  await ws?.dispose();
  if (stack) {
    // Let the held pod go, so nothing waits on the finalizer.
    await core()
      .patchNamespacedPod(
        { namespace: ns, name: 'terminating', body: { metadata: { finalizers: null } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      )
      .catch(() => {});
    await stack.close();
  }
});

describe('pod status through the gateway, as kubectl prints it', () => {
  it('Pending: unschedulable (nodeSelector matching no node)', async () => {
    const s = await settled('pending', 'Pending');
    expect(s.pod).toMatchObject({
      status: 'PENDING',
      statusText: 'Pending',
      phase: 'Pending',
      ready: '0/1',
      restarts: 0,
    });
    expect(s.row).toMatchObject({ status: 'Pending', ready: '0/1', restarts: 0 });
    expectAge(s);
  });

  it('ContainerCreating while the image is pulled, then Running', async () => {
    const s = await settled('creating', 'Running');
    expect(s.pod).toMatchObject({
      status: 'RUNNING',
      statusText: 'Running',
      phase: 'Running',
      ready: '1/1',
      restarts: 0,
    });
    expectAge(s);
    // The transient state, in the order both saw it.
    const gw = viaGateway.get('creating')!;
    const creating = gw.findIndex((x) => x.statusText === 'ContainerCreating');
    expect(creating, `gateway sequence ${JSON.stringify(gw)}`).toBeGreaterThanOrEqual(0);
    expect(gw[creating]).toEqual({
      status: 'CONTAINER_CREATING',
      statusText: 'ContainerCreating',
      phase: 'Pending',
      ready: '0/1',
      restarts: 0,
    });
    expect(gw.findIndex((x) => x.statusText === 'Running')).toBeGreaterThan(creating);
    await eventually(
      () => texts(viaKubectl.get('creating')).includes('Running'),
      10_000,
      'kubectl -w to show creating Running',
    );
    const kc = viaKubectl.get('creating')!;
    expect(
      kc.findIndex((r) => r.status === 'ContainerCreating' && r.ready === '0/1' && r.restarts === 0),
      `kubectl -w rows ${JSON.stringify(kc)}`,
    ).toBeGreaterThanOrEqual(0);
    expect(kc.findIndex((r) => r.status === 'Running')).toBeGreaterThan(
      kc.findIndex((r) => r.status === 'ContainerCreating'),
    );
  });

  it('ImagePullBackOff: an image that cannot be pulled (ErrImagePull first)', async () => {
    const s = await settled('pull-fail', 'ImagePullBackOff');
    expect(s.pod).toMatchObject({
      status: 'IMAGE_PULL_BACK_OFF',
      statusText: 'ImagePullBackOff',
      phase: 'Pending',
      ready: '0/1',
      restarts: 0,
    });
    expectAge(s);
    const gw = viaGateway.get('pull-fail')!;
    const err = gw.findIndex((x) => x.statusText === 'ErrImagePull');
    expect(err, `gateway sequence ${JSON.stringify(gw)}`).toBeGreaterThanOrEqual(0);
    expect(gw[err].status).toBe('IMAGE_PULL_BACK_OFF');
    expect(gw.findIndex((x) => x.statusText === 'ImagePullBackOff')).toBeGreaterThan(err);
    expect(texts(viaKubectl.get('pull-fail'))).toEqual(expect.arrayContaining(['ErrImagePull', 'ImagePullBackOff']));
  });

  it('CrashLoopBackOff: a container that keeps exiting 1', async () => {
    const s = await settled('crash', 'CrashLoopBackOff');
    expect(s.pod).toMatchObject({
      status: 'CRASH_LOOP_BACK_OFF',
      statusText: 'CrashLoopBackOff',
      phase: 'Running',
      ready: '0/1',
    });
    expect(s.pod.restarts).toBeGreaterThanOrEqual(1);
    expect(s.row.restarts).toBe(s.pod.restarts);
    expectAge(s);
    // It ran (Running), exited with an Error, was restarted, and is now backing off.
    const seen = texts(viaGateway.get('crash'));
    expect(seen.indexOf('Running')).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf('Error')).toBeGreaterThan(seen.indexOf('Running'));
    expect(seen.indexOf('CrashLoopBackOff')).toBeGreaterThan(seen.indexOf('Error'));
    expect(texts(viaKubectl.get('crash'))).toEqual(expect.arrayContaining(['Running', 'Error', 'CrashLoopBackOff']));
  });

  it('Completed: restartPolicy Never and a command that exits 0', async () => {
    const s = await settled('completed', 'Completed');
    expect(s.pod).toMatchObject({
      status: 'COMPLETED',
      statusText: 'Completed',
      phase: 'Succeeded',
      ready: '0/1',
      restarts: 0,
    });
    expectAge(s);
    expect(texts(viaGateway.get('completed'))).toContain('Running');
  });

  it('Error: restartPolicy Never and a command that exits 1', async () => {
    const s = await settled('error', 'Error');
    expect(s.pod).toMatchObject({ status: 'ERROR', statusText: 'Error', phase: 'Failed', ready: '0/1', restarts: 0 });
    expectAge(s);
  });

  it('Terminating: deleted with a grace period, held by a finalizer', async () => {
    await settled('terminating', 'Running');
    await core().deleteNamespacedPod({ namespace: ns, name: 'terminating', gracePeriodSeconds: 30 });
    const s = await settled('terminating', 'Terminating');
    // The phase stays what it was; the containers are stopped.
    expect(s.pod).toMatchObject({
      status: 'TERMINATING',
      statusText: 'Terminating',
      phase: 'Running',
      ready: '0/1',
      restarts: 0,
    });
    expectAge(s);
    // Still Terminating once the grace period's kubelet work is done: the finalizer holds it.
    const held = await core().readNamespacedPod({ namespace: ns, name: 'terminating' });
    expect(held.metadata?.deletionTimestamp).toBeDefined();
    expect(texts(viaKubectl.get('terminating')).at(-1)).toBe('Terminating');
  });

  it('Init:0/1 while the init container is pulled and runs, then Running', async () => {
    const s = await settled('init', 'Running');
    expect(s.pod).toMatchObject({
      status: 'RUNNING',
      statusText: 'Running',
      phase: 'Running',
      ready: '1/1',
      restarts: 0,
    });
    const gw = viaGateway.get('init')!;
    const init = gw.findIndex((x) => x.statusText === 'Init:0/1');
    expect(init, `gateway sequence ${JSON.stringify(gw)}`).toBeGreaterThanOrEqual(0);
    expect(gw[init]).toEqual({
      status: 'PENDING',
      statusText: 'Init:0/1',
      phase: 'Pending',
      ready: '0/1',
      restarts: 0,
    });
    expect(gw.findIndex((x) => x.statusText === 'Running')).toBeGreaterThan(init);
    await eventually(
      () => texts(viaKubectl.get('init')).includes('Running'),
      10_000,
      'kubectl -w to show init Running',
    );
    const kc = viaKubectl.get('init')!;
    const kcInit = kc.findIndex((r) => r.status === 'Init:0/1' && r.ready === '0/1' && r.restarts === 0);
    expect(kcInit, `kubectl -w rows ${JSON.stringify(kc)}`).toBeGreaterThanOrEqual(0);
    expect(kc.findIndex((r) => r.status === 'Running')).toBeGreaterThan(kcInit);
  });

  it('Init:Error: an init container that fails under restartPolicy Never fails the pod', async () => {
    const s = await settled('init-error', 'Init:Error');
    expect(s.pod).toMatchObject({
      status: 'ERROR',
      statusText: 'Init:Error',
      phase: 'Failed',
      ready: '0/1',
      restarts: 0,
    });
    expectAge(s);
  });

  it('Init:CrashLoopBackOff: an init container that keeps failing is restarted with back-off', async () => {
    const s = await settled('init-crash', 'Init:CrashLoopBackOff');
    expect(s.pod).toMatchObject({
      status: 'CRASH_LOOP_BACK_OFF',
      statusText: 'Init:CrashLoopBackOff',
      phase: 'Pending',
      ready: '0/1',
    });
    expect(s.pod.restarts).toBeGreaterThanOrEqual(1);
    expectAge(s);
    expect(texts(viaGateway.get('init-crash'))).toEqual(
      expect.arrayContaining(['Init:0/1', 'Init:Error', 'Init:CrashLoopBackOff']),
    );
  });

  it('RESTARTS counts init container restarts only while the pod initializes, as kubectl does', async () => {
    // An init container that crashes by its image, then gets a working image: once the pod is initialized, kubectl's
    // RESTARTS counts the main containers (and sidecars) only, so the init container's restarts drop out.
    await createPod('init-recover', {
      initContainers: [
        { name: 'setup', image: 'registry.example/crash-setup:1.0', command: ['sh', '-c', 'echo setup'] },
      ],
      containers: [container('nginx:1.27')],
    });
    const crashing = await settled('init-recover', 'Init:CrashLoopBackOff');
    expect(crashing.pod.restarts).toBeGreaterThanOrEqual(1);
    await core().patchNamespacedPod(
      {
        namespace: ns,
        name: 'init-recover',
        body: [{ op: 'replace', path: '/spec/initContainers/0/image', value: 'registry.example/setup:1.0' }],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    const running = await settled('init-recover', 'Running', 60_000);
    expect(running.pod).toMatchObject({ status: 'RUNNING', phase: 'Running', ready: '1/1', restarts: 0 });
    const live = await core().readNamespacedPod({ namespace: ns, name: 'init-recover' });
    expect(
      live.status?.initContainerStatuses?.[0]?.restartCount,
      'the init container did restart',
    ).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('every state the gateway reported, kubectl -w printed too', async () => {
    expect(subscriptionError).toBeUndefined();
    // kubectl's rows may lag the subscription by an event: compare once it has caught up with each pod's last state.
    await eventually(
      () =>
        [...viaGateway].every(
          ([name, seq]) =>
            JSON.stringify(kubectlStep(viaKubectl.get(name)?.at(-1))) === JSON.stringify(gatewayStep(seq.at(-1))),
        ),
      15_000,
      'kubectl -w to catch up',
    );
    for (const [name, seq] of viaGateway) {
      const printed = (viaKubectl.get(name) ?? []).map((r) => JSON.stringify(kubectlStep(r)));
      for (const step of seq)
        expect(printed, `${name}: ${JSON.stringify(step)} not among kubectl's rows`).toContain(
          JSON.stringify(gatewayStep(step)),
        );
    }
  });
});

const gatewayStep = (s: Step | undefined) => s && { status: s.statusText, ready: s.ready, restarts: s.restarts };
const kubectlStep = (r: KubectlRow | undefined) => r && { status: r.status, ready: r.ready, restarts: r.restarts };
