// The DaemonSet controller (daemonset-controller): one pod per node that should run it (nodeSelector, required
// node affinity, NoSchedule/NoExecute taints against the pod's tolerations plus those every daemon pod gets),
// pinned to its node, with ControllerRevisions and RollingUpdate (maxUnavailable / maxSurge) or OnDelete.
import type { StoreEvent } from '../store.js';
import type {
  KNode,
  KObject,
  KPod,
  KWorkload,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  PodSpec,
  Toleration,
  WorkloadStatus,
} from '../types.js';
import { nsKey, splitKey, type ControllerContext } from './base.js';
import { recordEvent } from './events.js';
import { tolerates } from './scheduler.js';
import { POD, WorkloadController } from './workload-controller.js';
import { claimObjects, controlledBy, podFromTemplate } from './workload-util.js';
import { isPodAvailable, isPodReady, msUntilAvailable } from './workload-util.js';
import { intOrPercent, omitZero, writeStatus } from './workload-util.js';
import { CONTROLLER_REVISION_HASH, pruneRevisions, templateRevision } from './workload-util.js';

const SOURCE = { component: 'daemonset-controller' };
const TEMPLATE_GENERATION = 'pod-template-generation';

/** Tolerations the controller adds to every daemon pod (util.AddOrUpdateDaemonPodTolerations). */
function daemonTolerations(spec: PodSpec | undefined): Toleration[] {
  const t = (key: string, effect: string): Toleration => ({ key, operator: 'Exists', effect });
  const out = [
    t('node.kubernetes.io/not-ready', 'NoExecute'),
    t('node.kubernetes.io/unreachable', 'NoExecute'),
    t('node.kubernetes.io/disk-pressure', 'NoSchedule'),
    t('node.kubernetes.io/memory-pressure', 'NoSchedule'),
    t('node.kubernetes.io/pid-pressure', 'NoSchedule'),
    t('node.kubernetes.io/unschedulable', 'NoSchedule'),
  ];
  if (spec?.hostNetwork) out.push(t('node.kubernetes.io/network-unavailable', 'NoSchedule'));
  return out;
}

function matchNodeSelectorTerm(term: NodeSelectorTerm, node: KNode): boolean {
  const labels: Record<string, string> = node.metadata.labels ?? {};
  const check = (e: NodeSelectorRequirement, value: string | undefined) => {
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        return value !== undefined && values.includes(value);
      case 'NotIn':
        return value === undefined || !values.includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      case 'Gt':
        return value !== undefined && Number(value) > Number(values[0]);
      case 'Lt':
        return value !== undefined && Number(value) < Number(values[0]);
      default:
        return false;
    }
  };
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  return (
    exprs.every((e) => check(e, Object.prototype.hasOwnProperty.call(labels, e.key) ? labels[e.key] : undefined)) &&
    fields.every((e) => check(e, e.key === 'metadata.name' ? node.metadata.name : undefined))
  );
}

/** NodeShouldRunDaemonPod: node selector, required node affinity and untolerated NoSchedule/NoExecute taints. */
export function nodeShouldRunDaemonPod(node: KNode, podSpec: PodSpec | undefined): boolean {
  if (node.metadata.deletionTimestamp) return false;
  const labels: Record<string, string> = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(podSpec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const terms = podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && !terms.some((t) => matchNodeSelectorTerm(t, node))) return false;
  const tolerations = [...(podSpec?.tolerations ?? []), ...daemonTolerations(podSpec)];
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerates(tolerations, taint)) return false;
  }
  return true;
}

const byCreation = (a: KObject, b: KObject) =>
  Date.parse(a.metadata.creationTimestamp ?? '') - Date.parse(b.metadata.creationTimestamp ?? '') ||
  a.metadata.name!.localeCompare(b.metadata.name!);

export class DaemonSetController extends WorkloadController {
  constructor(ctx: ControllerContext) {
    super(ctx, { group: 'apps', plural: 'daemonsets', kind: 'DaemonSet' }, POD, SOURCE);
  }

  protected override otherKeys(ev: StoreEvent): string[] {
    const { rt, object } = ev;
    if (rt.group === '' && rt.kind === 'Node') {
      if (ev.type === 'MODIFIED' && ev.old && !nodeChanged(ev.old, object)) return [];
      return this.initialKeys();
    }
    return [];
  }

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const found = this.store.get(this.ownRt, namespace, name);
    if (!found) return;
    const ds: KWorkload = structuredClone(found);
    const { revision } = templateRevision(this.store, ds, CONTROLLER_REVISION_HASH);
    const hash =
      revision.metadata.labels?.[CONTROLLER_REVISION_HASH] ??
      revision.metadata.name!.slice(ds.metadata.name!.length + 1);
    const nodes = this.store.list(this.store.type('', 'nodes'));

