// The workload controllers (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob) at the store level, with
// a tiny fake kubelet in this file that moves pods to Running+Ready (or Succeeded/Failed for job pods).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Store, timestamp } from '../services/sandbox/store.js';
import type { Condition, KObject, PodStatus } from '../services/sandbox/types.js';

/** Fields a test adds to an object or a spec, as it writes them. */
type Fields = Record<string, unknown>;
import { createControllerContext, type Controller } from '../services/sandbox/controllers/base.js';
import { DeploymentController } from '../services/sandbox/controllers/deployment.js';
import { ReplicaSetController } from '../services/sandbox/controllers/replicaset.js';
import { StatefulSetController } from '../services/sandbox/controllers/statefulset.js';
import { DaemonSetController } from '../services/sandbox/controllers/daemonset.js';
import { JobController } from '../services/sandbox/controllers/job.js';
import { CronJobController, nextScheduleTime, parseSchedule } from '../services/sandbox/controllers/cronjob.js';
import { computeHash, intOrPercent } from '../services/sandbox/controllers/workload-util.js';

const ns = 'default';
const waitOpts = { timeout: 10_000, interval: 10 };

interface World {
  store: Store;
  controllers: Controller[];
  /** What the fake kubelet does with a pod: 'ready' (default), 'succeed', 'fail' or 'hold' (leave it alone). */
  behaviour: (pod: KObject) => 'ready' | 'succeed' | 'fail' | 'hold';
  readyDelayMs: number;
  stop(): void;
  rt(group: string, plural: string): ReturnType<Store['type']>;
  now: number;
}

let w: World;

function startWorld(): World {
  const store = new Store();
  store.create(store.type('', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const { ctx, cancelTimers } = createControllerContext(store, (_step, ms) => Math.min(ms, 30));
  const world: World = {
    store,
    controllers: [],
    behaviour: () => 'ready',
    readyDelayMs: 0,
    now: Date.now(),
    rt: (g, p) => store.type(g, p),
    stop() {
      for (const c of world.controllers) c.stop();
      unsubscribe();
      cancelTimers();
    },
  };
  world.controllers = [
    new DeploymentController(ctx),
    new ReplicaSetController(ctx),
    new StatefulSetController(ctx),
    new DaemonSetController(ctx),
    new JobController(ctx),
    new CronJobController(ctx, { now: () => new Date(world.now) }),
  ];
  for (const c of world.controllers) c.start();
  // The fake kubelet.
  const podRt = store.type('', 'pods');
  const unsubscribe = store.subscribe((ev) => {
    if (ev.rt.kind !== 'Pod' || ev.type === 'DELETED') return;
    const pod = ev.object;
    const act = () => {
      const cur = store.get(podRt, pod.metadata.namespace, pod.metadata.name!);
      if (!cur || cur.metadata.uid !== pod.metadata.uid) return;
      if (cur.metadata.deletionTimestamp) {
        if (cur.metadata.finalizers?.length) {
          if (cur.status?.phase !== 'Failed' && cur.status?.phase !== 'Succeeded') {
            store.update(
              podRt,
              { ...cur, status: { ...(cur.status ?? {}), phase: 'Failed' } },
              { subresource: 'status' },
            );
          }
        } else store.finalizeDelete(podRt, cur.metadata.namespace, cur.metadata.name!);
        return;
      }
      if (cur.status?.phase) return;
      const b = world.behaviour(cur);
      if (b === 'hold') return;
      const at = timestamp();
      const name = cur.spec?.containers?.[0]?.name ?? 'main';
      let status: PodStatus;
      if (b === 'ready') {
        status = {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: at }],
          containerStatuses: [{ name, ready: true, restartCount: 0, state: { running: { startedAt: at } } }],
        };
      } else {
        const exitCode = b === 'succeed' ? 0 : 1;
        status = {
          phase: b === 'succeed' ? 'Succeeded' : 'Failed',
          conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: at }],
          containerStatuses: [
            {
              name,
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed' } },
            },
          ],
        };
      }
      store.update(podRt, { ...cur, status }, { subresource: 'status' });
    };
    ctx.setTimer(act, world.readyDelayMs);
  });
  return world;
}

beforeEach(() => {
  w = startWorld();
});
afterEach(() => w.stop());

const podTemplate = (labels: Record<string, string>, image = 'nginx:1.25') => ({
  metadata: { labels },
  spec: { containers: [{ name: 'app', image }] },
});

