// Container logs and Prometheus exporters of the sandbox, through real HTTP against a tiny server that serves them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../services/sandbox/errors.js';
import { parseLogOptions, servePodLog } from '../services/sandbox/logs.js';
import { createMetricsExporter } from '../services/sandbox/metrics.js';
import { Store } from '../services/sandbox/store.js';
import type { ContainerStatus, KObject, ResourceRequirements } from '../services/sandbox/types.js';

const SPEED = 20; // lines come 20x faster than in the demo
const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().replace(/\.\d+Z$/, 'Z');

async function poll<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let store: Store;
let server: Server;
let base = '';
let exporter: ReturnType<typeof createMetricsExporter>;
const podsRt = () => store.type('', 'pods');
const listeners = () => (store as unknown as { listeners: Set<unknown> }).listeners.size;

function running(
  name: string,
  image: string,
  startedMsAgo: number,
  extra: Partial<ContainerStatus> = {},
): ContainerStatus {
  return {
    name,
    image: `docker.io/library/${image}`,
    imageID: `docker.io/library/${image}@sha256:${'ab'.repeat(32)}`,
    containerID: `containerd://${name.padEnd(64, '0').slice(0, 64)}`,
    ready: true,
    restartCount: 0,
    started: true,
    state: { running: { startedAt: iso(startedMsAgo) } },
    lastState: {},
    ...extra,
  };
}

function makePod(
  name: string,
  containers: { name: string; image: string; resources?: ResourceRequirements }[],
  statuses: ContainerStatus[] | undefined,
  opts: { owner?: boolean; phase?: string } = {},
): KObject {
  const created = store.create(podsRt(), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'demo',
      labels: { app: 'web' },
      ...(opts.owner
        ? {
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'ReplicaSet',
                name: 'web-7d9f8b6c5',
                uid: 'rs-uid-1',
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
    },
    spec: { nodeName: 'node-1', containers },
  });
  return store.update(
    podsRt(),
    {
      ...created,
      status: {
        phase: opts.phase ?? (statuses?.every((s) => s.state?.running) ? 'Running' : 'Pending'),
        hostIP: '172.18.0.2',
        podIP: `10.244.1.${(store.count(podsRt()) % 250) + 2}`,
        startTime: iso(130_000),
        qosClass: 'Burstable',
        ...(statuses ? { containerStatuses: statuses } : {}),
      },
    },
    { subresource: 'status' },
  );
}

