// Prometheus exporters for the simulated cluster: what the kubelet's cAdvisor endpoint, kube-state-metrics and
// node-exporter would expose, in their metric and label names. Everything is computed from the store at scrape
// time (one pass over pods and nodes, nothing done per store event). Usage figures are deterministic per container
// (a hash of pod uid, container and image sets its scale) and move over time along slow waves; counters are the
// closed-form integral of a positive rate since the container started, so they grow between scrapes and start
// again from zero when the container restarts.
import { Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { flavorOf, hash32 } from './logs.js';
import type { Store } from './store.js';
import type { Container, ContainerStatus, KObject, KPod, NodeAddress } from './types.js';
import { intValueOf, milliValueOf } from '../common/k8s/quantity.js';
import { WORKSPACE_LABEL } from '../common/k8s/labels.js';

export interface MetricsExporter {
  registry: Registry;
  contentType: string;
  metrics(): Promise<string>;
  close(): void;
}

// ------------------------------------------------------------------ quantities and waves

// Quantities as kube-state-metrics reports them: cpu in cores from MilliValue()/1000, everything else Value() (bytes,
// counts), both rounded up as apimachinery rounds; undefined when absent or malformed.
const cores = (q: unknown): number | undefined => {
  const m = milliValueOf(q);
  return m === undefined ? undefined : m / 1000;
};
const amountOf = (resource: string, q: unknown): number | undefined => (resource === 'cpu' ? cores(q) : intValueOf(q));

const unit = (seed: string) => hash32(seed) / 4294967296; // [0, 1)
const TAU = 2 * Math.PI;

/** A positive rate r·(1 + a·sin(ωt + φ)) and its integral from 0 to t (so the counter only grows). */
interface Wave {
  rate: number;
  amp: number;
  period: number; // seconds
  phase: number;
}
const waveAt = (w: Wave, t: number) => w.rate * (1 + w.amp * Math.sin((TAU * t) / w.period + w.phase));
const waveIntegral = (w: Wave, t: number) => {
  const omega = TAU / w.period;
  return w.rate * (t + (w.amp / omega) * (Math.cos(w.phase) - Math.cos(omega * t + w.phase)));
};

type Flavor = ReturnType<typeof flavorOf>;

/** Typical CPU (cores) and working set (bytes) of each kind of image when idle-ish. */
const PROFILE: Record<Flavor, { cpu: number; mem: number; net: number }> = {
  web: { cpu: 0.02, mem: 12 * 2 ** 20, net: 40_000 },
  json: { cpu: 0.05, mem: 70 * 2 ** 20, net: 15_000 },
  java: { cpu: 0.25, mem: 420 * 2 ** 20, net: 20_000 },
  redis: { cpu: 0.03, mem: 9 * 2 ** 20, net: 25_000 },
  postgres: { cpu: 0.08, mem: 80 * 2 ** 20, net: 18_000 },
  mysql: { cpu: 0.07, mem: 380 * 2 ** 20, net: 12_000 },
  crash: { cpu: 0.01, mem: 20 * 2 ** 20, net: 500 },
  plain: { cpu: 0.005, mem: 2 * 2 ** 20, net: 300 },
};

// ------------------------------------------------------------------ the simulated container

interface RunningContainer {
  pod: KObject;
  name: string;
  image: string;
  imageId: string;
  containerId: string;
  /** Seconds since this instance started. */
  age: number;
  cpu: Wave;
  memBase: number;
  memLimit?: number;
  memWave: Wave;
}

function containerModel(pod: KPod, spec: Container | undefined, cs: ContainerStatus, now: number): RunningContainer {
  const startedAt = cs.state?.running?.startedAt;
  const image: string = cs.image || spec?.image || '';
  const seed = `${pod.metadata.uid}|${cs.name}|${image}`;
  const prof = PROFILE[flavorOf(image)];
  const requests = spec?.resources?.requests ?? {};
  const limits = spec?.resources?.limits ?? {};
  const factor = 0.5 + unit(seed + '|cpu');
  const reqCpu = cores(requests.cpu);
  let cpuRate = (reqCpu ? reqCpu * 0.45 : prof.cpu) * factor;
  const amp = 0.25 + 0.2 * unit(seed + '|amp');
  const limCpu = cores(limits.cpu);
  if (limCpu && cpuRate * (1 + amp) > limCpu * 0.95) cpuRate = (limCpu * 0.95) / (1 + amp);
  const reqMem = intValueOf(requests.memory);
  const started = Date.parse(startedAt ?? pod.status?.startTime ?? pod.metadata.creationTimestamp ?? '');
  return {
    pod,
    name: cs.name,
    image,
    imageId: cs.imageID ?? '',
    containerId: String(cs.containerID ?? '').replace(/^[a-z]+:\/\//, '') || hexOf(seed + '|' + startedAt, 64),
    age: Number.isNaN(started) ? 0 : Math.max(0, (now - started) / 1000),
    cpu: { rate: cpuRate, amp, period: 300 + 900 * unit(seed + '|cpuP'), phase: TAU * unit(seed + '|cpuPh') },
    memBase: (reqMem ? reqMem * 0.6 : prof.mem) * (0.7 + 0.6 * unit(seed + '|mem')),
    memLimit: intValueOf(limits.memory),
    memWave: {
      rate: 1,
      amp: 0.06 + 0.06 * unit(seed + '|memA'),
      period: 600 + 1800 * unit(seed + '|memP'),
      phase: TAU * unit(seed + '|memPh'),
    },
  };
}

function workingSet(c: RunningContainer): number {
  const ramp = 1 - 0.45 * Math.exp(-c.age / 90); // the heap fills up after start
  let v = c.memBase * ramp * waveAt(c.memWave, c.age);
  if (c.memLimit) v = Math.min(v, c.memLimit * 0.92);
  return Math.round(v / 4096) * 4096;
}

/**
 * A pod's current usage, summed over its running containers, as metrics-server would report it to the HPA
 * controller: CPU in cores (the rate now) and the working set in bytes. The same model as the exported series.
 */
export function podUsage(pod: KPod, now = Date.now()): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (!cs.state?.running) continue;
    const spec = (pod.spec?.containers ?? []).find((c) => c.name === cs.name);
    const c = containerModel(pod, spec, cs, now);
    cpu += waveAt(c.cpu, c.age);
    memory += workingSet(c);
  }
  return { cpu, memory };
}