function create(group: string, plural: string, obj: KObject): KObject {
  return w.store.create(w.rt(group, plural), { ...obj, metadata: { namespace: ns, ...obj.metadata } });
}

function get(group: string, plural: string, name: string): KObject | undefined {
  return w.store.get(w.rt(group, plural), ns, name);
}

function list(group: string, plural: string): KObject[] {
  return w.store.list(w.rt(group, plural), ns);
}

/** Applies a change to the stored object (as `kubectl edit` would). */
function mutate(group: string, plural: string, name: string, f: (o: KObject) => void): KObject {
  const o = structuredClone(get(group, plural, name)!);
  f(o);
  return w.store.update(w.rt(group, plural), o);
}

const pods = () => list('', 'pods');
const events = (reason: string) =>
  list('', 'events')
    .filter((e) => e.reason === reason)
    .map((e) => e.message as string);

// ------------------------------------------------------------------ Deployments

function deployment(name: string, replicas: number, extra: Fields = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: podTemplate({ app: name }), ...extra },
  };
}

async function rolledOut(name: string, replicas: number): Promise<KObject> {
  return vi.waitFor(() => {
    const d = get('apps', 'deployments', name)!;
    const s = d.status ?? {};
    expect(s.observedGeneration).toBe(d.metadata.generation);
    expect(s.updatedReplicas ?? 0).toBe(replicas);
    expect(s.replicas ?? 0).toBe(replicas);
    expect(s.availableReplicas ?? 0).toBe(replicas);
    expect(s.conditions?.find((c: Condition) => c.type === 'Progressing')?.reason).toBe('NewReplicaSetAvailable');
    expect(pods().filter((p) => p.metadata.labels?.app === name && !p.metadata.deletionTimestamp)).toHaveLength(
      replicas,
    );
    return d;
  }, waitOpts);
}

const rsOf = (name: string) =>
  list('apps', 'replicasets').filter((r) => r.metadata.ownerReferences?.[0]?.name === name);

