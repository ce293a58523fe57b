// The simulated cluster's behaviour as a client sees it over HTTPS: pod lifecycle, workload controllers,
// cascading deletion, endpoints, eviction and streamed logs.
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';
import { collectWatch } from './harness/k8s.js';

let t: TestSandbox;
let clockOffsetMs = 0;
const ns = 'ctl';
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

beforeAll(async () => {
  t = await startTestSandbox({ speed: 20, now: () => new Date(Date.now() + clockOffsetMs) });
  await t.core.createNamespace({ body: { metadata: { name: ns } } });
});
afterAll(async () => t?.close());

const podSpec = (image: string, extra: Partial<k8s.V1PodSpec> = {}): k8s.V1PodSpec => ({
  containers: [{ name: 'main', image }],
  ...extra,
});
const template = (app: string, image: string, extra: Partial<k8s.V1PodSpec> = {}) => ({
  metadata: { labels: { app } },
  spec: podSpec(image, extra),
});
const podsOf = async (selector: string) =>
  (await t.core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
const readyCount = (pods: k8s.V1Pod[]) =>
  pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
/** Event reasons about an object, in the order of their last write (creation order for events that do not repeat). */
const eventsFor = async (name: string) =>
  (await t.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })).items
    .sort((a, b) => Number(a.metadata!.resourceVersion) - Number(b.metadata!.resourceVersion))
    .map((e) => e.reason);

describe('pod lifecycle', () => {
  it('goes Pending → ContainerCreating → Running and Ready, on a node, with the kubelet events', async () => {
    const w = await collectWatch(t.kc, `/api/v1/namespaces/${ns}/pods`, { fieldSelector: 'metadata.name=lifecycle' });
    await t.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'lifecycle' }, spec: podSpec('nginx:1.27') },
    });
    const ready = await eventually(
      async () => {
        const p = await t.core.readNamespacedPod({ name: 'lifecycle', namespace: ns });
        return readyCount([p]) === 1 && p;
      },
      15_000,
      'pod ready',
    );
    w.stop();
    expect(ready.status!.phase).toBe('Running');
    expect(ready.spec!.nodeName).toMatch(/^node-\d$/);
    expect(ready.status!.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
    expect(ready.status!.containerStatuses![0]).toMatchObject({
      name: 'main',
      ready: true,
      restartCount: 0,
      state: { running: {} },
    });
    const seen = w.events.map((e) => {
      const p = e.object as k8s.V1Pod;
      return (
        p.status?.containerStatuses?.[0]?.state?.waiting?.reason ??
        (p.spec?.nodeName ? (p.status?.phase ?? 'Pending') : 'Unscheduled')
      );
    });
    expect(seen[0]).toBe('Unscheduled');
    expect(seen).toContain('ContainerCreating');
    expect(seen.at(-1)).toBe('Running');
    const reasons = await eventsFor('lifecycle');
    expect(reasons).toEqual(expect.arrayContaining(['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']));
    expect(reasons.indexOf('Scheduled')).toBeLessThan(reasons.indexOf('Started'));
  });

  it('a crashing image ends in CrashLoopBackOff with growing restarts', async () => {
    await t.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'crasher' }, spec: podSpec('example/app-crash:1.0') },
    });
    const pod = await eventually(
      async () => {
        const p = await t.core.readNamespacedPod({ name: 'crasher', namespace: ns });
        const cs = p.status?.containerStatuses?.[0];
        return cs && cs.restartCount >= 2 && cs.state?.waiting?.reason === 'CrashLoopBackOff' && p;
      },
      30_000,
      'CrashLoopBackOff',
    );
    expect(pod.status!.containerStatuses![0].lastState?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(await eventsFor('crasher')).toContain('BackOff');
  });

  it('an image that cannot be pulled ends in ImagePullBackOff', async () => {
    await t.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'nopull' }, spec: podSpec('registry.invalid/doesnotexist:1.0') },
    });
    await eventually(
      async () => {
        const p = await t.core.readNamespacedPod({ name: 'nopull', namespace: ns });
        return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff';
      },
      20_000,
      'ImagePullBackOff',
    );
    expect(await eventsFor('nopull')).toEqual(expect.arrayContaining(['Pulling', 'Failed']));
  });

  it('a graceful delete shows a deletionTimestamp, then the pod is gone; eviction deletes too', async () => {
    await eventually(
      async () => readyCount([await t.core.readNamespacedPod({ name: 'lifecycle', namespace: ns })]) === 1,
    );
    await t.core.deleteNamespacedPod({ name: 'lifecycle', namespace: ns });
    const terminating = await t.core.readNamespacedPod({ name: 'lifecycle', namespace: ns });
    expect(terminating.metadata!.deletionTimestamp).toBeDefined();
    expect(terminating.metadata!.deletionGracePeriodSeconds).toBe(30);
    await eventually(
      async () =>
        (await t.core.listNamespacedPod({ namespace: ns, fieldSelector: 'metadata.name=lifecycle' })).items.length ===
        0,
      10_000,
      'pod gone',
    );

    await t.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'evictme' }, spec: podSpec('nginx:1.27') },
    });
    await eventually(
      async () => readyCount([await t.core.readNamespacedPod({ name: 'evictme', namespace: ns })]) === 1,
      10_000,
    );
    await t.core.createNamespacedPodEviction({
      name: 'evictme',
      namespace: ns,
      body: { metadata: { name: 'evictme', namespace: ns } },
    });
    await eventually(
      async () =>
        (await t.core.listNamespacedPod({ namespace: ns, fieldSelector: 'metadata.name=evictme' })).items.length === 0,
      10_000,
      'evicted',
    );
  });
});