function hexOf(seed: string, n: number): string {
  let s = '';
  for (let i = 0; s.length < n; i++) s += hash32(`${seed}#${i}`).toString(16).padStart(8, '0');
  return s.slice(0, n);
}

function cgroupOf(pod: KObject, containerId: string): string {
  const qos = String(pod.status?.qosClass ?? 'BestEffort').toLowerCase();
  const uid = String(pod.metadata.uid ?? '').replace(/-/g, '_');
  const parent =
    qos === 'guaranteed'
      ? `/kubepods.slice/kubepods-pod${uid}.slice`
      : `/kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${uid}.slice`;
  return `${parent}/cri-containerd-${containerId}.scope`;
}

const PAUSE_IMAGE = 'registry.k8s.io/pause:3.9';
const PHASES = ['Pending', 'Succeeded', 'Failed', 'Unknown', 'Running'];
const CPU_MODES = ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user'] as const;
/** How a busy core's time splits among the non-idle modes. */
const BUSY_SPLIT: Record<(typeof CPU_MODES)[number], number> = {
  idle: 0,
  iowait: 0.03,
  irq: 0,
  nice: 0.01,
  softirq: 0.03,
  steal: 0.01,
  system: 0.22,
  user: 0.7,
};

type Labels = Record<string, string>;
interface Series {
  labels: Labels;
  value: number;
}

// Metrics whose series are rebuilt wholesale at each scrape: put() appends a series without prom-client's per-series
// label hashing and validation, which would dominate a scrape of 10,000 pods. prom-client still collects and renders.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- TypeScript requires a mixin's base constructor to take any[]
type MetricClass = new (...args: any[]) => {
  reset(): void;
  get(): Promise<MetricObjectWithValues<MetricValue<string>>>;
};

/** A prom-client metric class whose series are the ones put() since the last reset(). */
function scraped<Base extends MetricClass>(base: Base) {
  return class extends base {
    series: Series[] = [];
    put(labels: Labels, value: number): void {
      this.series.push({ labels, value });
    }
    override reset(): void {
      super.reset();
      this.series = [];
    }
    override async get() {
      return { ...(await super.get()), values: this.series };
    }
  };
}