describe('Deployment', () => {
  it('creates a ReplicaSet <name>-<pod-template-hash> and its pods, and reports a finished rollout', async () => {
    create('apps', 'deployments', deployment('web', 3));
    const d = await rolledOut('web', 3);
    const [rs] = rsOf('web');
    const hash = rs.metadata.labels![`pod-template-hash`];
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    expect(rs.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.metadata.annotations).toMatchObject({
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
    expect(rs.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        uid: d.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.status).toMatchObject({ readyReplicas: 3, observedGeneration: 1 });
    expect(d.status.unavailableReplicas).toBeUndefined();
    expect(d.status.conditions.find((c: Condition) => c.type === 'Available')).toMatchObject({
      status: 'True',
      reason: 'MinimumReplicasAvailable',
    });
    for (const p of pods()) {
      expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      expect(p.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
      expect(p.metadata.ownerReferences?.[0]).toMatchObject({
        kind: 'ReplicaSet',
        name: rs.metadata.name,
        controller: true,
        blockOwnerDeletion: true,
      });
    }
    await vi.waitFor(
      () =>
        expect(get('apps', 'replicasets', rs.metadata.name!)!.status).toMatchObject({
          replicas: 3,
          fullyLabeledReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 3,
          observedGeneration: 1,
        }),
      waitOpts,
    );
    expect(events('ScalingReplicaSet')).toContain(`Scaled up replica set ${rs.metadata.name} from 0 to 3`);
    expect(events('SuccessfulCreate').filter((m) => m.startsWith(`Created pod: ${rs.metadata.name}-`))).toHaveLength(3);
  });

  it('rolls out a template change, then rolls back by reusing the old ReplicaSet as a new revision', async () => {
    create(
      'apps',
      'deployments',
      deployment('api', 4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }),
    );
    await rolledOut('api', 4);
    const [rs1] = rsOf('api');
    // Never more than replicas + maxSurge pods, never fewer than replicas - maxUnavailable available.
    let maxPods = 0;
    const off = w.store.subscribe(() => {
      maxPods = Math.max(maxPods, pods().filter((p) => !p.metadata.deletionTimestamp).length);
    });
    const originalTemplate = structuredClone(get('apps', 'deployments', 'api')!.spec.template);
    mutate('apps', 'deployments', 'api', (d) => {
      d.spec.template.metadata.annotations = { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:00:00Z' };
    });
    await rolledOut('api', 4);
    off();
    expect(maxPods).toBeLessThanOrEqual(5);
    const rs2 = rsOf('api').find((r) => r.metadata.uid !== rs1.metadata.uid)!;
    expect(rs2.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(get('apps', 'replicasets', rs1.metadata.name!)!.spec.replicas).toBe(0);
    expect(get('apps', 'deployments', 'api')!.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(
      pods().every((p) => p.metadata.labels?.['pod-template-hash'] === rs2.metadata.labels?.['pod-template-hash']),
    ).toBe(true);
    expect(
      pods().every((p) => p.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'] === '2024-05-01T10:00:00Z'),
    ).toBe(true);
    expect(events('ScalingReplicaSet')).toContain(`Scaled down replica set ${rs1.metadata.name} from 1 to 0`);

    // kubectl rollout undo: the template goes back to revision 1's.
    mutate('apps', 'deployments', 'api', (d) => {
      d.spec.template = originalTemplate;
    });
    await rolledOut('api', 4);
    await vi.waitFor(() => {
      const all = rsOf('api');
      expect(all).toHaveLength(2);
      const back = get('apps', 'replicasets', rs1.metadata.name!)!;
      expect(back.spec.replicas).toBe(4);
      expect(back.metadata.annotations).toMatchObject({
        'deployment.kubernetes.io/revision': '3',
        'deployment.kubernetes.io/revision-history': '1',
      });
      expect(get('apps', 'replicasets', rs2.metadata.name!)!.spec.replicas).toBe(0);
      expect(get('apps', 'deployments', 'api')!.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    }, waitOpts);
  });

  it('scales up and down, and prunes old ReplicaSets beyond revisionHistoryLimit', async () => {
    create('apps', 'deployments', deployment('scaled', 2, { revisionHistoryLimit: 1 }));
    await rolledOut('scaled', 2);
    mutate('apps', 'deployments', 'scaled', (d) => (d.spec.replicas = 5));
    await rolledOut('scaled', 5);
    mutate('apps', 'deployments', 'scaled', (d) => (d.spec.replicas = 1));
    await rolledOut('scaled', 1);
    expect(rsOf('scaled')).toHaveLength(1);
    expect(rsOf('scaled')[0].metadata.annotations?.['deployment.kubernetes.io/desired-replicas']).toBe('1');
    for (const image of ['nginx:1.26', 'nginx:1.27', 'nginx:1.28']) {
      mutate('apps', 'deployments', 'scaled', (d) => (d.spec.template.spec.containers[0].image = image));
      await rolledOut('scaled', 1);
    }
    await vi.waitFor(() => {
      const all = rsOf('scaled');
      expect(all.map((r) => r.metadata.annotations?.['deployment.kubernetes.io/revision']).sort()).toEqual(['3', '4']);
    }, waitOpts);
  });

  it('Recreate removes every old pod before the new ReplicaSet gets any', async () => {
    create('apps', 'deployments', deployment('db', 3, { strategy: { type: 'Recreate' } }));
    await rolledOut('db', 3);
    const oldHash = rsOf('db')[0].metadata.labels!['pod-template-hash'];
    let overlap = false;
    const off = w.store.subscribe((ev) => {
      if (ev.rt.kind !== 'Pod' || ev.type !== 'ADDED') return;
      if (
        ev.object.metadata.labels?.['pod-template-hash'] !== oldHash &&
        pods().some((p) => p.metadata.labels?.['pod-template-hash'] === oldHash)
      )
        overlap = true;
    });
    mutate('apps', 'deployments', 'db', (d) => (d.spec.template.spec.containers[0].image = 'postgres:17'));
    await rolledOut('db', 3);
    off();
    expect(overlap).toBe(false);
    expect(pods().every((p) => p.metadata.labels?.['pod-template-hash'] !== oldHash)).toBe(true);
  });

  it('a paused deployment does not roll out until resumed', async () => {
    create('apps', 'deployments', deployment('paused', 2));
    await rolledOut('paused', 2);
    mutate('apps', 'deployments', 'paused', (d) => {
      d.spec.paused = true;
      d.spec.template.spec.containers[0].image = 'nginx:2';
    });
    await vi.waitFor(() => {
      const d = get('apps', 'deployments', 'paused')!;
      expect(d.status.observedGeneration).toBe(d.metadata.generation);
      expect(d.status.conditions.find((c: Condition) => c.type === 'Progressing')).toMatchObject({
        status: 'Unknown',
        reason: 'DeploymentPaused',
      });
    }, waitOpts);
    expect(rsOf('paused')).toHaveLength(1);
    mutate('apps', 'deployments', 'paused', (d) => (d.spec.paused = false));
    await rolledOut('paused', 2);
    expect(rsOf('paused')).toHaveLength(2);
  });

  it('reports rollout progress while pods are not ready', async () => {
    w.behaviour = () => 'hold';
    create('apps', 'deployments', deployment('slow', 2));
    await vi.waitFor(() => {
      const d = get('apps', 'deployments', 'slow')!;
      expect(d.status).toMatchObject({
        observedGeneration: 1,
        replicas: 2,
        updatedReplicas: 2,
        unavailableReplicas: 2,
      });
      expect(d.status.conditions.find((c: Condition) => c.type === 'Available')).toMatchObject({
        status: 'False',
        reason: 'MinimumReplicasUnavailable',
      });
      expect(d.status.conditions.find((c: Condition) => c.type === 'Progressing')).toMatchObject({ status: 'True' });
      expect(['NewReplicaSetCreated', 'ReplicaSetUpdated']).toContain(
        d.status.conditions.find((c: Condition) => c.type === 'Progressing').reason,
      );
    }, waitOpts);
  });
});

describe('ReplicaSet', () => {
  it('replaces deleted pods and deletes surplus ones, not-ready first', async () => {
    create('apps', 'replicasets', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'plain' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'plain' } }, template: podTemplate({ app: 'plain' }) },
    });
    await vi.waitFor(
      () => expect(get('apps', 'replicasets', 'plain')!.status).toMatchObject({ replicas: 2, readyReplicas: 2 }),
      waitOpts,
    );
    const victim = pods()[0].metadata.name!;
    w.store.delete(w.rt('', 'pods'), ns, victim);
    await vi.waitFor(() => {
      expect(pods().map((p) => p.metadata.name)).not.toContain(victim);
      expect(pods().map((p) => p.status?.phase)).toEqual(['Running', 'Running']);
      expect(get('apps', 'replicasets', 'plain')!.status).toMatchObject({ replicas: 2, readyReplicas: 2 });
    }, waitOpts);
    w.behaviour = () => 'hold';
    mutate('apps', 'replicasets', 'plain', (r) => (r.spec.replicas = 3));
    await vi.waitFor(() => expect(pods()).toHaveLength(3), waitOpts);
    const notReady = pods().find((p) => !p.status?.phase)!.metadata.name;
    mutate('apps', 'replicasets', 'plain', (r) => (r.spec.replicas = 2));
    await vi.waitFor(() => {
      expect(pods()).toHaveLength(2);
      expect(pods().map((p) => p.metadata.name)).not.toContain(notReady);
    }, waitOpts);
    expect(events('SuccessfulDelete')).toContain(`Deleted pod: ${notReady}`);
  });

  it('adopts a matching orphan pod instead of creating one', async () => {
    w.store.create(w.rt('', 'pods'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'orphan', namespace: ns, labels: { app: 'adopt' } },
      spec: { containers: [{ name: 'a', image: 'x' }] },
    });
    const rs = create('apps', 'replicasets', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'adopter' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'adopt' } }, template: podTemplate({ app: 'adopt' }) },
    });
    await vi.waitFor(() => {
      expect(pods()).toHaveLength(2);
      expect(get('', 'pods', 'orphan')!.metadata.ownerReferences?.[0]?.uid).toBe(rs.metadata.uid);
    }, waitOpts);
  });
});