beforeAll(async () => {
  store = new Store();
  store.create(store.type('', 'namespaces'), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'demo', labels: { 'kubesphere.io/workspace': 'ws1' } },
  });
  const node = store.create(store.type('', 'nodes'), {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1' },
    spec: { podCIDR: '10.244.1.0/24' },
  });
  store.update(
    store.type('', 'nodes'),
    {
      ...node,
      status: {
        capacity: { cpu: '4', memory: '16Gi', pods: '110' },
        allocatable: { cpu: '3800m', memory: '15Gi', pods: '110' },
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'MemoryPressure', status: 'False' },
        ],
        addresses: [{ type: 'InternalIP', address: '172.18.0.2' }],
        nodeInfo: {
          kubeletVersion: 'v1.30.0',
          containerRuntimeVersion: 'containerd://1.7.15',
          osImage: 'Ubuntu 22.04.4 LTS',
          kernelVersion: '6.1.0',
        },
      },
    },
    { subresource: 'status' },
  );
  const dep = store.create(store.type('apps', 'deployments'), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'demo' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } },
    },
  });
  store.update(
    store.type('apps', 'deployments'),
    { ...dep, status: { replicas: 3, availableReplicas: 2 } },
    { subresource: 'status' },
  );

  makePod(
    'web-1',
    [
      {
        name: 'nginx',
        image: 'nginx:1.27',
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
      },
    ],
    [running('nginx', 'nginx:1.27', 120_000)],
    { owner: true },
  );
  makePod(
    'api-1',
    [
      { name: 'api', image: 'example/orders-api:1.2' },
      { name: 'sidecar', image: 'envoyproxy/envoy:v1.30' },
    ],
    [running('api', 'example/orders-api:1.2', 60_000), running('sidecar', 'envoyproxy/envoy:v1.30', 60_000)],
  );
  makePod(
    'java-1',
    [{ name: 'app', image: 'example/spring-shop:3' }],
    [running('app', 'example/spring-shop:3', 600_000)],
  );
  makePod('pg-0', [{ name: 'postgres', image: 'postgres:16' }], [running('postgres', 'postgres:16', 300_000)]);
  makePod(
    'creating-1',
    [{ name: 'main', image: 'busybox' }],
    [
      {
        name: 'main',
        image: 'busybox',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: 'ContainerCreating' } },
      },
    ],
  );
  makePod(
    'job-1',
    [{ name: 'main', image: 'busybox' }],
    [
      {
        name: 'main',
        image: 'docker.io/library/busybox:latest',
        ready: false,
        restartCount: 0,
        state: {
          terminated: {
            exitCode: 0,
            reason: 'Completed',
            startedAt: iso(90_000),
            finishedAt: iso(30_000),
            containerID: 'containerd://job',
          },
        },
      },
    ],
    { phase: 'Succeeded' },
  );
  makePod(
    'crash-1',
    [{ name: 'app', image: 'example/crashloop:1' }],
    [
      {
        name: 'app',
        image: 'example/crashloop:1',
        ready: false,
        restartCount: 2,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container' } },
        lastState: {
          terminated: {
            exitCode: 1,
            reason: 'Error',
            startedAt: iso(40_000),
            finishedAt: iso(39_000),
            containerID: 'containerd://crash2',
          },
        },
      },
    ],
    { phase: 'Running' },
  );

  exporter = createMetricsExporter(store);
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    void (async () => {
      try {
        if (url.pathname === '/metrics') {
          const body = await exporter.metrics();
          res.writeHead(200, { 'Content-Type': exporter.contentType });
          res.end(body);
          return;
        }
        const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
        const pod = m && store.get(podsRt(), m[1], m[2]);
        if (!pod) {
          res.writeHead(404).end();
          return;
        }
        servePodLog(store, pod, parseLogOptions(url.searchParams), req, res, { speed: SPEED });
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        res.writeHead(e.code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(e.toStatus()));
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  exporter?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

const logUrl = (pod: string, q = '') => `${base}/api/v1/namespaces/demo/pods/${pod}/log${q ? '?' + q : ''}`;
async function getLog(pod: string, q = ''): Promise<{ status: number; text: string; type: string | null }> {
  const r = await fetch(logUrl(pod, q));
  return { status: r.status, text: await r.text(), type: r.headers.get('content-type') };
}
const linesOf = (text: string) => text.split('\n').slice(0, -1);
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z /;

describe('pod logs', () => {
  it('is deterministic: a finished container always says the same, a running one only adds lines', async () => {
    const a = await getLog('job-1');
    const b = await getLog('job-1');
    expect(a.status).toBe(200);
    expect(a.type).toMatch(/^text\/plain/);
    expect(a.text.length).toBeGreaterThan(0);
    expect(b.text).toBe(a.text);

    const first = await getLog('web-1');
    const second = await getLog('web-1');
    expect(first.status).toBe(200);
    expect(second.text.startsWith(first.text)).toBe(true);
    const lines = linesOf(first.text);
    expect(lines.length).toBeGreaterThan(100);
    expect(lines[0]).toContain('/docker-entrypoint.sh');
    // nginx's combined access log format
    expect(lines.at(-1)).toMatch(
      /^\d+\.\d+\.\d+\.\d+ - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "(GET|POST|PUT|DELETE) \S+ HTTP\/1\.1" \d{3} \d+ "[^"]*" "[^"]*"/,
    );
  });

  it('writes each image its own kind of log', async () => {
    const api = linesOf((await getLog('api-1', 'container=api&tailLines=20')).text);
    for (const l of api) {
      const j = JSON.parse(l);
      expect(j).toHaveProperty('level');
      expect(j).toHaveProperty('ts');
      expect(j).toHaveProperty('msg');
    }
    const java = (await getLog('java-1')).text;
    expect(java).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} INFO {2}\[[\w-]+\] com\.example\./m);
    expect(java).toMatch(/\n\tat com\.example\./);
    const pg = (await getLog('pg-0')).text;
    expect(pg).toContain('database system is ready to accept connections');
  });

  it('tailLines, timestamps, sinceSeconds and limitBytes', async () => {
    const tail = linesOf((await getLog('job-1', 'tailLines=5')).text);
    const all = linesOf((await getLog('job-1')).text);
    expect(tail).toHaveLength(5);
    expect(tail).toEqual(all.slice(-5));
    expect((await getLog('job-1', 'tailLines=0')).text).toBe('');

    const stamped = linesOf((await getLog('job-1', 'timestamps=true')).text);
    expect(stamped).toHaveLength(all.length);
    stamped.forEach((l, i) => {
      expect(l).toMatch(TS_RE);
      expect(l.slice(31)).toBe(all[i]);
    });
    const times = stamped.map((l) => Date.parse(l.slice(0, 30)));
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    // the job ran from 90 s to 30 s ago (status times have second precision)
    expect(times[0]).toBeGreaterThanOrEqual(Date.now() - 92_000);
    expect(times.at(-1)!).toBeLessThanOrEqual(Date.now() - 28_000);

    const asked = Date.now();
    const recent = linesOf((await getLog('web-1', 'sinceSeconds=2&timestamps=true')).text);
    const whole = linesOf((await getLog('web-1')).text);
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.length).toBeLessThan(whole.length / 5);
    for (const l of recent) expect(Date.parse(l.slice(0, 30))).toBeGreaterThanOrEqual(asked - 2_000 - 5);
    expect(linesOf((await getLog('job-1', 'sinceSeconds=5')).text)).toEqual([]);
    const since = new Date(times[10]).toISOString().replace(/\.\d+Z$/, 'Z');
    const fromTime = linesOf((await getLog('job-1', `sinceTime=${since}`)).text);
    expect(fromTime.length).toBeGreaterThan(all.length - 12);

    const limited = await getLog('job-1', 'limitBytes=50');
    expect(Buffer.byteLength(limited.text)).toBe(50);
    expect(limited.text).toBe(all.join('\n').slice(0, 50));
  });

  it('answers errors as the real server', async () => {
    const multi = await getLog('api-1');
    expect(multi.status).toBe(400);
    const body = JSON.parse(multi.text);
    expect(body).toMatchObject({
      kind: 'Status',
      reason: 'BadRequest',
      code: 400,
      message: 'a container name must be specified for pod api-1, choose one of: [api sidecar]',
    });
    expect(JSON.parse((await getLog('api-1', 'container=nope')).text).message).toBe(
      'container nope is not valid for pod api-1',
    );
    const waiting = await getLog('creating-1');
    expect(waiting.status).toBe(400);
    expect(JSON.parse(waiting.text).message).toBe(
      'container "main" in pod "creating-1" is waiting to start: ContainerCreating',
    );
    const noPrevious = await getLog('web-1', 'previous=true');
    expect(noPrevious.status).toBe(400);
    expect(JSON.parse(noPrevious.text).message).toBe('previous terminated container "nginx" in pod "web-1" not found');
    const badTail = await getLog('web-1', 'tailLines=abc');
    expect(badTail.status).toBe(400);
    const negative = await getLog('web-1', 'tailLines=-1');
    expect(negative.status).toBe(422);
    expect(JSON.parse(negative.text).message).toBe(
      'PodLogOptions "web-1" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0',
    );
  });

  it('serves the crashed instance of a crash-looping container, ending in its fatal error', async () => {
    const prev = await getLog('crash-1', 'previous=true');
    expect(prev.status).toBe(200);
    const current = await getLog('crash-1'); // waiting in back-off: the kubelet serves the last terminated instance
    expect(current.text).toBe(prev.text);
    const lines = linesOf(prev.text);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(prev.text).toMatch(/panic:|Error: connect|FATAL:/);
  });

  it('follows a running container until its pod is deleted', async () => {
    makePod('follow-1', [{ name: 'nginx', image: 'nginx:1.27' }], [running('nginx', 'nginx:1.27', 5_000)]);
    const before = listeners();
    const r = await fetch(logUrl('follow-1', 'follow=true&tailLines=2'));
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let ended = false;
    const pump = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      ended = true;
    })();
    await poll('new lines', () => linesOf(text).length >= 6);
    expect(linesOf(text).every((l) => l.includes('HTTP/1.1'))).toBe(true);
    expect(listeners()).toBe(before + 1);
    // Everything streamed is what a plain request shows too.
    const plain = (await getLog('follow-1')).text;
    expect(plain.includes(linesOf(text).slice(0, 6).join('\n'))).toBe(true);

    store.delete(podsRt(), 'demo', 'follow-1', { gracePeriodSeconds: 0 });
    await poll('end of stream', () => ended);
    await pump;
    expect(listeners()).toBe(before);
  });

  it('stops following when the client goes away, and when the container terminates', async () => {
    makePod('follow-2', [{ name: 'nginx', image: 'nginx:1.27' }], [running('nginx', 'nginx:1.27', 5_000)]);
    const before = listeners();
    const ac = new AbortController();
    const r = await fetch(logUrl('follow-2', 'follow=true&tailLines=1'), { signal: ac.signal });
    const reader = r.body!.getReader();
    await reader.read();
    expect(listeners()).toBe(before + 1);
    ac.abort();
    await poll('unsubscribe after disconnect', () => listeners() === before);

    const r2 = await fetch(logUrl('follow-2', 'follow=true&tailLines=1&timestamps=true'));
    const text = r2.text();
    await poll('follower', () => listeners() === before + 1);
    const pod = store.get(podsRt(), 'demo', 'follow-2')!;
    const cs = pod.status.containerStatuses[0];
    store.update(
      podsRt(),
      {
        ...pod,
        status: {
          ...pod.status,
          phase: 'Failed',
          containerStatuses: [
            {
              ...cs,
              ready: false,
              state: {
                terminated: {
                  exitCode: 137,
                  reason: 'Error',
                  startedAt: cs.state.running.startedAt,
                  finishedAt: iso(0),
                },
              },
            },
          ],
        },
      },
      { subresource: 'status' },
    );
    const streamed = linesOf(await text);
    expect(streamed.length).toBeGreaterThanOrEqual(1);
    expect(listeners()).toBe(before);
    // after termination the log is fixed, and ends where the stream ended
    const after = linesOf((await getLog('follow-2', 'timestamps=true')).text);
    expect(after.at(-1)).toBe(streamed.at(-1));
  });
});

