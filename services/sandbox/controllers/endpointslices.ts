// The EndpointSlice controller's part of the endpoints controller: discovery.k8s.io/v1 EndpointSlices per Service
// with a selector (what kube-proxy, Headlamp and Lens read), at most 100 endpoints a slice, one set of slices per
// distinct port set, owned by the Service. Unlike Endpoints, a terminating pod stays listed (ready false,
// terminating true, serving while it was ready), as the real controller publishes it.
import type { Store } from '../store.js';
import type { KObject, KPod, KService } from '../types.js';
import { isPodReady } from './endpoints.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const MANAGED_BY = 'endpointslice-controller.k8s.io';
const MAX_ENDPOINTS_PER_SLICE = 100;

interface SlicePort {
  name: string;
  port: number;
  protocol: string;
}

interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid?: string };
}

/**
 * Brings the Service's slices in line with its pods: `portsOf` resolves the service's ports for a pod (undefined:
 * a named targetPort the pod lacks). Slices are reused in order, extra ones deleted, missing ones created.
 */
export function syncEndpointSlices(
  store: Store,
  svc: KService,
  pods: KPod[],
  portsOf: (pod: KPod) => { name?: string; port: number; protocol?: string }[] | undefined,
): void {
  const rt = store.registry.byPlural('discovery.k8s.io', 'endpointslices');
  if (!rt) return;
  const ns = svc.metadata.namespace!;
  const name = svc.metadata.name!;
  const groups = new Map<string, { ports: SlicePort[]; endpoints: SliceEndpoint[] }>();
  for (const pod of pods) {
    if (!pod.status?.podIP) continue;
    if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') continue;
    const ports = portsOf(pod);
    if (!ports) continue;
    const slicePorts = ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' }));
    const key = JSON.stringify(slicePorts);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports: slicePorts, endpoints: [] }));
    const terminating = Boolean(pod.metadata.deletionTimestamp);
    const ready = isPodReady(pod);
    g.endpoints.push({
      addresses: [pod.status.podIP],
      conditions: {
        ready: (ready || Boolean(svc.spec?.publishNotReadyAddresses)) && !terminating,
        serving: ready || Boolean(svc.spec?.publishNotReadyAddresses),
        terminating,
      },
      ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: ns, name: pod.metadata.name!, uid: pod.metadata.uid },
    });
  }
  const wanted: { ports: SlicePort[]; endpoints: SliceEndpoint[] }[] = [];
  for (const g of groups.values())
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE)
      wanted.push({ ports: g.ports, endpoints: g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE) });
  // A service without endpoints still has one (placeholder) slice, with no ports and no endpoints.
  if (!wanted.length) wanted.push({ ports: [], endpoints: [] });

  const labels: Record<string, string> = {
    ...(svc.metadata.labels ?? {}),
    [SERVICE_NAME_LABEL]: name,
    [MANAGED_BY_LABEL]: MANAGED_BY,
  };
  if (svc.spec?.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
  const existing = store
    .list(rt, ns)
    .filter(
      (s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY,
    )
    .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  const ownerReferences = [
    { apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true },
  ];
  wanted.forEach((w, i) => {
    const body = {
      addressType: 'IPv4',
      endpoints: w.endpoints,
      ports: w.ports,
    };
    const current = existing[i];
    if (!current) {
      store.create(rt, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { generateName: `${name}-`, namespace: ns, labels, ownerReferences },
        ...body,
      } as KObject);
      return;
    }
    const same =
      JSON.stringify([current.endpoints ?? [], current.ports ?? [], current.metadata.labels ?? {}]) ===
      JSON.stringify([body.endpoints, body.ports, labels]);
    if (!same) store.update(rt, { ...current, metadata: { ...current.metadata, labels }, ...body } as KObject);
  });
  for (const extra of existing.slice(wanted.length)) store.delete(rt, ns, extra.metadata.name!);
}

/** Removes the slices of a Service that is gone (the garbage collector would too, through their owner). */
export function deleteEndpointSlices(store: Store, ns: string, name: string): void {
  const rt = store.registry.byPlural('discovery.k8s.io', 'endpointslices');
  if (!rt) return;
  for (const s of store.list(rt, ns))
    if (s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY)
      store.delete(rt, ns, s.metadata.name!);
}