// ------------------------------------------------------------------ StatefulSets

describe('StatefulSet', () => {
  const sts = (name: string, replicas: number, extra: Fields = {}) => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: podTemplate({ app: name }),
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      ...extra,
    },
  });

  it('creates pods in order, each after the previous is ready, with PVCs, and scales down from the highest ordinal', async () => {
    w.readyDelayMs = 20;
    const order: string[] = [];
    const premature: string[] = [];
    const off = w.store.subscribe((ev) => {
      if (ev.rt.kind !== 'Pod') return;
      if (ev.type === 'ADDED') {
        order.push(ev.object.metadata.name!);
        const ord = Number(ev.object.metadata.name!.split('-').pop());
        if (ord > 0 && get('', 'pods', `db-${ord - 1}`)?.status?.phase !== 'Running')
          premature.push(ev.object.metadata.name!);
      }
      if (ev.type === 'DELETED') order.push(`-${ev.object.metadata.name}`);
    });
    create('apps', 'statefulsets', sts('db', 3));
    await vi.waitFor(() => {
      const s = get('apps', 'statefulsets', 'db')!.status ?? {};
      expect(s).toMatchObject({
        replicas: 3,
        readyReplicas: 3,
        currentReplicas: 3,
        updatedReplicas: 3,
        availableReplicas: 3,
        observedGeneration: 1,
      });
      expect(s.currentRevision).toBe(s.updateRevision);
    }, waitOpts);
    expect(order).toEqual(['db-0', 'db-1', 'db-2']);
    expect(premature).toEqual([]);
    const p1 = get('', 'pods', 'db-1')!;
    const set = get('apps', 'statefulsets', 'db')!;
    expect(p1.metadata.labels).toMatchObject({
      app: 'db',
      'statefulset.kubernetes.io/pod-name': 'db-1',
      'apps.kubernetes.io/pod-index': '1',
      'controller-revision-hash': set.status.updateRevision,
    });
    expect(p1.spec).toMatchObject({ hostname: 'db-1', subdomain: 'db' });
    expect(p1.spec.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-1' } }]);
    const pvc = get('', 'persistentvolumeclaims', 'data-db-1')!;
    expect(pvc.status.phase).toBe('Bound');
    expect(pvc.spec.volumeName).toMatch(/^pvc-/);
    // The volume it is bound to exists, as a provisioner would have made it, and points back at the claim.
    const pv = get('', 'persistentvolumes', pvc.spec.volumeName)!;
    expect(pv).toBeDefined();
    expect(pv.status.phase).toBe('Bound');
    expect(pv.spec).toMatchObject({
      claimRef: { namespace: pvc.metadata.namespace, name: 'data-db-1', uid: pvc.metadata.uid },
      capacity: { storage: '1Gi' },
    });
    const cr = get('apps', 'controllerrevisions', set.status.updateRevision)!;
    expect(cr).toMatchObject({ revision: 1 });
    expect(cr.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'StatefulSet', name: 'db', controller: true });
    expect(events('SuccessfulCreate')).toContain('create Pod db-0 in StatefulSet db successful');

    order.length = 0;
    mutate('apps', 'statefulsets', 'db', (s) => (s.spec.replicas = 1));
    await vi.waitFor(
      () => expect(get('apps', 'statefulsets', 'db')!.status).toMatchObject({ replicas: 1, readyReplicas: 1 }),
      waitOpts,
    );
    off();
    expect(order).toEqual(['-db-2', '-db-1']);
    expect(get('', 'persistentvolumeclaims', 'data-db-2')).toBeDefined(); // PVCs are retained
  });

  it('rolls a template change from the highest ordinal, recording a new ControllerRevision', async () => {
    create('apps', 'statefulsets', sts('kv', 3, { podManagementPolicy: 'Parallel' }));
    await vi.waitFor(
      () => expect(get('apps', 'statefulsets', 'kv')!.status).toMatchObject({ readyReplicas: 3 }),
      waitOpts,
    );
    const rev1 = get('apps', 'statefulsets', 'kv')!.status.currentRevision;
    const deleted: string[] = [];
    const off = w.store.subscribe((ev) => {
      if (ev.rt.kind === 'Pod' && ev.type === 'DELETED') deleted.push(ev.object.metadata.name!);
    });
    mutate('apps', 'statefulsets', 'kv', (s) => (s.spec.template.spec.containers[0].image = 'redis:8'));
    await vi.waitFor(() => {
      const s = get('apps', 'statefulsets', 'kv')!.status;
      expect(s.updateRevision).not.toBe(rev1);
      expect(s).toMatchObject({ updatedReplicas: 3, readyReplicas: 3, currentReplicas: 3 });
      expect(s.currentRevision).toBe(s.updateRevision);
    }, waitOpts);
    off();
    expect(deleted).toEqual(['kv-2', 'kv-1', 'kv-0']);
    const revs = list('apps', 'controllerrevisions')
      .filter((r) => r.metadata.name!.startsWith('kv-'))
      .map((r) => r.revision)
      .sort();
    expect(revs).toEqual([1, 2]);
  });
});