    if (!ds.metadata.deletionTimestamp) {
      const pods = claimObjects(this.store, this.childRt, ds);
      this.manage(ds, nodes, groupByNode(pods), hash);
      if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate')
        this.rollingUpdate(ds, nodes, groupByNode(controlledBy(this.store, this.childRt, ds)), hash);
    }
    const pods = controlledBy(this.store, this.childRt, ds);
    this.updateStatus(ds, nodes, groupByNode(pods), hash);
    const live = new Set<string>([revision.metadata.name!]);
    for (const p of pods) {
      const h = p.metadata.labels?.[CONTROLLER_REVISION_HASH];
      if (h) live.add(`${ds.metadata.name}-${h}`);
    }
    pruneRevisions(this.store, ds, live, ds.spec?.revisionHistoryLimit ?? 10);
  }

  private newPod(ds: KWorkload, node: string, hash: string): KPod {
    const pod = podFromTemplate(ds, ds.spec?.template, { generateName: `${ds.metadata.name}-` });
    pod.metadata.labels = {
      ...pod.metadata.labels,
      [CONTROLLER_REVISION_HASH]: hash,
      [TEMPLATE_GENERATION]: String(ds.metadata.generation ?? 1),
    };
    const spec = pod.spec;
    const tolerations = [...(spec.tolerations ?? [])];
    for (const t of daemonTolerations(spec)) {
      if (!tolerations.some((x) => x.key === t.key && x.effect === t.effect)) tolerations.push(t);
    }
    spec.tolerations = tolerations;
    // Pinned the real way (required node affinity on metadata.name), and bound directly.
    spec.affinity = {
      ...(spec.affinity ?? {}),
      nodeAffinity: {
        ...(spec.affinity?.nodeAffinity ?? {}),
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
        },
      },
    };
    spec.nodeName = node;
    return pod;
  }

  private createPod(ds: KWorkload, node: string, hash: string): void {
    this.createChild(ds, this.newPod(ds, node, hash));
  }

  private deletePod(ds: KObject, pod: KObject): void {
    this.deleteChild(ds, pod, `Deleted pod: ${pod.metadata.name}`);
  }

  /** podsShouldBeOnNode for every node: create missing pods, kill failed, duplicate and misplaced ones. */
  private manage(ds: KWorkload, nodes: KNode[], byNode: Map<string, KPod[]>, hash: string): void {
    const surge = this.maxSurge(ds, nodes) > 0;
    const nodeNames = new Set(nodes.map((n) => n.metadata.name!));
    for (const node of nodes) {
      const nodeName = node.metadata.name!;
      const pods = byNode.get(nodeName) ?? [];
      const shouldRun = nodeShouldRunDaemonPod(node, ds.spec?.template?.spec);
      if (shouldRun && pods.length === 0) {
        this.createPod(ds, nodeName, hash);
        continue;
      }
      if (!shouldRun) {
        for (const p of pods) if (!p.metadata.deletionTimestamp) this.deletePod(ds, p);
        continue;
      }
      const running: KPod[] = [];
      for (const p of pods) {
        if (p.metadata.deletionTimestamp) continue;
        if (p.status?.phase === 'Failed') {
          recordEvent(
            this.store,
            ds,
            'Warning',
            'FailedDaemonPod',
            `Found failed daemon pod ${p.metadata.namespace}/${p.metadata.name} on node ${nodeName}, will try to kill it`,
            SOURCE,
          );
          this.deletePod(ds, p);
          continue;
        }
        running.push(p);
      }
      if (running.length <= 1) continue;
      running.sort(byCreation);
      if (!surge) {
        for (const p of running.slice(1)) this.deletePod(ds, p);
        continue;
      }
      // Surging: keep the oldest updated pod once it is available, else the oldest old one and the newest updated one.
      const updated = running.filter((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === hash);
      const keep = updated.find((p) => isPodAvailable(p, ds.spec?.minReadySeconds ?? 0));
      const keepers = keep
        ? [keep]
        : [running.find((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] !== hash), updated.at(-1)];
      for (const p of running) if (!keepers.includes(p)) this.deletePod(ds, p);
    }
    // Pods on nodes that no longer exist.
    for (const [nodeName, pods] of byNode) {
      if (nodeNames.has(nodeName)) continue;
      for (const p of pods) if (!p.metadata.deletionTimestamp) this.deletePod(ds, p);
    }
  }

  private desired(ds: KWorkload, nodes: KNode[]): number {
    return nodes.filter((n) => nodeShouldRunDaemonPod(n, ds.spec?.template?.spec)).length;
  }

  private maxSurge(ds: KWorkload, nodes: KNode[]): number {
    if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return 0;
    return intOrPercent(ds.spec?.updateStrategy?.rollingUpdate?.maxSurge, this.desired(ds, nodes), true, 0);
  }

  private rollingUpdate(ds: KWorkload, nodes: KNode[], byNode: Map<string, KPod[]>, hash: string): void {
    const desired = this.desired(ds, nodes);
    const surge = this.maxSurge(ds, nodes);
    let maxUnavailable = intOrPercent(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable, desired, true, 1);
    if (surge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    const minReadySeconds = ds.spec?.minReadySeconds ?? 0;
    const key = nsKey(ds.metadata.namespace, ds.metadata.name!);
    let numUnavailable = 0;
    const replace: KPod[] = [];
    const candidates: KPod[] = [];
    const surgeNodes: string[] = [];
    for (const node of nodes) {
      if (!nodeShouldRunDaemonPod(node, ds.spec?.template?.spec)) continue;
      const pods = (byNode.get(node.metadata.name!) ?? []).filter((p) => !p.metadata.deletionTimestamp);
      const newPod = pods.find((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === hash);
      const oldPod = pods.find((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] !== hash);
      const available = (p: KPod) => {
        const wait = msUntilAvailable(p, minReadySeconds);
        if (wait > 0 && wait !== Infinity) this.enqueueAfter(key, wait + 5);
        return wait === 0;
      };
      if (surge === 0) {
        if ((!oldPod && !newPod) || (oldPod && newPod)) numUnavailable++;
        else if (newPod) {
          if (!available(newPod)) numUnavailable++;
        } else if (oldPod && !available(oldPod)) replace.push(oldPod);
        else if (oldPod && numUnavailable < maxUnavailable) candidates.push(oldPod);
      } else if (oldPod && !newPod) {
        // Surge: start the new pod next to the old one (the manage step removes the old once the new is available).
        if (!available(oldPod)) replace.push(oldPod);
        else surgeNodes.push(node.metadata.name!);
      } else if (newPod && oldPod && !available(newPod)) {
        numUnavailable++;
      }
    }
    if (surge === 0) {
      const remaining = Math.max(0, Math.min(maxUnavailable - numUnavailable, candidates.length));
      for (const p of [...replace, ...candidates.slice(0, remaining)]) this.deletePod(ds, p);
      return;
    }
    for (const p of replace) this.deletePod(ds, p);
    for (const nodeName of surgeNodes.slice(0, Math.max(0, surge - numUnavailable))) this.createPod(ds, nodeName, hash);
  }

  private updateStatus(ds: KWorkload, nodes: KNode[], byNode: Map<string, KPod[]>, hash: string): void {
    const minReadySeconds = ds.spec?.minReadySeconds ?? 0;
    let [desired, current, misscheduled, ready, available, updated] = [0, 0, 0, 0, 0, 0];
    for (const node of nodes) {
      const pods = [...(byNode.get(node.metadata.name!) ?? [])].sort(byCreation);
      const scheduled = pods.length > 0;
      if (!nodeShouldRunDaemonPod(node, ds.spec?.template?.spec)) {
        if (scheduled) misscheduled++;
        continue;
      }
      desired++;
      if (!scheduled) continue;
      current++;
      const pod = pods[0];
      if (isPodReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReadySeconds)) available++;
      }
      if (pods.some((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === hash && !p.metadata.deletionTimestamp))
        updated++;
    }
    const status: WorkloadStatus = omitZero(
      {
        currentNumberScheduled: current,
        numberMisscheduled: misscheduled,
        desiredNumberScheduled: desired,
        numberReady: ready,
        observedGeneration: ds.metadata.generation,
        updatedNumberScheduled: updated,
        numberAvailable: available,
        numberUnavailable: desired - available,
      },
      ['updatedNumberScheduled', 'numberAvailable', 'numberUnavailable'],
    );
    if (ds.status?.collisionCount !== undefined) status.collisionCount = ds.status.collisionCount;
    writeStatus(this.store, this.ownRt, ds, status);
  }
}

function groupByNode(pods: KPod[]): Map<string, KPod[]> {
  const m = new Map<string, KPod[]>();
  for (const p of pods) {
    const node = p.spec?.nodeName ?? nodeOfAffinity(p);
    if (!node) continue;
    const list = m.get(node) ?? [];
    list.push(p);
    m.set(node, list);
  }
  return m;
}

function nodeOfAffinity(p: KPod): string | undefined {
  const terms = p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    for (const f of t.matchFields ?? [])
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

/** Node changes that matter to daemon placement: labels, taints, existence (status heartbeats do not). */
function nodeChanged(a: KNode, b: KNode): boolean {
  return (
    JSON.stringify(a.metadata.labels ?? {}) !== JSON.stringify(b.metadata.labels ?? {}) ||
    JSON.stringify(a.spec?.taints ?? []) !== JSON.stringify(b.spec?.taints ?? []) ||
    Boolean(a.metadata.deletionTimestamp) !== Boolean(b.metadata.deletionTimestamp)
  );
}
