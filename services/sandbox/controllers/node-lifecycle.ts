// Fills in what a node's kubelet reports when it registers (status: conditions, capacity, addresses, nodeInfo;
// the standard labels) and what the node IPAM controller assigns (spec.podCIDR), for Nodes created without them.
// Whatever the creator already set (a NotReady condition, a smaller capacity) is kept.
import { createHash } from 'node:crypto';
import type { StoreEvent } from '../store.js';
import { timestamp } from '../store.js';
import type { KObject } from '../types.js';
import { Controller, type ControllerContext } from './base.js';

export const KUBELET_VERSION = 'v1.35.0';

const CONDITIONS: [string, string, string][] = [
  ['MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ['Ready', 'KubeletReady', 'kubelet is posting ready status'],
];

const uuidOf = (s: string) => {
  const h = createHash('sha1').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

export class NodeLifecycleController extends Controller {
  private readonly cidrIndexes = new Map<string, number>();

  constructor(ctx: ControllerContext) {
    super(ctx);
  }

  protected override initialKeys(): string[] {
    const nodes = this.store.list(this.store.type('', 'nodes'));
    for (const n of nodes) this.noteCIDR(n);
    return nodes.map((n) => n.metadata.name!);
  }

  private noteCIDR(node: KObject): void {
    const m = /^10\.244\.(\d+)\.0\/24$/.exec(node.spec?.podCIDR ?? '');
    if (m) this.cidrIndexes.set(node.metadata.name!, Number(m[1]));
  }

  protected keysFor(ev: StoreEvent): string[] {
    if (ev.rt.group !== '' || ev.rt.kind !== 'Node') return [];
    if (ev.type === 'DELETED') {
      this.cidrIndexes.delete(ev.object.metadata.name!);
      return [];
    }
    this.noteCIDR(ev.object);
    return [ev.object.metadata.name!];
  }

  protected reconcile(name: string): void {
    const rt = this.store.type('', 'nodes');
    let node = this.store.get(rt, undefined, name);
    if (!node || node.metadata.deletionTimestamp) return;
    // spec and labels: the IPAM controller's pod CIDR and the kubelet's well-known labels.
    const labels = { ...(node.metadata.labels ?? {}) };
    const want: Record<string, string> = {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': name,
      'kubernetes.io/os': 'linux',
    };
    let labelsChanged = false;
    for (const [k, v] of Object.entries(want)) {
      if (labels[k] === undefined) {
        labels[k] = v;
        labelsChanged = true;
      }
    }
    const spec = { ...(node.spec ?? {}) };
    if (!spec.podCIDR) {
      const used = new Set(this.cidrIndexes.values());
      let n = 0;
      while (used.has(n)) n++;
      this.cidrIndexes.set(name, n);
      spec.podCIDR = `10.244.${n}.0/24`;
      spec.podCIDRs = [spec.podCIDR];
    }
    if (labelsChanged || spec.podCIDR !== node.spec?.podCIDR) {
      node = this.store.update(rt, { ...node, metadata: { ...node.metadata, labels }, spec });
    }
    // status: only what is missing.
    const status: KObject['status'] = structuredClone(node.status ?? {});
    const now = timestamp();
    const index = Number(/^10\.244\.(\d+)\./.exec(spec.podCIDR)?.[1] ?? 0);
    status.capacity ??= {
      cpu: '8',
      'ephemeral-storage': '102626232Ki',
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
      memory: '32827396Ki',
      pods: '110',
    };
    status.allocatable ??= { ...status.capacity };
    if (!Array.isArray(status.conditions) || !status.conditions.length) {
      status.conditions = CONDITIONS.map(([type, reason, message]) => ({
        type,
        status: type === 'Ready' ? 'True' : 'False',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
        reason,
        message,
      }));
    }
    status.addresses ??= [
      { type: 'InternalIP', address: `172.18.0.${(index % 250) + 2}` },
      { type: 'Hostname', address: name },
    ];
    status.daemonEndpoints ??= { kubeletEndpoint: { Port: 10250 } };
    status.nodeInfo ??= {
      architecture: 'amd64',
      bootID: uuidOf(`boot/${name}`),
      containerRuntimeVersion: 'containerd://2.1.3',
      kernelVersion: '6.8.0-1027-generic',
      kubeProxyVersion: KUBELET_VERSION,
      kubeletVersion: KUBELET_VERSION,
      machineID: uuidOf(`machine/${name}`).replace(/-/g, ''),
      operatingSystem: 'linux',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      systemUUID: uuidOf(`system/${name}`),
    };
    status.images ??= [];
    if (JSON.stringify(status) !== JSON.stringify(node.status ?? {})) {
      this.store.update(rt, { ...node, status }, { subresource: 'status' });
    }
  }
}