// ------------------------------------------------------------------ DaemonSets

describe('DaemonSet', () => {
  it('runs one pod per node that admits it, and follows nodes coming and going', async () => {
    const nodeRt = w.rt('', 'nodes');
    const node = (name: string, extra: Fields = {}) =>
      w.store.create(nodeRt, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/os': 'linux' } },
        spec: extra,
      });
    node('node-1');
    node('node-2');
    node('node-3', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
    create('apps', 'daemonsets', {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          ...podTemplate({ app: 'agent' }),
          spec: { nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name: 'a', image: 'agent:1' }] },
        },
      },
    });
    await vi.waitFor(
      () =>
        expect(get('apps', 'daemonsets', 'agent')!.status).toMatchObject({
          desiredNumberScheduled: 2,
          currentNumberScheduled: 2,
          numberReady: 2,
          numberAvailable: 2,
          updatedNumberScheduled: 2,
          numberMisscheduled: 0,
          observedGeneration: 1,
        }),
      waitOpts,
    );
    expect(
      pods()
        .map((p) => p.spec.nodeName)
        .sort(),
    ).toEqual(['node-1', 'node-2']);
    const p = pods()[0];
    expect(
      p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0],
    ).toEqual({
      key: 'metadata.name',
      operator: 'In',
      values: [p.spec.nodeName],
    });
    expect(p.metadata.labels?.['controller-revision-hash']).toBeTruthy();
    node('node-4');
    await vi.waitFor(
      () =>
        expect(get('apps', 'daemonsets', 'agent')!.status).toMatchObject({ desiredNumberScheduled: 3, numberReady: 3 }),
      waitOpts,
    );
    // A rolling update replaces every pod.
    mutate('apps', 'daemonsets', 'agent', (d) => (d.spec.template.spec.containers[0].image = 'agent:2'));
    await vi.waitFor(() => {
      expect(get('apps', 'daemonsets', 'agent')!.status).toMatchObject({
        observedGeneration: 2,
        updatedNumberScheduled: 3,
        numberAvailable: 3,
      });
      expect(
        pods()
          .filter((x) => !x.metadata.deletionTimestamp)
          .map((x) => x.spec.containers[0].image),
      ).toEqual(['agent:2', 'agent:2', 'agent:2']);
    }, waitOpts);
    w.store.delete(nodeRt, undefined, 'node-1');
    await vi.waitFor(() => {
      expect(get('apps', 'daemonsets', 'agent')!.status).toMatchObject({
        desiredNumberScheduled: 2,
        currentNumberScheduled: 2,
      });
      expect(
        pods()
          .map((x) => x.spec.nodeName)
          .sort(),
      ).toEqual(['node-2', 'node-4']);
    }, waitOpts);
  });
});

