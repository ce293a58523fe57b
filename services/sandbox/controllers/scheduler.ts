// The default scheduler: binds pending pods to a Ready, schedulable node that fits them (nodeSelector and required
// node affinity, NoSchedule/NoExecute taints against tolerations, pod count and cpu/memory requests against
// allocatable), spreading by picking the node with the fewest pods. Unschedulable pods get the PodScheduled=False
// condition and a FailedScheduling event, and are retried when nodes or pods change.
import type { StoreEvent } from '../store.js';
import { timestamp } from '../store.js';
import type { Condition, KNode, KObject, KPod, NodeSelectorRequirement, Taint, Toleration } from '../types.js';
import { Controller, nsKey, splitKey, type ControllerContext } from './base.js';
import { recordEvent } from './events.js';
import { intValueOf, milliValueOf } from '../../common/k8s/quantity.js';

const SOURCE = { component: 'default-scheduler' };

// Requests and allocatable as the kube-scheduler reads them: cpu in millicores (MilliValue), memory in bytes
// (Value), both rounded up; a missing or malformed quantity counts as zero.
const milliCpu = (q: unknown): number => milliValueOf(q) ?? 0;
const bytes = (q: unknown): number => intValueOf(q) ?? 0;

interface Usage {
  pods: number;
  cpu: number; // millicores requested
  memory: number; // bytes requested
}

/** What a pod asks of its node: the larger of the sum of its containers and its biggest init container. */
function requestsOf(pod: KPod): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of pod.spec?.containers ?? []) {
    cpu += milliCpu(c?.resources?.requests?.cpu);
    memory += bytes(c?.resources?.requests?.memory);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    cpu = Math.max(cpu, milliCpu(c?.resources?.requests?.cpu));
    memory = Math.max(memory, bytes(c?.resources?.requests?.memory));
  }
  return { cpu, memory };
}

const isTerminal = (p: KObject) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export function isNodeReady(node: KNode): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function tolerates(
  tolerations: Toleration[] | undefined,
  taint: Omit<Taint, 'key'> & { key?: string },
): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

function matchExpression(labels: Record<string, string>, e: NodeSelectorRequirement): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, e.key);
  const v = labels[e.key];
  switch (e.operator) {
    case 'In':
      return has && (e.values ?? []).includes(v);
    case 'NotIn':
      return !has || !(e.values ?? []).includes(v);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
      return has && Number(v) > Number(e.values?.[0]);
    case 'Lt':
      return has && Number(v) < Number(e.values?.[0]);
    default:
      return false;
  }
}

function matchesNodeSelection(pod: KPod, node: KNode): boolean {
  const labels: Record<string, string> = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    const fields: Record<string, string> = { 'metadata.name': node.metadata.name! };
    // The terms are ORed; a term with neither matchExpressions nor matchFields matches no node (Kubernetes'
    // nodeaffinity: "a null or empty term matches no objects"), so it can never widen the choice to every node.
    const ok = (required.nodeSelectorTerms ?? []).some(
      (t) =>
        ((t.matchExpressions ?? []).length > 0 || (t.matchFields ?? []).length > 0) &&
        (t.matchExpressions ?? []).every((e) => matchExpression(labels, e)) &&
        (t.matchFields ?? []).every((e) => matchExpression(fields, e)),
    );
    if (!ok) return false;
  }
  return true;
}

export class Scheduler extends Controller {
  /** Pods bound to each node (non-terminal), with their requests. */
  private readonly usage = new Map<string, Usage>();
  /** What each bound pod counts for, so changes are applied as differences. */
  private readonly counted = new Map<string, { node: string; cpu: number; memory: number }>();
  /** Pods waiting for a node: retried whenever nodes change or capacity frees up. */
  private readonly unschedulable = new Set<string>();

  constructor(ctx: ControllerContext) {
    super(ctx);
  }

  protected override initialKeys(): string[] {
    const keys: string[] = [];
    for (const pod of this.store.list(this.store.type('', 'pods'))) {
      this.account(pod, false);
      if (this.wants(pod)) keys.push(nsKey(pod.metadata.namespace, pod.metadata.name!));
    }
    return keys;
  }

  private wants(pod: KObject): boolean {
    return (
      !pod.spec?.nodeName &&
      !pod.metadata.deletionTimestamp &&
      !isTerminal(pod) &&
      (pod.spec?.schedulerName ?? 'default-scheduler') === 'default-scheduler' &&
      !(pod.spec?.schedulingGates ?? []).length
    );
  }

  /** Keeps the per-node usage in step with a pod's change; returns whether capacity was freed. */
  private account(pod: KObject, deleted: boolean): boolean {
    const key = nsKey(pod.metadata.namespace, pod.metadata.name!);
    const before = this.counted.get(key);
    const node = !deleted && !isTerminal(pod) ? pod.spec?.nodeName : undefined;
    if (before && before.node === node) return false;
    if (before) {
      const u = this.usage.get(before.node);
      if (u) {
        u.pods -= 1;
        u.cpu -= before.cpu;
        u.memory -= before.memory;
      }
      this.counted.delete(key);
    }
    if (node) {
      const r = requestsOf(pod);
      let u = this.usage.get(node);
      if (!u) this.usage.set(node, (u = { pods: 0, cpu: 0, memory: 0 }));
      u.pods += 1;
      u.cpu += r.cpu;
      u.memory += r.memory;
      this.counted.set(key, { node, ...r });
    }
    return Boolean(before);
  }