const ScrapeGauge = scraped(Gauge<string>);
type ScrapeGauge = InstanceType<typeof ScrapeGauge>;
const ScrapeCounter = scraped(Counter<string>);
type ScrapeCounter = InstanceType<typeof ScrapeCounter>;

interface NodeCpuState {
  last: number;
  cpus: number;
  /** seconds[cpu][mode] */
  seconds: Record<string, number>[];
}

// ------------------------------------------------------------------ the exporter

export function createMetricsExporter(store: Store): MetricsExporter {
  const registry = new Registry();
  const podsRt = store.type('', 'pods');
  const nodesRt = store.type('', 'nodes');
  const nsRt = store.type('', 'namespaces');
  const deployRt = store.type('apps', 'deployments');

  let lastRefresh = -Infinity;
  let lastRv = '';
  let closed = false;
  const nodeCpu = new Map<string, NodeCpuState>();

  // Every metric's collect() asks for a refresh; one scrape (all collect() calls in the same instant, against
  // the same store version) computes everything once.
  const collect = () => {
    if (closed) return;
    if (Date.now() - lastRefresh < 1000 && store.resourceVersion === lastRv) return;
    refresh(Date.now());
    lastRefresh = Date.now();
  };
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new ScrapeGauge({ name, help, labelNames, registers: [registry], collect });
  const counter = (name: string, help: string, labelNames: string[]) =>
    new ScrapeCounter({ name, help, labelNames, registers: [registry], collect });
  const all: (ScrapeGauge | ScrapeCounter)[] = [];

  // cAdvisor (the kubelet's /metrics/cadvisor).
  const cLabels = ['container', 'id', 'image', 'name', 'namespace', 'pod', 'node'];
  const nLabels = [...cLabels, 'interface'];
  const cpuUsage = counter('container_cpu_usage_seconds_total', 'Cumulative cpu time consumed in seconds.', cLabels);
  const memWs = gauge('container_memory_working_set_bytes', 'Current working set in bytes.', cLabels);
  const netRx = counter('container_network_receive_bytes_total', 'Cumulative count of bytes received', nLabels);
  const netTx = counter('container_network_transmit_bytes_total', 'Cumulative count of bytes transmitted', nLabels);

  // kube-state-metrics.
  const podInfo = gauge('kube_pod_info', 'Information about pod.', [
    'namespace',
    'pod',
    'uid',
    'host_ip',
    'pod_ip',
    'node',
    'created_by_kind',
    'created_by_name',
    'priority_class',
    'host_network',
  ]);
  const podOwner = gauge('kube_pod_owner', "Information about the Pod's owner.", [
    'namespace',
    'pod',
    'uid',
    'owner_kind',
    'owner_name',
    'owner_is_controller',
  ]);
  const podPhase = gauge('kube_pod_status_phase', 'The pods current phase.', ['namespace', 'pod', 'uid', 'phase']);
  const restarts = counter(
    'kube_pod_container_status_restarts_total',
    'The number of container restarts per container.',
    ['namespace', 'pod', 'uid', 'container'],
  );
  const containerInfo = gauge('kube_pod_container_info', 'Information about a container in a pod.', [
    'namespace',
    'pod',
    'uid',
    'container',
    'image_spec',
    'image',
    'image_id',
    'container_id',
  ]);
  const resLabels = ['namespace', 'pod', 'uid', 'container', 'node', 'resource', 'unit'];
  const requests = gauge(
    'kube_pod_container_resource_requests',
    'The number of requested request resource by a container.',
    resLabels,
  );
  const limits = gauge(
    'kube_pod_container_resource_limits',
    'The number of requested limit resource by a container.',
    resLabels,
  );
  const nodeInfo = gauge('kube_node_info', 'Information about a cluster node.', [
    'node',
    'kernel_version',
    'os_image',
    'container_runtime_version',
    'kubelet_version',
    'kubeproxy_version',
    'provider_id',
    'pod_cidr',
    'system_uuid',
    'internal_ip',
  ]);
  const nodeCond = gauge('kube_node_status_condition', 'The condition of a cluster node.', [
    'node',
    'condition',
    'status',
  ]);
  const nodeCap = gauge('kube_node_status_capacity', 'The capacity for different resources of a node.', [
    'node',
    'resource',
    'unit',
  ]);
  const nodeAlloc = gauge(
    'kube_node_status_allocatable',
    'The allocatable for different resources of a node that are available for scheduling.',
    ['node', 'resource', 'unit'],
  );
  const nsLabels = gauge('kube_namespace_labels', 'Kubernetes labels converted to Prometheus labels.', [
    'namespace',
    'label_kubesphere_io_workspace',
  ]);
  const depSpec = gauge('kube_deployment_spec_replicas', 'Number of desired pods for a deployment.', [
    'namespace',
    'deployment',
  ]);
  const depAvail = gauge(
    'kube_deployment_status_replicas_available',
    'The number of available replicas per deployment.',
    ['namespace', 'deployment'],
  );

  // node-exporter.
  const neLabels = ['instance', 'node'];
  const nodeCpuSeconds = counter('node_cpu_seconds_total', 'Seconds the CPUs spent in each mode.', [
    'cpu',
    'mode',
    ...neLabels,
  ]);
  const memTotal = gauge('node_memory_MemTotal_bytes', 'Memory information field MemTotal_bytes.', neLabels);
  const memAvail = gauge('node_memory_MemAvailable_bytes', 'Memory information field MemAvailable_bytes.', neLabels);
  const load1 = gauge('node_load1', '1m load average.', neLabels);
  const load5 = gauge('node_load5', '5m load average.', neLabels);
  const load15 = gauge('node_load15', '15m load average.', neLabels);

  all.push(
    cpuUsage,
    memWs,
    netRx,
    netTx,
    podInfo,
    podOwner,
    podPhase,
    restarts,
    containerInfo,
    requests,
    limits,
    nodeInfo,
    nodeCond,
    nodeCap,
    nodeAlloc,
    nsLabels,
    depSpec,
    depAvail,
    nodeCpuSeconds,
    memTotal,
    memAvail,
    load1,
    load5,
    load15,
  );

  function refresh(now: number): void {
    lastRv = store.resourceVersion;
    for (const m of all) m.reset();

    const nodeCpuRate = new Map<string, number>();
    const nodeMem = new Map<string, number>();

    for (const pod of store.list(podsRt)) {
      const meta = pod.metadata;
      const namespace = meta.namespace ?? '';
      const podName = meta.name ?? '';
      const uid = meta.uid ?? '';
      const node: string = pod.spec?.nodeName ?? '';
      const status = pod.status ?? {};
      const owners = meta.ownerReferences ?? [];
      const ctrl = owners.find((o) => o.controller);
      podInfo.put(
        {
          namespace,
          pod: podName,
          uid,
          host_ip: status.hostIP ?? '',
          pod_ip: status.podIP ?? '',
          node,
          created_by_kind: ctrl?.kind ?? '',
          created_by_name: ctrl?.name ?? '',
          priority_class: pod.spec?.priorityClassName ?? '',
          host_network: String(Boolean(pod.spec?.hostNetwork)),
        },
        1,
      );
      if (owners.length === 0)
        podOwner.put({ namespace, pod: podName, uid, owner_kind: '', owner_name: '', owner_is_controller: '' }, 1);
      for (const o of owners) {
        podOwner.put(
          {
            namespace,
            pod: podName,
            uid,
            owner_kind: o.kind,
            owner_name: o.name,
            owner_is_controller: String(Boolean(o.controller)),
          },
          1,
        );
      }
      if (status.phase)
        for (const phase of PHASES)
          podPhase.put({ namespace, pod: podName, uid, phase }, status.phase === phase ? 1 : 0);

      const specs: Container[] = pod.spec?.containers ?? [];
      const statuses: ContainerStatus[] = status.containerStatuses ?? [];
      for (const spec of specs) {
        for (const [kind, gaugeOf] of [
          ['requests', requests],
          ['limits', limits],
        ] as const) {
          const res = spec.resources?.[kind] ?? {};
          for (const [resource, raw] of Object.entries(res)) {
            const v = amountOf(resource, raw);
            if (v === undefined) continue;
            const u =
              resource === 'cpu' ? 'core' : resource === 'memory' || resource.includes('storage') ? 'byte' : 'integer';
            gaugeOf.put(
              {
                namespace,
                pod: podName,
                uid,
                container: spec.name,
                node,
                resource: resource.replace(/[^a-zA-Z0-9_]/g, '_'),
                unit: u,
              },
              v,
            );
          }
        }
      }

      let podRunning = false;
      for (const cs of statuses) {
        const spec = specs.find((s) => s.name === cs.name);
        restarts.put({ namespace, pod: podName, uid, container: cs.name }, Number(cs.restartCount ?? 0));
        containerInfo.put(
          {
            namespace,
            pod: podName,
            uid,
            container: cs.name,
            image_spec: spec?.image ?? '',
            image: cs.image ?? '',
            image_id: cs.imageID ?? '',
            container_id: cs.containerID ?? '',
          },
          1,
        );
        if (!cs.state?.running || !node) continue;
        podRunning = true;
        const c = containerModel(pod, spec, cs, now);
        const labels = {
          container: c.name,
          id: cgroupOf(pod, c.containerId),
          image: c.image,
          name: c.containerId,
          namespace,
          pod: podName,
          node,
        };
        cpuUsage.put(labels, waveIntegral(c.cpu, c.age));
        const ws = workingSet(c);
        memWs.put(labels, ws);
        nodeCpuRate.set(node, (nodeCpuRate.get(node) ?? 0) + waveAt(c.cpu, c.age));
        nodeMem.set(node, (nodeMem.get(node) ?? 0) + ws);
      }
      // Network counters belong to the pod's sandbox (the pause container), which lives across container restarts;
      // host-network pods share the node's interfaces and have none of their own.
      if (podRunning && !pod.spec?.hostNetwork) {
        const seed = `${uid}|net`;
        let base = 0;
        for (const s of specs) base += PROFILE[flavorOf(s.image ?? '')].net;
        const rx: Wave = {
          rate: base * (0.5 + unit(seed + 'rx')),
          amp: 0.5,
          period: 240 + 600 * unit(seed + 'rxP'),
          phase: TAU * unit(seed + 'rxPh'),
        };
        const tx: Wave = { ...rx, rate: rx.rate * (0.3 + 2.5 * unit(seed + 'tx')), phase: rx.phase + 1 };
        const started = Date.parse(status.startTime ?? meta.creationTimestamp ?? '');
        const age = Number.isNaN(started) ? 0 : Math.max(0, (now - started) / 1000);
        const sandbox = hexOf(`${uid}|sandbox`, 64);
        const labels = {
          container: '',
          id: cgroupOf(pod, sandbox),
          image: PAUSE_IMAGE,
          name: sandbox,
          namespace,
          pod: podName,
          node,
          interface: 'eth0',
        };
        netRx.put(labels, Math.round(waveIntegral(rx, age)));
        netTx.put(labels, Math.round(waveIntegral(tx, age)));
      }
    }

    const seen = new Set<string>();
    for (const n of store.list(nodesRt)) {
      const node = n.metadata.name ?? '';
      seen.add(node);
      const st = n.status ?? {};
      const ni = st.nodeInfo ?? {};
      const addr = (type: string) => (st.addresses ?? []).find((a: NodeAddress) => a.type === type)?.address ?? '';
      nodeInfo.put(
        {
          node,
          kernel_version: ni.kernelVersion ?? '',
          os_image: ni.osImage ?? '',
          container_runtime_version: ni.containerRuntimeVersion ?? '',
          kubelet_version: ni.kubeletVersion ?? '',
          kubeproxy_version: ni.kubeProxyVersion ?? '',
          provider_id: n.spec?.providerID ?? '',
          pod_cidr: n.spec?.podCIDR ?? '',
          system_uuid: ni.systemUUID ?? '',
          internal_ip: addr('InternalIP'),
        },
        1,
      );
      for (const c of st.conditions ?? []) {
        const s = String(c.status ?? 'Unknown').toLowerCase();
        for (const status of ['true', 'false', 'unknown'])
          nodeCond.put({ node, condition: c.type, status }, s === status ? 1 : 0);
      }
      for (const [g, src] of [
        [nodeCap, st.capacity],
        [nodeAlloc, st.allocatable],
      ] as const) {
        for (const [resource, raw] of Object.entries(src ?? {})) {
          const v = amountOf(resource, raw);
          if (v === undefined) continue;
          const u =
            resource === 'cpu' ? 'core' : resource === 'memory' || resource.includes('storage') ? 'byte' : 'integer';
          g.put({ node, resource: resource.replace(/[^a-zA-Z0-9_]/g, '_'), unit: u }, v);
        }
      }

      // node-exporter: the node's CPUs are busy with its pods' CPU plus the system's own.
      const labels = { instance: node, node };
      const cpus = Math.max(1, Math.ceil(cores(st.capacity?.cpu) ?? 2));
      const total = intValueOf(st.capacity?.memory) ?? 8 * 2 ** 30;
      const sysWave: Wave = { rate: 1, amp: 0.3, period: 420, phase: TAU * unit(node + '|sys') };
      const tSec = now / 1000;
      const busy = Math.min(
        cpus * 0.97,
        0.03 * cpus + 0.05 + (nodeCpuRate.get(node) ?? 0) + 0.02 * cpus * waveAt(sysWave, tSec),
      );
      const state = nodeCpuState(n, cpus, now);
      const dt = Math.max(0, (now - state.last) / 1000);
      state.last = now;
      for (let i = 0; i < cpus; i++) {
        const share = Math.min(0.99, (busy / cpus) * (0.85 + 0.3 * unit(`${node}|cpu${i}`)));
        const secs = state.seconds[i];
        for (const mode of CPU_MODES) {
          secs[mode] += dt * (mode === 'idle' ? 1 - share : share * BUSY_SPLIT[mode]);
          nodeCpuSeconds.put({ cpu: String(i), mode, ...labels }, Math.round(secs[mode] * 100) / 100);
        }
      }
      memTotal.put(labels, total);
      const system =
        total * 0.06 + 300 * 2 ** 20 + 50 * 2 ** 20 * Math.sin((TAU * tSec) / 900 + TAU * unit(node + '|mem'));
      memAvail.put(labels, Math.round(Math.max(total * 0.02, total - system - (nodeMem.get(node) ?? 0)) / 4096) * 4096);
      const round2 = (v: number) => Math.round(v * 100) / 100;
      load1.put(labels, round2(busy * (1 + 0.15 * Math.sin((TAU * tSec) / 97 + unit(node)))));
      load5.put(labels, round2(busy * (1 + 0.07 * Math.sin((TAU * tSec) / 401 + unit(node)))));
      load15.put(labels, round2(busy * (1 + 0.03 * Math.sin((TAU * tSec) / 1201 + unit(node)))));
    }
    for (const name of nodeCpu.keys()) if (!seen.has(name)) nodeCpu.delete(name);

    for (const ns of store.list(nsRt)) {
      const ws = ns.metadata.labels?.[WORKSPACE_LABEL];
      nsLabels.put(
        { namespace: ns.metadata.name ?? '', ...(ws !== undefined ? { label_kubesphere_io_workspace: ws } : {}) },
        1,
      );
    }
    for (const d of store.list(deployRt)) {
      const labels = { namespace: d.metadata.namespace ?? '', deployment: d.metadata.name ?? '' };
      depSpec.put(labels, Number(d.spec?.replicas ?? 1));
      depAvail.put(labels, Number(d.status?.availableReplicas ?? 0));
    }
  }

  /** A node's CPU counters start from its uptime (mostly idle) and then integrate what its pods use. */
  function nodeCpuState(n: KObject, cpus: number, now: number): NodeCpuState {
    const node = n.metadata.name ?? '';
    let s = nodeCpu.get(node);
    if (s && s.cpus === cpus) return s;
    const created = Date.parse(n.metadata.creationTimestamp ?? '');
    const boot = (Number.isNaN(created) ? now : created) - 60_000 - 240_000 * unit(node + '|boot');
    const uptime = Math.max(0, (now - boot) / 1000);
    const seconds = [];
    for (let i = 0; i < cpus; i++) {
      const share = 0.04 + 0.04 * unit(`${node}|cpu${i}|init`);
      const secs: Record<string, number> = {};
      for (const mode of CPU_MODES) secs[mode] = uptime * (mode === 'idle' ? 1 - share : share * BUSY_SPLIT[mode]);
      seconds.push(secs);
    }
    s = { last: now, cpus, seconds };
    nodeCpu.set(node, s);
    return s;
  }

  return {
    registry,
    contentType: registry.contentType,
    async metrics() {
      if (closed) return '';
      lastRefresh = -Infinity; // a scrape always sees the present
      return registry.metrics();
    },
    close() {
      closed = true;
      nodeCpu.clear();
      registry.clear();
    },
  };
}
