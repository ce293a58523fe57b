// The endpoints controller: an Endpoints object per Service with a selector, listing the IPs of the matching pods,
// ready ones in `addresses` and the others in `notReadyAddresses`, with the service's ports resolved against each
// pod (targetPort by number or by container port name). Membership is indexed incrementally (service → pods), so
// a pod change costs the services of its namespace, not a scan of every pod.
import type { StoreEvent } from '../store.js';
import { timestamp } from '../store.js';
import { labelsMatch, type LabelRequirement } from '../selectors.js';
import type { EndpointAddress, EndpointPort, KEndpoints, KObject, KPod, KService } from '../types.js';
import { Controller, nsKey, splitKey, type ControllerContext } from './base.js';
import { deleteEndpointSlices, syncEndpointSlices } from './endpointslices.js';

/** Endpoints are capped like the real controller (the rest is truncated and annotated). */
const MAX_ADDRESSES = 1000;

interface ServiceEntry {
  reqs: LabelRequirement[];
  pods: Set<string>; // pod names in the service's namespace
}

export function isPodReady(pod: KPod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** What of a pod the Endpoints depend on. */
const podView = (p: KPod) =>
  JSON.stringify([
    p.status?.podIP,
    isPodReady(p),
    p.spec?.nodeName,
    Boolean(p.metadata.deletionTimestamp),
    p.status?.phase,
    p.metadata.uid,
  ]);

export class EndpointsController extends Controller {
  /** Services with a selector, by namespace then name. */
  private readonly services = new Map<string, Map<string, ServiceEntry>>();
  private readonly lastSync = new Map<string, number>();
  private readonly delayed = new Set<string>();
  /** The Endpoints being written by us right now (store events are delivered synchronously), not to requeue it. */
  private writing?: string;

  constructor(ctx: ControllerContext) {
    super(ctx);
  }

  protected override initialKeys(): string[] {
    const keys: string[] = [];
    for (const svc of this.store.list(this.store.type('', 'services'))) {
      this.indexService(svc);
      keys.push(nsKey(svc.metadata.namespace, svc.metadata.name!));
    }
    return keys;
  }

  private indexService(svc: KObject): void {
    const ns = svc.metadata.namespace!;
    const name = svc.metadata.name!;
    let byName = this.services.get(ns);
    const selector: Record<string, string> | undefined = svc.spec?.selector;
    if (!selector || !Object.keys(selector).length || svc.spec?.type === 'ExternalName') {
      byName?.delete(name);
      return;
    }
    const reqs: LabelRequirement[] = Object.entries(selector).map(([key, v]) => ({ key, op: '=', values: [v] }));
    const existing = byName?.get(name);
    if (existing && JSON.stringify(existing.reqs) === JSON.stringify(reqs)) return;
    if (!byName) this.services.set(ns, (byName = new Map()));
    const pods = new Set<string>();
    for (const p of this.store.list(this.store.type('', 'pods'), ns))
      if (labelsMatch(reqs, p.metadata.labels)) pods.add(p.metadata.name!);
    byName.set(name, { reqs, pods });
  }

  protected keysFor(ev: StoreEvent): string[] {
    const { rt, object } = ev;
    if (rt.group !== '') return [];
    const ns = object.metadata.namespace!;
    const name = object.metadata.name!;
    if (rt.kind === 'Service') {
      if (ev.type === 'DELETED') this.services.get(ns)?.delete(name);
      else this.indexService(object);
      return [nsKey(ns, name)];
    }
    if (rt.kind === 'Endpoints') {
      // Someone else changed or removed what we manage: put it back.
      const key = nsKey(ns, name);
      if (!this.services.get(ns)?.has(name)) return [];
      if (ev.type !== 'DELETED' && this.writing === key) return [];
      return [key];
    }
    if (rt.kind !== 'Pod') return [];
    const byName = this.services.get(ns);
    if (!byName?.size) return [];
    const keys: string[] = [];
    const relevantChange =
      ev.type !== 'MODIFIED' ||
      !ev.old ||
      podView(ev.old) !== podView(object) ||
      JSON.stringify(ev.old.metadata.labels) !== JSON.stringify(object.metadata.labels);
    if (!relevantChange) return [];
    for (const [svcName, entry] of byName) {
      const was = entry.pods.has(name);
      const is = ev.type !== 'DELETED' && labelsMatch(entry.reqs, object.metadata.labels);
      if (is) entry.pods.add(name);
      else entry.pods.delete(name);
      if (was || is) keys.push(nsKey(ns, svcName));
    }
    return keys;
  }

  protected reconcile(key: string): void {
    const [ns, name] = splitKey(key);
    const epRT = this.store.type('', 'endpoints');
    const svc = this.store.get(this.store.type('', 'services'), ns, name);
    const current = this.store.get(epRT, ns, name);
    if (!svc) {
      this.lastSync.delete(key);
      if (current) this.store.delete(epRT, ns, name);
      deleteEndpointSlices(this.store, ns!, name);
      return;
    }
    const entry = this.services.get(ns!)?.get(name);
    if (!entry) return; // no selector: Endpoints are the user's to manage
    // Large services are synced at most every 200ms (as the real controller batches pod updates).
    if (entry.pods.size > 200) {
      const last = this.lastSync.get(key) ?? 0;
      const wait = last + 200 - Date.now();
      if (wait > 0) {
        if (!this.delayed.has(key)) {
          this.delayed.add(key);
          this.ctx.setTimer(() => {
            this.delayed.delete(key);
            this.enqueue(key);
          }, wait);
        }
        return;
      }
    }
    this.lastSync.set(key, Date.now());
    const podsRT = this.store.type('', 'pods');
    const groups = new Map<
      string,
      { ports: EndpointPort[]; addresses: EndpointAddress[]; notReadyAddresses: EndpointAddress[] }
    >();
    let total = 0;
    let truncated = false;
    const names = [...entry.pods].sort();
    const pods = names.map((n) => this.store.get(podsRT, ns, n) as KPod | undefined).filter((p): p is KPod => !!p);
    syncEndpointSlices(this.store, svc, pods, (pod) => this.resolvePorts(svc, pod));
    for (const podName of names) {
      const pod: KPod | undefined = this.store.get(podsRT, ns, podName);
      if (!pod || !pod.status?.podIP || pod.metadata.deletionTimestamp) continue;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      const ports = this.resolvePorts(svc, pod);
      if (!ports) continue;
      if (total >= MAX_ADDRESSES) {
        truncated = true;
        break;
      }
      total++;
      const gk = JSON.stringify(ports);
      let g = groups.get(gk);
      if (!g) groups.set(gk, (g = { ports, addresses: [], notReadyAddresses: [] }));
      const address: EndpointAddress = {
        ip: pod.status.podIP,
        ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
        targetRef: { kind: 'Pod', namespace: ns, name: podName, uid: pod.metadata.uid },
      };
      if (pod.spec?.hostname && pod.spec?.subdomain === name) address.hostname = pod.spec.hostname;
      if (isPodReady(pod) || svc.spec?.publishNotReadyAddresses) g.addresses.push(address);
      else g.notReadyAddresses.push(address);
    }
    const byIP = (a: EndpointAddress, b: EndpointAddress) => ipNum(a.ip) - ipNum(b.ip);
    const subsets = [...groups.values()].map((g) => ({
      ...(g.addresses.length ? { addresses: g.addresses.sort(byIP) } : {}),
      ...(g.notReadyAddresses.length ? { notReadyAddresses: g.notReadyAddresses.sort(byIP) } : {}),
      ports: g.ports,
    }));
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
    if (svc.spec?.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
    const annotations: Record<string, string> = {};
    if (truncated) annotations['endpoints.kubernetes.io/over-capacity'] = 'truncated';
    const body: KEndpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: ns, labels, ...(Object.keys(annotations).length ? { annotations } : {}) },
      ...(subsets.length ? { subsets } : {}),
    };
    if (!current) {
      body.metadata.annotations = { ...annotations, 'endpoints.kubernetes.io/last-change-trigger-time': timestamp() };
      this.writing = key;
      try {
        this.store.create(epRT, body);
      } finally {
        this.writing = undefined;
      }
      return;
    }
    const trigger = current.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'];
    const sameSubsets = JSON.stringify(current.subsets ?? []) === JSON.stringify(body.subsets ?? []);
    const sameLabels = JSON.stringify(current.metadata.labels ?? {}) === JSON.stringify(labels);
    const sameTrunc =
      (current.metadata.annotations?.['endpoints.kubernetes.io/over-capacity'] === 'truncated') === truncated;
    if (sameSubsets && sameLabels && sameTrunc) return;
    const nextAnnotations = { ...(current.metadata.annotations ?? {}) };
    delete nextAnnotations['endpoints.kubernetes.io/over-capacity'];
    Object.assign(nextAnnotations, annotations);
    nextAnnotations['endpoints.kubernetes.io/last-change-trigger-time'] =
      sameSubsets && trigger ? trigger : timestamp();
    const { subsets: _old, ...rest } = current;
    this.writing = key;
    try {
      this.store.update(epRT, {
        ...rest,
        metadata: { ...current.metadata, labels, annotations: nextAnnotations },
        ...(subsets.length ? { subsets } : {}),
      });
    } finally {
      this.writing = undefined;
    }
  }

  /** The service's ports for this pod; undefined when a named targetPort is not among the pod's container ports. */
  private resolvePorts(svc: KService, pod: KPod): EndpointPort[] | undefined {
    const out: EndpointPort[] = [];
    for (const p of svc.spec?.ports ?? []) {
      let port: number | undefined;
      const tp = p.targetPort ?? p.port;
      if (typeof tp === 'number') port = tp;
      else if (/^\d+$/.test(String(tp))) port = Number(tp);
      else {
        for (const c of pod.spec?.containers ?? []) {
          const found = (c.ports ?? []).find(
            (cp) => cp.name === tp && (cp.protocol ?? 'TCP') === (p.protocol ?? 'TCP'),
          );
          if (found) {
            port = found.containerPort;
            break;
          }
        }
      }
      if (port === undefined) continue;
      out.push({ ...(p.name ? { name: p.name } : {}), port, protocol: p.protocol ?? 'TCP' });
    }
    return out.length || !(svc.spec?.ports ?? []).length ? out : undefined;
  }
}

function ipNum(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}