describe('logs', () => {
  it('kubelet logs are served, and follow streams new lines as time passes', async () => {
    await t.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'talker' }, spec: podSpec('nginx:1.27') },
    });
    await eventually(
      async () => readyCount([await t.core.readNamespacedPod({ name: 'talker', namespace: ns })]) === 1,
      10_000,
    );
    const tail = await t.core.readNamespacedPodLog({ name: 'talker', namespace: ns, tailLines: 2, timestamps: true });
    expect(tail.trim().split('\n').length).toBeLessThanOrEqual(2);
    let text = '';
    const out = new PassThrough();
    out.on('data', (c) => (text += c));
    const req = await new k8s.Log(t.kc).log(ns, 'talker', 'main', out, { follow: true, tailLines: 1 });
    const first = await eventually(() => text.split('\n').filter(Boolean).length >= 1 && text, 10_000, 'first line');
    await eventually(
      () => text.length > first.length && text.split('\n').filter(Boolean).length >= 3,
      20_000,
      'followed lines',
    );
    req.abort();
  });
});

describe('deployments', () => {
  it('create → ReplicaSet → ready pods; template change rolls to a new revision; rollback reuses the old ReplicaSet', async () => {
    await t.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template('web', 'nginx:1.26') },
      },
    });
    const synced = await eventually(
      async () => {
        const d = await t.apps.readNamespacedDeployment({ name: 'web', namespace: ns });
        return (
          d.status?.availableReplicas === 3 &&
          d.status.updatedReplicas === 3 &&
          d.status.observedGeneration === d.metadata!.generation &&
          d
        );
      },
      20_000,
      'deployment available',
    );
    expect(synced.metadata!.annotations!['deployment.kubernetes.io/revision']).toBe('1');
    expect(synced.status!.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual(
      expect.arrayContaining(['Available=True', 'Progressing=True']),
    );
    const rs1 = (await t.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=web' })).items;
    expect(rs1).toHaveLength(1);
    expect(rs1[0].metadata!.ownerReferences![0]).toMatchObject({ kind: 'Deployment', name: 'web', controller: true });
    const pods = await podsOf('app=web');
    expect(pods).toHaveLength(3);
    expect(pods.every((p) => p.metadata!.name!.startsWith(rs1[0].metadata!.name! + '-'))).toBe(true);

    await t.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: ns,
        body: { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    await eventually(
      async () => {
        const d = await t.apps.readNamespacedDeployment({ name: 'web', namespace: ns });
        const p = await podsOf('app=web');
        return (
          d.status?.updatedReplicas === 3 &&
          d.status.availableReplicas === 3 &&
          d.status.replicas === 3 &&
          p.length === 3 &&
          p.every((x) => x.spec!.containers[0].image === 'nginx:1.27')
        );
      },
      30_000,
      'rollout to nginx:1.27',
    );
    const rs2 = (await t.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=web' })).items;
    expect(
      rs2.map((r) => `${r.metadata!.annotations!['deployment.kubernetes.io/revision']}:${r.spec!.replicas}`).sort(),
    ).toEqual(['1:0', '2:3']);
    expect(await eventsFor('web')).toContain('ScalingReplicaSet');

    // kubectl rollout undo: put revision 1's template back.
    const old = rs2.find((r) => r.metadata!.annotations!['deployment.kubernetes.io/revision'] === '1')!;
    const oldTemplate = structuredClone(old.spec!.template!);
    delete oldTemplate.metadata!.labels!['pod-template-hash'];
    await t.apps.patchNamespacedDeployment(
      { name: 'web', namespace: ns, body: [{ op: 'replace', path: '/spec/template', value: oldTemplate }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    await eventually(
      async () => {
        const r = await t.apps.readNamespacedReplicaSet({ name: old.metadata!.name!, namespace: ns });
        return (
          r.spec!.replicas === 3 &&
          r.metadata!.annotations!['deployment.kubernetes.io/revision'] === '3' &&
          r.status?.readyReplicas === 3
        );
      },
      30_000,
      'rollback to the first ReplicaSet as revision 3',
    );
  });

  it('scales through the scale subresource and restarts on the restartedAt annotation', async () => {
    await t.apps.patchNamespacedDeploymentScale({ name: 'web', namespace: ns, body: { spec: { replicas: 5 } } }, merge);
    await eventually(
      async () => readyCount((await podsOf('app=web')).filter((p) => !p.metadata!.deletionTimestamp)) === 5,
      20_000,
      'five pods',
    );
    await t.apps.patchNamespacedDeploymentScale({ name: 'web', namespace: ns, body: { spec: { replicas: 2 } } }, merge);
    await eventually(async () => (await podsOf('app=web')).length === 2, 20_000, 'two pods');
    const before = (await podsOf('app=web')).map((p) => p.metadata!.name);
    await t.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: ns,
        body: {
          spec: {
            template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } },
          },
        },
      },
      merge,
    );
    await eventually(
      async () => {
        const p = await podsOf('app=web');
        return p.length === 2 && readyCount(p) === 2 && p.every((x) => !before.includes(x.metadata!.name));
      },
      30_000,
      'restarted pods',
    );
  });
});

