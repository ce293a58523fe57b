// Which pods belong to a workload, followed as they come and go: by controller owner references, as the controllers
// set them (Deployment → ReplicaSet → Pod, CronJob → Job → Pod, StatefulSet / DaemonSet / Job → Pod), never by
// labels (another workload's pods may carry the same ones).
import type * as k8s from '@kubernetes/client-node';
import { notFoundError } from '../../common/errors.js';
import type { NamespaceWatches, WatchedCollection, WatchedKind } from '../clients/pod-logs.js';

export type WorkloadKind = 'DEPLOYMENT' | 'STATEFUL_SET' | 'DAEMON_SET' | 'JOB' | 'CRON_JOB';

interface KindInfo {
  collection: WatchedKind;
  kind: string;
  /** The owner between the workload and its pods. */
  via?: { collection: WatchedKind; kind: string };
}

export const WORKLOAD_KINDS: Record<WorkloadKind, KindInfo> = {
  DEPLOYMENT: { collection: 'deployments', kind: 'Deployment', via: { collection: 'replicasets', kind: 'ReplicaSet' } },
  STATEFUL_SET: { collection: 'statefulsets', kind: 'StatefulSet' },
  DAEMON_SET: { collection: 'daemonsets', kind: 'DaemonSet' },
  JOB: { collection: 'jobs', kind: 'Job' },
  CRON_JOB: { collection: 'cronjobs', kind: 'CronJob', via: { collection: 'jobs', kind: 'Job' } },
};

const controllerOf = (o: k8s.KubernetesObject | undefined): k8s.V1OwnerReference | undefined =>
  o?.metadata?.ownerReferences?.find((r) => r.controller);

export interface WorkloadPodEvents {
  /** A pod of the workload appeared (or was recognised as one). */
  added(pod: k8s.V1Pod): void;
  /** A pod changed (its status: a container restarted). */
  changed(pod: k8s.V1Pod): void;
  /** A pod stopped belonging to the workload (deleted, or released by its controller). */
  removed(podName: string): void;
  /** The workload itself was deleted (or replaced by another of the same name). */
  workloadDeleted(error: Error): void;
}

/** The pods of one workload, with events as they change; the watches are held until stop(). */
export class WorkloadPods {
  private readonly members = new Map<string, string>(); // pod name → uid
  private readonly releases: (() => void)[] = [];
  private pods!: WatchedCollection;
  private workloads!: WatchedCollection;
  private via: WatchedCollection | undefined;
  private uid = '';
  private stopped = false;

  constructor(
    private readonly watches: NamespaceWatches,
    readonly namespace: string,
    readonly kind: WorkloadKind,
    readonly name: string,
  ) {}

  private get label(): string {
    return `${WORKLOAD_KINDS[this.kind].kind} ${this.namespace}/${this.name}`;
  }

  /**
   * Lists what is needed; NOT_FOUND when there is no such workload (`resumed`: a subscription that had it, so it was
   * deleted). The current pods are members after it.
   */
  async start(resumed = false): Promise<void> {
    const info = WORKLOAD_KINDS[this.kind];
    try {
      const acquired = await Promise.all([
        this.watches.acquire(this.namespace, 'pods'),
        this.watches.acquire(this.namespace, info.collection),
        ...(info.via ? [this.watches.acquire(this.namespace, info.via.collection)] : []),
      ]);
      for (const a of acquired) this.releases.push(a.release);
      [this.pods, this.workloads, this.via] = acquired.map((a) => a.collection);
    } catch (e) {
      this.stop();
      throw e;
    }
    const workload = this.workloads.get(this.name);
    if (!workload?.metadata?.uid) {
      this.stop();
      throw notFoundError(resumed ? `${this.label} was deleted` : `${this.label} not found`);
    }
    this.uid = workload.metadata.uid;
    for (const pod of this.pods.list())
      if (this.belongs(pod)) this.members.set(pod.metadata!.name!, pod.metadata!.uid!);
  }

  /** The pods now (after start()). */
  current(): k8s.V1Pod[] {
    return [...this.members.keys()].map((n) => this.pods.get(n) as k8s.V1Pod).filter(Boolean);
  }

  /** From now on, changes go to `events`. */
  follow(events: WorkloadPodEvents): void {
    const rescan = () => {
      for (const pod of this.pods.list()) this.update(pod, events);
      for (const name of [...this.members.keys()]) {
        const pod = this.pods.get(name);
        if (!pod || !this.belongs(pod)) {
          this.members.delete(name);
          events.removed(name);
        }
      }
    };
    this.releases.push(
      this.pods.listen((type, obj) => {
        const name = obj.metadata?.name ?? '';
        if (type === 'DELETED') {
          if (this.members.get(name) === obj.metadata?.uid) {
            this.members.delete(name);
            events.removed(name);
          }
          return;
        }
        this.update(obj as k8s.V1Pod, events);
      }),
      this.workloads.listen((type, obj) => {
        if (obj.metadata?.name !== this.name) return;
        if (type === 'DELETED' ? obj.metadata?.uid === this.uid : obj.metadata?.uid !== this.uid)
          events.workloadDeleted(notFoundError(`${this.label} was deleted`));
      }),
    );
    // A new ReplicaSet (a rollout) or Job (a CronJob's run) may arrive after its pods did.
    if (this.via) this.releases.push(this.via.listen(() => rescan()));
    rescan();
  }

  private update(pod: k8s.V1Pod, events: WorkloadPodEvents): void {
    const name = pod.metadata?.name;
    const uid = pod.metadata?.uid;
    if (!name || !uid) return;
    const known = this.members.get(name);
    const belongs = this.belongs(pod);
    if (known !== undefined && (known !== uid || !belongs)) {
      this.members.delete(name);
      events.removed(name);
    }
    if (!belongs) return;
    if (this.members.get(name) === uid) return events.changed(pod);
    this.members.set(name, uid);
    events.added(pod);
  }

  belongs(pod: k8s.KubernetesObject): boolean {
    const info = WORKLOAD_KINDS[this.kind];
    const ref = controllerOf(pod);
    if (!ref) return false;
    if (!info.via) return ref.kind === info.kind && ref.uid === this.uid;
    if (ref.kind !== info.via.kind) return false;
    const middle = this.via?.get(ref.name);
    if (!middle || middle.metadata?.uid !== ref.uid) return false;
    const top = controllerOf(middle);
    return top?.kind === info.kind && top.uid === this.uid;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const r of this.releases.splice(0)) r();
  }
}