// ------------------------------------------------------------------ metrics

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseProm(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) {
      types.set(t[1], t[2]);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    const value = Number(m[3]);
    if (Number.isNaN(value)) throw new Error(`bad value: ${line}`);
    samples.push({ name: m[1], labels, value });
  }
  return { samples, types };
}

async function scrape() {
  const r = await fetch(`${base}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toContain('text/plain');
  return parseProm(await r.text());
}
const find = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const one = (samples: Sample[], name: string, labels: Record<string, string>) => {
  const found = find(samples, name, labels);
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
  return found[0].value;
};

describe('metrics', () => {
  it('exposes cAdvisor, kube-state-metrics and node-exporter families in Prometheus text', async () => {
    const { samples, types } = await scrape();
    for (const [name, type] of Object.entries({
      container_cpu_usage_seconds_total: 'counter',
      container_memory_working_set_bytes: 'gauge',
      container_network_receive_bytes_total: 'counter',
      container_network_transmit_bytes_total: 'counter',
      kube_pod_info: 'gauge',
      kube_pod_owner: 'gauge',
      kube_pod_status_phase: 'gauge',
      kube_pod_container_status_restarts_total: 'counter',
      kube_node_status_condition: 'gauge',
      kube_deployment_status_replicas_available: 'gauge',
      kube_pod_container_info: 'gauge',
      kube_node_info: 'gauge',
      kube_namespace_labels: 'gauge',
      kube_deployment_spec_replicas: 'gauge',
      node_cpu_seconds_total: 'counter',
      node_memory_MemAvailable_bytes: 'gauge',
      node_memory_MemTotal_bytes: 'gauge',
      node_load1: 'gauge',
    }))
      expect(types.get(name), name).toBe(type);

    const cpu = find(samples, 'container_cpu_usage_seconds_total', {
      namespace: 'demo',
      pod: 'web-1',
      container: 'nginx',
    });
    expect(cpu).toHaveLength(1);
    expect(cpu[0].labels).toMatchObject({ node: 'node-1', image: 'docker.io/library/nginx:1.27' });
    expect(cpu[0].value).toBeGreaterThan(0);
    // only running containers
    expect(find(samples, 'container_cpu_usage_seconds_total', { pod: 'creating-1' })).toHaveLength(0);
    expect(find(samples, 'container_cpu_usage_seconds_total', { pod: 'job-1' })).toHaveLength(0);
    const ws = one(samples, 'container_memory_working_set_bytes', { pod: 'web-1', container: 'nginx' });
    expect(ws).toBeGreaterThan(1e6);
    expect(ws).toBeLessThanOrEqual(128 * 2 ** 20);
    // network per pod sandbox, on eth0
    const rx = find(samples, 'container_network_receive_bytes_total', { pod: 'api-1' });
    expect(rx).toHaveLength(1);
    expect(rx[0].labels).toMatchObject({ interface: 'eth0', container: '', namespace: 'demo' });
    expect(rx[0].value).toBeGreaterThan(0);

    expect(
      one(samples, 'kube_pod_owner', {
        pod: 'web-1',
        owner_kind: 'ReplicaSet',
        owner_name: 'web-7d9f8b6c5',
        owner_is_controller: 'true',
      }),
    ).toBe(1);
    expect(one(samples, 'kube_pod_owner', { pod: 'pg-0' })).toBe(1);
    expect(find(samples, 'kube_pod_info', { pod: 'web-1' })[0].labels).toMatchObject({
      namespace: 'demo',
      node: 'node-1',
      host_ip: '172.18.0.2',
      created_by_kind: 'ReplicaSet',
      created_by_name: 'web-7d9f8b6c5',
    });
    for (const pod of ['web-1', 'creating-1', 'job-1', 'crash-1']) {
      const phases = find(samples, 'kube_pod_status_phase', { namespace: 'demo', pod });
      expect(phases.map((s) => s.labels.phase).sort()).toEqual([
        'Failed',
        'Pending',
        'Running',
        'Succeeded',
        'Unknown',
      ]);
      expect(phases.filter((s) => s.value === 1)).toHaveLength(1);
    }
    expect(one(samples, 'kube_pod_status_phase', { pod: 'job-1', phase: 'Succeeded' })).toBe(1);
    expect(one(samples, 'kube_pod_container_status_restarts_total', { pod: 'crash-1', container: 'app' })).toBe(2);
    expect(one(samples, 'kube_node_status_condition', { node: 'node-1', condition: 'Ready', status: 'true' })).toBe(1);
    expect(one(samples, 'kube_node_status_condition', { node: 'node-1', condition: 'Ready', status: 'false' })).toBe(0);
    expect(one(samples, 'kube_deployment_status_replicas_available', { namespace: 'demo', deployment: 'web' })).toBe(2);
    expect(one(samples, 'kube_deployment_spec_replicas', { namespace: 'demo', deployment: 'web' })).toBe(3);
    expect(one(samples, 'kube_namespace_labels', { namespace: 'demo', label_kubesphere_io_workspace: 'ws1' })).toBe(1);
    expect(find(samples, 'kube_node_info', { node: 'node-1' })[0].labels).toMatchObject({
      kubelet_version: 'v1.30.0',
      internal_ip: '172.18.0.2',
    });
    expect(find(samples, 'kube_pod_container_info', { pod: 'web-1', container: 'nginx' })[0].labels.image_spec).toBe(
      'nginx:1.27',
    );

    expect(one(samples, 'node_memory_MemTotal_bytes', { instance: 'node-1', node: 'node-1' })).toBe(16 * 2 ** 30);
    const avail = one(samples, 'node_memory_MemAvailable_bytes', { node: 'node-1' });
    expect(avail).toBeGreaterThan(0);
    expect(avail).toBeLessThan(16 * 2 ** 30);
    const modes = find(samples, 'node_cpu_seconds_total', { node: 'node-1', cpu: '0' })
      .map((s) => s.labels.mode)
      .sort();
    expect(modes).toEqual(expect.arrayContaining(['idle', 'iowait', 'system', 'user']));
    expect(new Set(find(samples, 'node_cpu_seconds_total', { node: 'node-1' }).map((s) => s.labels.cpu))).toEqual(
      new Set(['0', '1', '2', '3']),
    );
    expect(one(samples, 'node_load1', { node: 'node-1' })).toBeGreaterThan(0);
  });

  it('counters grow between scrapes, and a container restart resets its counter', async () => {
    const first = (await scrape()).samples;
    const cpu0 = one(first, 'container_cpu_usage_seconds_total', { pod: 'pg-0', container: 'postgres' });
    const idle0 = one(first, 'node_cpu_seconds_total', { node: 'node-1', cpu: '0', mode: 'idle' });
    const user0 = one(first, 'node_cpu_seconds_total', { node: 'node-1', cpu: '0', mode: 'user' });
    const rx0 = one(first, 'container_network_receive_bytes_total', { pod: 'pg-0' });
    const later = await poll('counters to grow', async () => {
      const s = (await scrape()).samples;
      // Each counter is published in hundredths of a second: on a busy node idle crosses its next step more slowly
      // than user does, so wait for both.
      return one(s, 'container_cpu_usage_seconds_total', { pod: 'pg-0', container: 'postgres' }) > cpu0 &&
        one(s, 'node_cpu_seconds_total', { node: 'node-1', cpu: '0', mode: 'user' }) > user0 &&
        one(s, 'node_cpu_seconds_total', { node: 'node-1', cpu: '0', mode: 'idle' }) > idle0
        ? s
        : undefined;
    });
    expect(one(later, 'node_cpu_seconds_total', { node: 'node-1', cpu: '0', mode: 'idle' })).toBeGreaterThan(idle0);
    expect(one(later, 'container_network_receive_bytes_total', { pod: 'pg-0' })).toBeGreaterThanOrEqual(rx0);
    const cpuLater = one(later, 'container_cpu_usage_seconds_total', { pod: 'pg-0', container: 'postgres' });

    const pod = store.get(podsRt(), 'demo', 'pg-0')!;
    const cs = pod.status.containerStatuses[0];
    store.update(
      podsRt(),
      {
        ...pod,
        status: {
          ...pod.status,
          containerStatuses: [
            {
              ...cs,
              restartCount: 1,
              containerID: 'containerd://' + 'c'.repeat(64),
              state: { running: { startedAt: iso(0) } },
              lastState: {
                terminated: {
                  exitCode: 137,
                  reason: 'OOMKilled',
                  startedAt: cs.state.running.startedAt,
                  finishedAt: iso(0),
                },
              },
            },
          ],
        },
      },
      { subresource: 'status' },
    );
    const after = (await scrape()).samples;
    const cpuAfter = find(after, 'container_cpu_usage_seconds_total', { pod: 'pg-0', container: 'postgres' });
    expect(cpuAfter).toHaveLength(1);
    expect(cpuAfter[0].value).toBeLessThan(cpuLater);
    expect(cpuAfter[0].value).toBeLessThan(5);
    expect(one(after, 'kube_pod_container_status_restarts_total', { pod: 'pg-0', container: 'postgres' })).toBe(1);
    // The pod's sandbox survived: its network counters did not reset.
    expect(one(after, 'container_network_receive_bytes_total', { pod: 'pg-0' })).toBeGreaterThanOrEqual(rx0);
    // previous log of the restarted container is now there
    expect((await getLog('pg-0', 'previous=true')).status).toBe(200);
  });

  it('scrapes 10,000 pods: one series per pod and container, none missing or repeated', async () => {
    const big = new Store();
    big.create(big.type('', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'load' } });
    const n = big.create(big.type('', 'nodes'), { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    big.update(
      big.type('', 'nodes'),
      { ...n, status: { capacity: { cpu: '64', memory: '256Gi', pods: '11000' } } },
      { subresource: 'status' },
    );
    const rt = big.type('', 'pods');
    for (let i = 0; i < 10_000; i++) {
      const p = big.create(rt, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p-${i}`, namespace: 'load' },
        spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }] },
      });
      big.update(
        rt,
        {
          ...p,
          status: { phase: 'Running', startTime: iso(60_000), containerStatuses: [running('c', 'nginx', 60_000)] },
        },
        { subresource: 'status' },
      );
    }
    const ex = createMetricsExporter(big);
    try {
      const { samples } = parseProm(await ex.metrics());
      const expected = Array.from({ length: 10_000 }, (_, i) => `p-${i}`).sort();
      // Every pod exactly once in each per-container and per-pod family (a timing is a benchmark's job, not a test's).
      for (const family of ['container_cpu_usage_seconds_total', 'container_memory_working_set_bytes']) {
        const series = find(samples, family, { namespace: 'load', container: 'c' });
        expect(series.map((s) => s.labels.pod).sort(), family).toEqual(expected);
        for (const s of series) expect(s.value, `${family} ${s.labels.pod}`).toBeGreaterThan(0);
      }
      const running = find(samples, 'kube_pod_status_phase', { namespace: 'load', phase: 'Running' });
      expect(
        running
          .filter((s) => s.value === 1)
          .map((s) => s.labels.pod)
          .sort(),
      ).toEqual(expected);
      expect(find(samples, 'kube_pod_info', { namespace: 'load', node: 'n1' })).toHaveLength(10_000);
    } finally {
      ex.close();
    }
  });
});