// ------------------------------------------------------------------ Jobs

describe('Job', () => {
  const job = (name: string, spec: Fields) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } }, ...spec },
  });

  it('runs completions pods at most parallelism at a time, then completes', async () => {
    w.behaviour = (p) => (p.metadata.labels?.['job-name'] ? 'succeed' : 'ready');
    w.readyDelayMs = 5;
    let maxActive = 0;
    const off = w.store.subscribe(() => {
      maxActive = Math.max(maxActive, pods().filter((p) => !p.status?.phase && !p.metadata.deletionTimestamp).length);
    });
    const j = create('batch', 'jobs', job('pi', { completions: 5, parallelism: 2 }));
    const done = await vi.waitFor(() => {
      const cur = get('batch', 'jobs', 'pi')!;
      expect(cur.status.conditions?.map((c: Condition) => c.type)).toEqual(['SuccessCriteriaMet', 'Complete']);
      return cur;
    }, waitOpts);
    off();
    expect(maxActive).toBeLessThanOrEqual(2);
    expect(done.status).toMatchObject({ succeeded: 5, ready: 0, terminating: 0, uncountedTerminatedPods: {} });
    expect(done.status.active).toBeUndefined();
    expect(done.status.failed).toBeUndefined();
    expect(done.status.startTime).toBeTruthy();
    expect(done.status.completionTime).toBeTruthy();
    expect(done.status.conditions[1]).toMatchObject({
      status: 'True',
      reason: 'CompletionsReached',
      message: 'Reached expected number of succeeded pods',
    });
    const jobPods = pods();
    expect(jobPods).toHaveLength(5);
    for (const p of jobPods) {
      expect(p.metadata.labels).toMatchObject({
        'job-name': 'pi',
        'batch.kubernetes.io/job-name': 'pi',
        'controller-uid': j.metadata.uid,
        'batch.kubernetes.io/controller-uid': j.metadata.uid,
      });
      expect(p.metadata.finalizers ?? []).not.toContain('batch.kubernetes.io/job-tracking');
      expect(p.metadata.generateName).toBe('pi-');
    }
    expect(events('Completed')).toEqual(['Job completed']);
  });

  it('fails with BackoffLimitExceeded once failed pods exceed backoffLimit', async () => {
    w.behaviour = (p) => (p.metadata.labels?.['job-name'] ? 'fail' : 'ready');
    create('batch', 'jobs', job('flaky', { backoffLimit: 2 }));
    const failed = await vi.waitFor(() => {
      const cur = get('batch', 'jobs', 'flaky')!;
      expect(cur.status.conditions?.map((c: Condition) => c.type)).toEqual(['FailureTarget', 'Failed']);
      return cur;
    }, waitOpts);
    expect(failed.status).toMatchObject({ failed: 3, ready: 0 });
    expect(failed.status.conditions[1]).toMatchObject({
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    });
    expect(pods()).toHaveLength(3);
    expect(events('BackoffLimitExceeded')).toHaveLength(1);
  });

  it('indexed jobs give each pod its index; ttlSecondsAfterFinished deletes the finished job', async () => {
    w.behaviour = (p) => (p.metadata.labels?.['job-name'] ? 'succeed' : 'ready');
    create('batch', 'jobs', job('idx', { completions: 3, parallelism: 3, completionMode: 'Indexed' }));
    await vi.waitFor(
      () => expect(get('batch', 'jobs', 'idx')!.status).toMatchObject({ succeeded: 3, completedIndexes: '0-2' }),
      waitOpts,
    );
    expect(
      pods()
        .map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'])
        .sort(),
    ).toEqual(['0', '1', '2']);
    create('batch', 'jobs', job('short', { ttlSecondsAfterFinished: 0 }));
    await vi.waitFor(() => expect(get('batch', 'jobs', 'short')).toBeUndefined(), waitOpts);
  });

  it('a suspended job runs no pods until resumed', async () => {
    w.behaviour = () => 'hold';
    create('batch', 'jobs', job('later', { suspend: true }));
    await vi.waitFor(
      () =>
        expect(get('batch', 'jobs', 'later')!.status?.conditions?.[0]).toMatchObject({
          type: 'Suspended',
          status: 'True',
        }),
      waitOpts,
    );
    expect(pods()).toHaveLength(0);
    mutate('batch', 'jobs', 'later', (j) => (j.spec.suspend = false));
    await vi.waitFor(() => expect(get('batch', 'jobs', 'later')!.status).toMatchObject({ active: 1 }), waitOpts);
    expect(pods()[0].metadata.finalizers).toEqual(['batch.kubernetes.io/job-tracking']);
  });
});