describe('other workloads', () => {
  it('a StatefulSet creates name-0, name-1, name-2 in order', async () => {
    const w = await collectWatch(t.kc, `/api/v1/namespaces/${ns}/pods`, { labelSelector: 'app=db' });
    await t.apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'db' },
        spec: {
          serviceName: 'db',
          replicas: 3,
          selector: { matchLabels: { app: 'db' } },
          template: template('db', 'postgres:16'),
        },
      },
    });
    await eventually(
      async () => (await t.apps.readNamespacedStatefulSet({ name: 'db', namespace: ns })).status?.readyReplicas === 3,
      20_000,
      'sts ready',
    );
    w.stop();
    expect(w.events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata!.name)).toEqual([
      'db-0',
      'db-1',
      'db-2',
    ]);
    await t.apps.patchNamespacedStatefulSetScale({ name: 'db', namespace: ns, body: { spec: { replicas: 1 } } }, merge);
    await eventually(
      async () => (await podsOf('app=db')).map((p) => p.metadata!.name).join() === 'db-0',
      20_000,
      'scaled down from the top',
    );
  });

  it('a DaemonSet runs one pod on every node', async () => {
    await t.apps.createNamespacedDaemonSet({
      namespace: ns,
      body: {
        metadata: { name: 'agent' },
        spec: { selector: { matchLabels: { app: 'agent' } }, template: template('agent', 'fluent/fluent-bit:3.2') },
      },
    });
    await eventually(
      async () => (await t.apps.readNamespacedDaemonSet({ name: 'agent', namespace: ns })).status?.numberReady === 3,
      20_000,
      'ds ready',
    );
    const nodes = (await podsOf('app=agent')).map((p) => p.spec!.nodeName).sort();
    expect(nodes).toEqual(['node-1', 'node-2', 'node-3']);
  });

  it('a Job runs pods to its completions; a failing Job stops at its backoffLimit', async () => {
    await t.batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'batch3' },
        spec: {
          completions: 3,
          parallelism: 2,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'example/report-job:1' }] } },
        },
      },
    });
    const done = await eventually(
      async () => {
        const j = await t.batch.readNamespacedJob({ name: 'batch3', namespace: ns });
        return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') && j;
      },
      30_000,
      'job complete',
    );
    expect(done.status!.succeeded).toBe(3);
    expect(done.status!.completionTime).toBeDefined();
    const jobPods = (await t.core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=batch3' })).items;
    expect(jobPods.filter((p) => p.status!.phase === 'Succeeded')).toHaveLength(3);

    await t.batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'doomed' },
        spec: {
          backoffLimit: 1,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'example/fail-job:1' }] } },
        },
      },
    });
    const failed = await eventually(
      async () => {
        const j = await t.batch.readNamespacedJob({ name: 'doomed', namespace: ns });
        return j.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True') && j;
      },
      60_000,
      'job failed',
    );
    expect(failed.status!.conditions!.find((c) => c.type === 'Failed')!.reason).toBe('BackoffLimitExceeded');
    expect(failed.status!.failed).toBe(2);
  });

  it('a CronJob creates a Job when its schedule comes', async () => {
    await t.batch.createNamespacedCronJob({
      namespace: ns,
      body: {
        metadata: { name: 'tick' },
        spec: {
          schedule: '*/5 * * * *',
          jobTemplate: {
            spec: {
              template: {
                spec: { restartPolicy: 'OnFailure', containers: [{ name: 'main', image: 'example/tick-job:1' }] },
              },
            },
          },
        },
      },
    });
    // Move the cluster's clock to one second before the next five-minute mark, and let the controller look again.
    const next = Math.ceil((Date.now() + 1000) / 300_000) * 300_000;
    clockOffsetMs = next - Date.now() - 1000;
    await t.batch.patchNamespacedCronJob(
      { name: 'tick', namespace: ns, body: { metadata: { annotations: { nudge: '1' } } } },
      merge,
    );
    const job = await eventually(
      async () =>
        (await t.batch.listNamespacedJob({ namespace: ns })).items.find(
          (j) => j.metadata!.ownerReferences?.[0]?.name === 'tick',
        ),
      15_000,
      'scheduled job',
    );
    expect(job.metadata!.name).toBe(`tick-${next / 60_000}`);
    await eventually(
      async () =>
        (await t.batch.readNamespacedCronJob({ name: 'tick', namespace: ns })).status?.lastScheduleTime !== undefined,
      10_000,
    );
  });
});