  protected keysFor(ev: StoreEvent): string[] {
    const { rt, object } = ev;
    if (rt.group !== '') return [];
    if (rt.kind === 'Pod') {
      const key = nsKey(object.metadata.namespace, object.metadata.name!);
      const freed = this.account(object, ev.type === 'DELETED');
      if (ev.type === 'DELETED') this.unschedulable.delete(key);
      const keys = ev.type !== 'DELETED' && this.wants(object) ? [key] : [];
      if (freed && this.unschedulable.size) keys.push(...this.unschedulable);
      return keys;
    }
    if (rt.kind === 'Node') {
      if (ev.type === 'DELETED') this.usage.delete(object.metadata.name!);
      if (ev.type === 'MODIFIED' && ev.old && !this.nodeChanged(ev.old, object)) return [];
      return [...this.unschedulable];
    }
    return [];
  }

  private nodeChanged(a: KObject, b: KObject): boolean {
    const view = (n: KObject) =>
      JSON.stringify([n.metadata.labels, n.spec?.taints, n.spec?.unschedulable, n.status?.allocatable, isNodeReady(n)]);
    return view(a) !== view(b);
  }

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const podsRT = this.store.type('', 'pods');
    const pod = this.store.get(podsRT, namespace, name);
    if (!pod || !this.wants(pod)) {
      this.unschedulable.delete(key);
      return;
    }
    const nodes = this.store.list(this.store.type('', 'nodes'));
    const reasons = new Map<string, number>();
    const fail = (why: string) => reasons.set(why, (reasons.get(why) ?? 0) + 1);
    const need = requestsOf(pod);
    let best: KObject | undefined;
    let bestPods = Infinity;
    for (const node of nodes) {
      if (node.metadata.deletionTimestamp) continue;
      if (
        node.spec?.unschedulable &&
        !tolerates(pod.spec?.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })
      ) {
        fail('node(s) were unschedulable');
        continue;
      }
      if (
        !isNodeReady(node) &&
        !tolerates(pod.spec?.tolerations, { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' })
      ) {
        fail('node(s) had untolerated taint {node.kubernetes.io/not-ready: }');
        continue;
      }
      if (!matchesNodeSelection(pod, node)) {
        fail("node(s) didn't match Pod's node affinity/selector");
        continue;
      }
      const taint = (node.spec?.taints ?? []).find(
        (t: Taint) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(pod.spec?.tolerations, t),
      );
      if (taint) {
        fail(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
        continue;
      }
      const used = this.usage.get(node.metadata.name!) ?? { pods: 0, cpu: 0, memory: 0 };
      const alloc = node.status?.allocatable ?? node.status?.capacity ?? {};
      const maxPods = intValueOf(alloc.pods) ?? 110;
      let fits = true;
      if (used.pods + 1 > maxPods) {
        fail('Too many pods');
        fits = false;
      }
      if (alloc.cpu !== undefined && need.cpu > 0 && used.cpu + need.cpu > milliCpu(alloc.cpu)) {
        fail('Insufficient cpu');
        fits = false;
      }
      if (alloc.memory !== undefined && need.memory > 0 && used.memory + need.memory > bytes(alloc.memory)) {
        fail('Insufficient memory');
        fits = false;
      }
      if (!fits) continue;
      if (used.pods < bestPods) {
        best = node;
        bestPods = used.pods;
      }
    }
    if (!best) {
      this.markUnschedulable(pod, key, nodes.length, reasons);
      return;
    }
    this.bind(pod, best.metadata.name!);
    this.unschedulable.delete(key);
  }

  private bind(pod: KObject, nodeName: string): void {
    const podsRT = this.store.type('', 'pods');
    const bound = this.store.update(podsRT, { ...pod, spec: { ...pod.spec, nodeName } });
    // The binding also records PodScheduled=True.
    const conditions = (bound.status?.conditions ?? []).filter((c: Condition) => c.type !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: timestamp() });
    const { nominatedNodeName: _n, ...status } = bound.status ?? {};
    this.store.update(podsRT, { ...bound, status: { ...status, conditions } }, { subresource: 'status' });
    recordEvent(
      this.store,
      bound,
      'Normal',
      'Scheduled',
      `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`,
      SOURCE,
    );
  }

  private markUnschedulable(pod: KObject, key: string, total: number, reasons: Map<string, number>): void {
    this.unschedulable.add(key);
    const message = total
      ? `0/${total} nodes are available: ${[...reasons.entries()]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([why, n]) => `${n} ${why}`)
          .join(', ')}. preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`
      : 'no nodes available to schedule pods';
    const old = (pod.status?.conditions ?? []).find((c: Condition) => c.type === 'PodScheduled');
    if (old?.status === 'False' && old.reason === 'Unschedulable' && old.message === message) return;
    const conditions = (pod.status?.conditions ?? []).filter((c: Condition) => c.type !== 'PodScheduled');
    conditions.push({
      type: 'PodScheduled',
      status: 'False',
      lastProbeTime: null,
      lastTransitionTime: timestamp(),
      reason: 'Unschedulable',
      message,
    });
    const updated = this.store.update(
      this.store.type('', 'pods'),
      { ...pod, status: { ...(pod.status ?? {}), phase: 'Pending', conditions } },
      { subresource: 'status' },
    );
    recordEvent(this.store, updated, 'Warning', 'FailedScheduling', message, SOURCE);
  }
}