// ------------------------------------------------------------------ CronJobs

describe('CronJob', () => {
  const at = (s: string) => new Date(s);
  it('computes next schedule times', () => {
    expect(nextScheduleTime('*/15 * * * *', at('2024-03-01T10:07:30Z'))).toEqual(at('2024-03-01T10:15:00Z'));
    expect(nextScheduleTime('*/15 * * * *', at('2024-03-01T10:15:00Z'))).toEqual(at('2024-03-01T10:30:00Z'));
    expect(nextScheduleTime('* * * * *', at('2024-03-01T10:07:00Z'))).toEqual(at('2024-03-01T10:08:00Z'));
    expect(nextScheduleTime('0 9 * * 1-5', at('2024-03-01T10:00:00Z'))).toEqual(at('2024-03-04T09:00:00Z')); // Fri → Mon
    expect(nextScheduleTime('30 2 1 * *', at('2024-01-15T00:00:00Z'))).toEqual(at('2024-02-01T02:30:00Z'));
    expect(nextScheduleTime('0 0 * * SUN', at('2024-03-01T00:00:00Z'))).toEqual(at('2024-03-03T00:00:00Z'));
    expect(nextScheduleTime('0 12 * JAN,jul *', at('2024-03-01T00:00:00Z'))).toEqual(at('2024-07-01T12:00:00Z'));
    expect(nextScheduleTime('0 0 29 2 *', at('2024-03-01T00:00:00Z'))).toEqual(at('2028-02-29T00:00:00Z'));
    expect(nextScheduleTime('0 0 1,15 * 1', at('2024-03-01T00:00:00Z'))).toEqual(at('2024-03-04T00:00:00Z')); // day-of-month OR day-of-week
    expect(nextScheduleTime('5-10/5 8-9 * * *', at('2024-03-01T08:06:00Z'))).toEqual(at('2024-03-01T08:10:00Z'));
    expect(nextScheduleTime('@hourly', at('2024-03-01T08:06:00Z'))).toEqual(at('2024-03-01T09:00:00Z'));
    expect(nextScheduleTime('0 9 * * *', at('2024-07-01T00:00:00Z'), 'Europe/Berlin')).toEqual(
      at('2024-07-01T07:00:00Z'),
    );
    expect(nextScheduleTime('0 9 * * *', at('2024-01-01T00:00:00Z'), 'Europe/Berlin')).toEqual(
      at('2024-01-01T08:00:00Z'),
    );
    expect(nextScheduleTime('30 9 * * *', at('2024-01-01T00:00:00Z'), 'Asia/Kolkata')).toEqual(
      at('2024-01-01T04:00:00Z'),
    );
    expect(nextScheduleTime('0 0 30 2 *', at('2024-01-01T00:00:00Z'))).toBeUndefined();
    expect(() => parseSchedule('* * *')).toThrow(/expected exactly 5 fields/);
    expect(() => parseSchedule('61 * * * *')).toThrow(/above maximum/);
    expect(() => parseSchedule('* * * FOO *')).toThrow();
  });

  it('creates a Job <name>-<minutes> when its clock passes a scheduled time, then records its completion', async () => {
    w.behaviour = (p) => (p.metadata.labels?.['job-name'] ? 'succeed' : 'ready');
    create('batch', 'cronjobs', {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'tick' },
      spec: {
        schedule: '* * * * *',
        successfulJobsHistoryLimit: 1,
        jobTemplate: {
          metadata: { labels: { team: 'a' } },
          spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
        },
      },
    });
    const cj = w.controllers.find((c) => c instanceof CronJobController)!;
    await new Promise((r) => setTimeout(r, 20));
    expect(list('batch', 'jobs')).toHaveLength(0);
    const first = Math.floor(w.now / 60_000) * 60_000 + 60_000;
    w.now = first + 1_000;
    cj.enqueue(`${ns}/tick`);
    const name = `tick-${first / 60_000}`;
    await vi.waitFor(() => {
      const c = get('batch', 'cronjobs', 'tick')!;
      expect(get('batch', 'jobs', name)).toBeDefined();
      expect(c.status.lastScheduleTime).toBe(new Date(first).toISOString().replace('.000', ''));
    }, waitOpts);
    const j = get('batch', 'jobs', name)!;
    expect(j.metadata.labels).toEqual({ team: 'a' });
    expect(j.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe(
      new Date(first).toISOString().replace('.000', ''),
    );
    expect(j.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'CronJob', name: 'tick', controller: true });
    await vi.waitFor(() => {
      const c = get('batch', 'cronjobs', 'tick')!;
      expect(c.status.active).toBeUndefined();
      expect(c.status.lastSuccessfulTime).toBeTruthy();
    }, waitOpts);
    expect(events('SawCompletedJob')).toEqual([`Saw completed job: ${name}, condition: Complete`]);
    // The next minute: another job; history keeps one successful job.
    w.now = first + 61_000;
    cj.enqueue(`${ns}/tick`);
    await vi.waitFor(() => {
      const jobs = list('batch', 'jobs').filter((x) => !x.metadata.deletionTimestamp);
      expect(jobs.map((x) => x.metadata.name)).toEqual([`tick-${first / 60_000 + 1}`]);
      expect(jobs[0].status?.conditions?.some((c: Condition) => c.type === 'Complete')).toBe(true);
    }, waitOpts);
  });

  it('Forbid skips a run while a job is still active', async () => {
    w.behaviour = () => 'hold';
    create('batch', 'cronjobs', {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'once' },
      spec: {
        schedule: '* * * * *',
        concurrencyPolicy: 'Forbid',
        jobTemplate: {
          spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
        },
      },
    });
    const cj = w.controllers.find((c) => c instanceof CronJobController)!;
    const first = Math.floor(w.now / 60_000) * 60_000 + 60_000;
    w.now = first + 1_000;
    cj.enqueue(`${ns}/once`);
    await vi.waitFor(() => expect(get('batch', 'cronjobs', 'once')!.status?.active).toHaveLength(1), waitOpts);
    w.now = first + 61_000;
    cj.enqueue(`${ns}/once`);
    await new Promise((r) => setTimeout(r, 50));
    expect(list('batch', 'jobs')).toHaveLength(1);
  });
});

describe('workload helpers', () => {
  it('hash and int-or-percent like the real controllers', () => {
    expect(computeHash({ a: 1, b: [1, 2] })).toBe(computeHash({ b: [1, 2], a: 1 }));
    expect(computeHash({ a: 1 })).not.toBe(computeHash({ a: 1 }, 1));
    expect(intOrPercent('25%', 10, true, 0)).toBe(3);
    expect(intOrPercent('25%', 10, false, 0)).toBe(2);
    expect(intOrPercent(undefined, 4, true, '25%')).toBe(1);
    expect(intOrPercent(2, 10, true, 0)).toBe(2);
  });
});