describe('services and cascading deletion', () => {
  it('Endpoints list the ready pods a Service selects', async () => {
    await t.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
    });
    const ips = (await podsOf('app=web')).map((p) => p.status!.podIP).sort();
    await eventually(
      async () => {
        const ep = await t.core.readNamespacedEndpoints({ name: 'web', namespace: ns });
        return JSON.stringify((ep.subsets?.[0]?.addresses ?? []).map((a) => a.ip).sort()) === JSON.stringify(ips);
      },
      10_000,
      'endpoints',
    );
    const svc = await t.core.readNamespacedService({ name: 'web', namespace: ns });
    expect(svc.spec!.clusterIP).toMatch(/^10\.(9[6-9]|1[01]\d)\.\d+\.\d+$/);
  });

  it('background deletion removes the ReplicaSets and pods after the Deployment', async () => {
    await t.apps.deleteNamespacedDeployment({ name: 'web', namespace: ns, propagationPolicy: 'Background' });
    await eventually(
      async () =>
        (await t.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=web' })).items.length === 0 &&
        (await podsOf('app=web')).length === 0,
      20_000,
      'dependents gone',
    );
  });

  it('foreground deletion keeps the owner, marked, until its dependents are gone', async () => {
    await t.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'fg' },
        spec: { replicas: 2, selector: { matchLabels: { app: 'fg' } }, template: template('fg', 'nginx:1.27') },
      },
    });
    await eventually(async () => readyCount(await podsOf('app=fg')) === 2, 20_000);
    await t.apps.deleteNamespacedDeployment({ name: 'fg', namespace: ns, propagationPolicy: 'Foreground' });
    const marked = await t.apps.readNamespacedDeployment({ name: 'fg', namespace: ns });
    expect(marked.metadata!.deletionTimestamp).toBeDefined();
    expect(marked.metadata!.finalizers).toContain('foregroundDeletion');
    await eventually(
      async () =>
        (await t.apps.listNamespacedDeployment({ namespace: ns, fieldSelector: 'metadata.name=fg' })).items.length ===
        0,
      20_000,
      'owner gone',
    );
    expect(await podsOf('app=fg')).toHaveLength(0);
  });

  it('orphan deletion leaves the ReplicaSet without its owner', async () => {
    await t.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'orph' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'orph' } }, template: template('orph', 'nginx:1.27') },
      },
    });
    await eventually(
      async () =>
        (await t.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=orph' })).items.length === 1,
      10_000,
    );
    await t.apps.deleteNamespacedDeployment({ name: 'orph', namespace: ns, propagationPolicy: 'Orphan' });
    await eventually(
      async () =>
        (await t.apps.listNamespacedDeployment({ namespace: ns, fieldSelector: 'metadata.name=orph' })).items.length ===
        0,
      10_000,
    );
    const rs = (await t.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=orph' })).items;
    expect(rs).toHaveLength(1);
    expect(rs[0].metadata!.ownerReferences ?? []).toEqual([]);
  });

  it('deleting a namespace deletes what is in it, then the namespace', async () => {
    await t.core.createNamespace({ body: { metadata: { name: 'doomed-ns' } } });
    await t.core.createNamespacedConfigMap({ namespace: 'doomed-ns', body: { metadata: { name: 'x' } } });
    await t.apps.createNamespacedDeployment({
      namespace: 'doomed-ns',
      body: {
        metadata: { name: 'd' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'd' } }, template: template('d', 'nginx') },
      },
    });
    await t.core.deleteNamespace({ name: 'doomed-ns' });
    expect((await t.core.readNamespace({ name: 'doomed-ns' })).status!.phase).toBe('Terminating');
    await eventually(
      async () => (await t.core.listNamespace({ fieldSelector: 'metadata.name=doomed-ns' })).items.length === 0,
      20_000,
      'namespace gone',
    );
    expect(
      (await t.core.listPodForAllNamespaces({ fieldSelector: 'metadata.namespace=doomed-ns' })).items,
    ).toHaveLength(0);
  });
});
