// The typed fields a console's detail pages show (issue 17 §1), through the gateway on the demo cluster, each compared
// with the object the sandbox holds, read with @kubernetes/client-node: Container and ContainerSpec, Pod, every
// Workload kind (a Job and a CronJob among them), Node (allocated requests and limits summed over its pods, without a
// LIST), Service (typed ports, endpoints against the sandbox's Endpoints) and Event. A pod takes variables from a
// Secret: its value appears nowhere in the answers. Objects change while the demo runs, so each comparison is made
// of a gateway answer and a sandbox read at the same resourceVersion.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQuantity } from '../services/common/k8s/quantity.js';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';

let stack: TestStack;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GraphQL answers are read deep; the tests assert their shape
type Data = any;

async function data(query: string, vars: Record<string, unknown> = {}): Promise<Data> {
  const r = await stack.gql<Data>(query, vars);
  if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}

/** client-node gives timestamps as Dates; the API (and the gateway) as RFC 3339 strings: compared as instants. */
const time = (v: Date | string | null | undefined): number | null => (v ? new Date(v).getTime() : null);
const times = <T extends Record<string, unknown>>(o: T, keys: string[]) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, keys.includes(k) ? time(v as string) : v]));

// ---------------------------------------------------------------- what a field should be, from the sandbox's object

const PROBE = `kind path port host scheme command initialDelaySeconds periodSeconds timeoutSeconds successThreshold
  failureThreshold`;
const QUANTITIES = 'cpu memory cpuCores memoryBytes all';
const CONTAINER_SPEC = `name image ports { name containerPort protocol }
  resources { requests { ${QUANTITIES} } limits { ${QUANTITIES} } }
  env { name value fromConfigMap fromSecret key fieldPath resourceField } envFrom { prefix configMap secret }
  volumeMounts { name mountPath readOnly subPath } command args imagePullPolicy
  livenessProbe { ${PROBE} } readinessProbe { ${PROBE} } startupProbe { ${PROBE} }`;
const CONTAINER = `${CONTAINER_SPEC} ready restartCount state started imageID lastState startedAt message exitCode`;
const CONDITION = 'type status reason message lastTransitionTime';

function quantities(m: Record<string, string> | undefined) {
  const all = m ?? {};
  return {
    cpu: all.cpu ?? null,
    memory: all.memory ?? null,
    cpuCores: all.cpu ? Number(parseQuantity(all.cpu).milliValue()) / 1000 : null,
    memoryBytes: all.memory ? Number(parseQuantity(all.memory).value()) : null,
    all,
  };
}

/** The API's defaults for what a probe leaves out (SetDefaults_Probe, k8s.io/kubernetes pkg/apis/core/v1/defaults.go). */
const PROBE_DEFAULTS = {
  initialDelaySeconds: 0,
  periodSeconds: 10,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 3,
};
/** A probe as the object holds it, with those defaults. */
function probe(p: k8s.V1Probe | undefined) {
  if (!p) return null;
  const { httpGet, tcpSocket, exec, grpc } = p;
  const handler = httpGet ? 'HTTPGet' : tcpSocket ? 'TCPSocket' : exec ? 'Exec' : 'GRPC';
  const port = (httpGet ?? tcpSocket ?? grpc)?.port;
  const timing = Object.fromEntries(
    Object.entries(PROBE_DEFAULTS).map(([field, dflt]) => [field, p[field as keyof typeof PROBE_DEFAULTS] ?? dflt]),
  );
  return {
    kind: handler,
    path: httpGet?.path ?? null,
    port: port === undefined ? null : `${port}`,
    host: (httpGet ?? tcpSocket)?.host ?? null,
    scheme: httpGet ? (httpGet.scheme ?? 'HTTP') : null,
    command: exec?.command ?? null,
    ...timing,
  };
}

function containerSpec(c: k8s.V1Container) {
  return {
    name: c.name,
    image: c.image ?? '',
    ports: (c.ports ?? []).map((p) => ({
      name: p.name ?? null,
      containerPort: p.containerPort,
      protocol: p.protocol ?? 'TCP',
    })),
    resources: {
      requests: quantities(c.resources?.requests as Record<string, string> | undefined),
      limits: quantities(c.resources?.limits as Record<string, string> | undefined),
    },
    env: (c.env ?? []).map((e) => ({
      name: e.name,
      value: e.value ?? null,
      fromConfigMap: e.valueFrom?.configMapKeyRef?.name ?? null,
      fromSecret: e.valueFrom?.secretKeyRef?.name ?? null,
      key: e.valueFrom?.configMapKeyRef?.key ?? e.valueFrom?.secretKeyRef?.key ?? null,
      fieldPath: e.valueFrom?.fieldRef?.fieldPath ?? null,
      resourceField: e.valueFrom?.resourceFieldRef?.resource ?? null,
    })),
    envFrom: (c.envFrom ?? []).map((e) => ({
      prefix: e.prefix ?? null,
      configMap: e.configMapRef?.name ?? null,
      secret: e.secretRef?.name ?? null,
    })),
    volumeMounts: (c.volumeMounts ?? []).map((m) => ({
      name: m.name,
      mountPath: m.mountPath,
      readOnly: Boolean(m.readOnly),
      subPath: m.subPath ?? null,
    })),
    command: c.command ?? [],
    args: c.args ?? [],
    imagePullPolicy: c.imagePullPolicy ?? null,
    livenessProbe: probe(c.livenessProbe),
    readinessProbe: probe(c.readinessProbe),
    startupProbe: probe(c.startupProbe),
  };
}

/** A pod's container: its spec and the live fields of its status entry. */
function podContainer(c: k8s.V1Container, s: k8s.V1ContainerStatus | undefined) {
  const st = s?.state;
  const terminated = s?.lastState?.terminated;
  return {
    ...containerSpec(c),
    ready: Boolean(s?.ready),
    restartCount: s?.restartCount ?? 0,
    state: st?.running ? 'Running' : st?.waiting ? 'Waiting' : st?.terminated ? 'Terminated' : 'Unknown',
    started: Boolean(s?.started),
    imageID: s?.imageID || null,
    lastState: terminated ? times({ ...terminated }, ['startedAt', 'finishedAt']) : null,
    startedAt: time(st?.running?.startedAt ?? st?.terminated?.startedAt),
    message: st?.waiting?.message ?? st?.terminated?.message ?? null,
    exitCode: st?.terminated?.exitCode ?? null,
  };
}
const shownContainer = (c: Data) => ({
  ...c,
  startedAt: time(c.startedAt),
  lastState: c.lastState ? times(c.lastState, ['startedAt', 'finishedAt']) : null,
});

const conditions = (
  cs: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: Date }[] = [],
) =>
  cs.map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason ?? null,
    message: c.message ?? null,
    lastTransitionTime: time(c.lastTransitionTime),
  }));
const shownConditions = (cs: Data[]) => cs.map((c) => ({ ...c, lastTransitionTime: time(c.lastTransitionTime) }));

/** Sums of requests (or limits) of cpu in milli-cores and memory in bytes, over containers or pods. */
function sum(maps: (Record<string, string> | undefined)[]) {
  let milli = 0n;
  let bytes = 0n;
  let anyCpu = false;
  let anyMemory = false;
  for (const m of maps) {
    if (m?.cpu) {
      milli += parseQuantity(m.cpu).milliValue();
      anyCpu = true;
    }
    if (m?.memory) {
      bytes += parseQuantity(m.memory).value();
      anyMemory = true;
    }
  }
  return { cpuCores: anyCpu ? Number(milli) / 1000 : null, memoryBytes: anyMemory ? Number(bytes) : null };
}

/** A summed side as shown: its numbers, and its strings parsed back to the same numbers. */
function summedShown(side: Data) {
  if (side.cpu !== null) expect(Number(parseQuantity(side.cpu).milliValue()) / 1000).toBe(side.cpuCores);
  if (side.memory !== null) expect(Number(parseQuantity(side.memory).value())).toBe(side.memoryBytes);
  return { cpuCores: side.cpuCores, memoryBytes: side.memoryBytes };
}

// ---------------------------------------------------------------- the pod made for this test

const ns = 'shop';
const SECRET_VALUE = 'console-s3cr3t-value-9f4e';
const ENV_POD = 'console-env';

beforeAll(async () => {
  stack = await startTestStack({ sandbox: { seed: { kind: 'demo' }, speed: 20 } });
  await stack.cluster.core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'console-db' }, stringData: { password: SECRET_VALUE, user: 'app' } },
  });
  await stack.cluster.core.createNamespacedConfigMap({
    namespace: ns,
    body: { metadata: { name: 'console-config' }, data: { mode: 'fast' } },
  });
  await stack.cluster.core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: ENV_POD, labels: { app: 'console-env' } },
      spec: {
        serviceAccountName: 'default',
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'console', effect: 'NoSchedule' }],
        initContainers: [
          {
            name: 'migrate',
            image: 'busybox:1.36',
            command: ['sh', '-c', 'echo migrated'],
            resources: { requests: { cpu: '1', memory: '256Mi' } },
          },
        ],
        containers: [
          {
            name: 'app',
            image: 'nginx:1.27',
            imagePullPolicy: 'IfNotPresent',
            command: ['nginx'],
            args: ['-g', 'daemon off;'],
            ports: [
              { name: 'http', containerPort: 8080, protocol: 'TCP' },
              { containerPort: 9090, protocol: 'UDP' },
            ],
            resources: {
              requests: { cpu: '250m', memory: '64Mi', 'ephemeral-storage': '1Gi' },
              limits: { cpu: '1500m', memory: '1G' },
            },
            env: [
              { name: 'PLAIN', value: 'hello' },
              { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'console-config', key: 'mode' } } },
              { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'console-db', key: 'password' } } },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
            ],
            envFrom: [{ prefix: 'DB_', secretRef: { name: 'console-db' } }],
            volumeMounts: [
              { name: 'config', mountPath: '/etc/app', readOnly: true },
              { name: 'creds', mountPath: '/run/creds', subPath: 'password' },
              { name: 'scratch', mountPath: '/tmp' },
            ],
            livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
            readinessProbe: { tcpSocket: { port: 'http' }, initialDelaySeconds: 2, failureThreshold: 6 },
            startupProbe: { exec: { command: ['cat', '/tmp/started'] } },
          },
          {
            name: 'sidecar',
            image: 'busybox:1.36',
            command: ['sh', '-c', 'sleep 3600'],
            resources: { requests: { cpu: '100m', memory: '32Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
          },
        ],
        volumes: [
          { name: 'config', configMap: { name: 'console-config' } },
          { name: 'creds', secret: { secretName: 'console-db' } },
          { name: 'scratch', emptyDir: {} },
        ],
      },
    },
  });
  // Running with its image pulled (imageID), not only scheduled with an IP: the pod test reads the running state.
  await eventually(
    async () => {
      const status = (await stack.cluster.core.readNamespacedPod({ namespace: ns, name: ENV_POD })).status;
      const running = (status?.containerStatuses ?? []).every((c) => c.state?.running && c.imageID);
      return Boolean(status?.podIP && status.containerStatuses?.length && running) || undefined;
    },
    30_000,
    'the console-env pod to run',
  );
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

/** A gateway answer and the sandbox's object at the same resourceVersion. */
async function atSameVersion<K extends { metadata?: { resourceVersion?: string } }>(
  read: () => Promise<K>,
  ask: () => Promise<Data>,
  what: string,
): Promise<{ held: K; shown: Data }> {
  return eventually(
    async () => {
      const held = await read();
      const shown = await ask();
      return shown && held.metadata?.resourceVersion === shown.resourceVersion ? { held, shown } : undefined;
    },
    30_000,
    `${what} at the sandbox's resourceVersion`,
  );
}

describe('typed console fields through the gateway, compared with the sandbox', () => {
  it('Pod and Container: every field, env from a Secret by reference only', async () => {
    const query = `query($ns: String!, $name: String!) { pod(namespace: $ns, name: $name) {
      resourceVersion conditions { ${CONDITION} } qosClass hostIP ips serviceAccount priorityClassName nodeName
      volumes { name kind configMapName secretName claimName }
      tolerations { key operator value effect tolerationSeconds } nodeSelector
      resources { requests { ${QUANTITIES} } limits { ${QUANTITIES} } }
      containers { ${CONTAINER} } initContainers { ${CONTAINER} } } }`;
    const raw = await stack.gql<Data>(query, { ns, name: ENV_POD });
    // The Secret's value is nowhere in the answer (nor base64-encoded).
    expect(JSON.stringify(raw)).not.toContain(SECRET_VALUE);
    expect(JSON.stringify(raw)).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));

    const { held, shown } = await atSameVersion(
      () => stack.cluster.core.readNamespacedPod({ namespace: ns, name: ENV_POD }),
      async () => (await data(query, { ns, name: ENV_POD })).pod,
      'the console-env pod',
    );
    const spec = held.spec!;
    const status = held.status!;
    expect(shownConditions(shown.conditions)).toEqual(conditions(status.conditions));
    expect(shown.conditions.map((c: Data) => c.type)).toContain('Ready');
    expect(shown.qosClass).toBe(status.qosClass ?? null);
    expect(shown.hostIP).toBe(status.hostIP ?? null);
    expect(shown.hostIP).toBeTruthy();
    expect(shown.ips).toEqual((status.podIPs ?? []).map((p) => p.ip));
    expect(shown.ips).toContain(status.podIP);
    expect(shown.serviceAccount).toBe(spec.serviceAccountName ?? null);
    expect(shown.priorityClassName).toBe(spec.priorityClassName ?? null);
    expect(shown.nodeName).toBe(spec.nodeName ?? null);
    // Ours, and the service account token volume the sandbox adds as the API server's admission does.
    const refs: Record<string, (v: Data) => string | undefined> = {
      configMap: (v) => v.configMap?.name,
      secret: (v) => v.secret?.secretName,
      persistentVolumeClaim: (v) => v.persistentVolumeClaim?.claimName,
    };
    expect(shown.volumes).toEqual(
      (spec.volumes ?? []).map((v: Data) => {
        const kind = Object.keys(v).find((k) => k !== 'name' && v[k] !== undefined)!;
        const ref = refs[kind]?.(v) ?? null;
        return {
          name: v.name,
          kind,
          configMapName: kind === 'configMap' ? ref : null,
          secretName: kind === 'secret' ? ref : null,
          claimName: kind === 'persistentVolumeClaim' ? ref : null,
        };
      }),
    );
    expect(shown.volumes.slice(0, 3)).toEqual([
      { name: 'config', kind: 'configMap', configMapName: 'console-config', secretName: null, claimName: null },
      { name: 'creds', kind: 'secret', configMapName: null, secretName: 'console-db', claimName: null },
      { name: 'scratch', kind: 'emptyDir', configMapName: null, secretName: null, claimName: null },
    ]);
    expect(shown.tolerations).toEqual(
      (spec.tolerations ?? []).map((t) => ({
        key: t.key ?? null,
        operator: t.operator ?? 'Equal',
        value: t.value ?? null,
        effect: t.effect ?? null,
        tolerationSeconds: t.tolerationSeconds ?? null,
      })),
    );
    expect(shown.nodeSelector).toEqual(spec.nodeSelector ?? {});

    // Containers: spec and status, one by one; the init container too.
    expect(shown.containers.map(shownContainer)).toEqual(
      spec.containers.map((c) =>
        podContainer(
          c,
          status.containerStatuses?.find((s) => s.name === c.name),
        ),
      ),
    );
    expect(shown.initContainers.map(shownContainer)).toEqual(
      (spec.initContainers ?? []).map((c) =>
        podContainer(
          c,
          status.initContainerStatuses?.find((s) => s.name === c.name),
        ),
      ),
    );
    const app = shown.containers[0];
    expect(app.resources.requests).toEqual({
      cpu: '250m',
      memory: '64Mi',
      cpuCores: 0.25,
      memoryBytes: 67_108_864,
      all: { cpu: '250m', memory: '64Mi', 'ephemeral-storage': '1Gi' },
    });
    expect(app.resources.limits).toMatchObject({ cpu: '1500m', memory: '1G', cpuCores: 1.5, memoryBytes: 1e9 });
    expect(app.env.find((e: Data) => e.name === 'DB_PASSWORD')).toEqual({
      name: 'DB_PASSWORD',
      value: null,
      fromConfigMap: null,
      fromSecret: 'console-db',
      key: 'password',
      fieldPath: null,
      resourceField: null,
    });
    expect(app.imageID).toMatch(/@sha256:/);
    expect(app.state).toBe('Running');
    expect(time(app.startedAt)).not.toBeNull();

    // Requests and limits of the pod as the scheduler counts them: containers summed (350m, 96Mi), and the init
    // container alone where larger (1 core, 256Mi); limits only from the containers.
    const c = spec.containers;
    const containerRequests = sum(c.map((x) => x.resources?.requests as Record<string, string>));
    const initRequests = sum([(spec.initContainers ?? [])[0].resources?.requests as Record<string, string>]);
    expect(summedShown(shown.resources.requests)).toEqual({
      cpuCores: Math.max(containerRequests.cpuCores!, initRequests.cpuCores!),
      memoryBytes: Math.max(containerRequests.memoryBytes!, initRequests.memoryBytes!),
    });
    expect(summedShown(shown.resources.requests)).toEqual({ cpuCores: 1, memoryBytes: 268_435_456 });
    expect(shown.resources.requests.all['ephemeral-storage']).toBe('1Gi');
    expect(summedShown(shown.resources.limits)).toEqual(
      sum(c.map((x) => x.resources?.limits as Record<string, string>)),
    );
  });

  it('a crash-looping container: its last termination, exit code and message as the sandbox reports them', async () => {
    const pods = await data(
      `{ pods(namespace: "shop-staging", filter: { name: "payment-worker" }) { resumeToken edges { node { name } } } }`,
    );
    const name = pods.pods.edges[0].node.name;
    const query = `query($name: String!) { pod(namespace: "shop-staging", name: $name) { resourceVersion containers { ${CONTAINER} } } }`;
    const { held, shown } = await eventually(async () => {
      const r = await atSameVersion(
        () => stack.cluster.core.readNamespacedPod({ namespace: 'shop-staging', name }),
        async () => (await data(query, { name })).pod,
        'the payment-worker pod',
      );
      return r.held.status?.containerStatuses?.[0]?.lastState?.terminated ? r : undefined;
    }, 60_000);
    expect(shown.containers.map(shownContainer)).toEqual(
      held.spec!.containers.map((c) =>
        podContainer(
          c,
          held.status?.containerStatuses?.find((s) => s.name === c.name),
        ),
      ),
    );
    expect(shown.containers[0].lastState.exitCode).not.toBe(0);
  });

  it('Workload: every kind, a Job and a CronJob included, compared with its object', async () => {
    const selection = `resourceVersion name kind containers { ${CONTAINER_SPEC} } initContainers { ${CONTAINER_SPEC} }
      images conditions { ${CONDITION} } strategy { kind maxSurge maxUnavailable partition } unavailableReplicas
      generation observedGeneration
      ... on Job { startTime completionTime completions succeeded failed }
      ... on CronJob { schedule suspend lastScheduleTime }`;
    const kinds: [
      string,
      string,
      string,
      () => Promise<k8s.V1Deployment | k8s.V1StatefulSet | k8s.V1DaemonSet | k8s.V1Job | k8s.V1CronJob>,
    ][] = [
      [
        'DEPLOYMENT',
        'shop',
        'api',
        () => stack.cluster.apps.readNamespacedDeployment({ namespace: 'shop', name: 'api' }),
      ],
      [
        'STATEFUL_SET',
        'analytics',
        'postgres',
        () => stack.cluster.apps.readNamespacedStatefulSet({ namespace: 'analytics', name: 'postgres' }),
      ],
      [
        'DAEMON_SET',
        'kube-system',
        'kube-proxy',
        () => stack.cluster.apps.readNamespacedDaemonSet({ namespace: 'kube-system', name: 'kube-proxy' }),
      ],
      [
        'JOB',
        'analytics',
        'nightly-report',
        () => stack.cluster.batch.readNamespacedJob({ namespace: 'analytics', name: 'nightly-report' }),
      ],
      [
        'CRON_JOB',
        'analytics',
        'hourly-etl',
        () => stack.cluster.batch.readNamespacedCronJob({ namespace: 'analytics', name: 'hourly-etl' }),
      ],
    ];
    for (const [kind, namespace, name, read] of kinds) {
      const { held, shown } = await atSameVersion(
        read,
        async () =>
          (
            await data(
              `query($ns: String!, $name: String!) { workload(namespace: $ns, kind: ${kind}, name: $name) { ${selection} } }`,
              {
                ns: namespace,
                name,
              },
            )
          ).workload,
        `${kind} ${namespace}/${name}`,
      );
      const o = held as Data;
      const template = kind === 'CRON_JOB' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
      expect(shown.containers, kind).toEqual(template.containers.map(containerSpec));
      expect(shown.initContainers, kind).toEqual((template.initContainers ?? []).map(containerSpec));
      expect(shown.images, kind).toEqual(template.containers.map((c: k8s.V1Container) => c.image));
      expect(shownConditions(shown.conditions), kind).toEqual(conditions(o.status?.conditions));
      expect(shown.generation, kind).toBe(o.metadata.generation ?? null);
      expect(shown.observedGeneration, kind).toBe(o.status?.observedGeneration ?? null);
      const strategy = kind === 'DEPLOYMENT' ? o.spec.strategy : o.spec.updateStrategy;
      if (kind === 'JOB' || kind === 'CRON_JOB') expect(shown.strategy, kind).toBeNull();
      else
        expect(shown.strategy, kind).toEqual({
          kind: strategy?.type ?? 'RollingUpdate',
          maxSurge: strategy?.rollingUpdate?.maxSurge === undefined ? null : String(strategy.rollingUpdate.maxSurge),
          maxUnavailable:
            strategy?.rollingUpdate?.maxUnavailable === undefined
              ? null
              : String(strategy.rollingUpdate.maxUnavailable),
          partition: strategy?.rollingUpdate?.partition ?? null,
        });
      const unavailable = {
        DEPLOYMENT: o.status?.unavailableReplicas ?? 0,
        DAEMON_SET: o.status?.numberUnavailable ?? 0,
        STATEFUL_SET: Math.max(0, (o.spec.replicas ?? 1) - (o.status?.availableReplicas ?? 0)),
        JOB: null,
        CRON_JOB: null,
      }[kind];
      expect(shown.unavailableReplicas, kind).toBe(unavailable);
      if (kind === 'JOB') {
        expect(time(shown.startTime)).toBe(time(o.status?.startTime));
        expect(time(shown.startTime)).not.toBeNull();
        expect(time(shown.completionTime)).toBe(time(o.status?.completionTime));
        expect(shown.completions).toBe(o.spec.completions ?? null);
        expect(shown.succeeded).toBe(o.status?.succeeded ?? 0);
        expect(shown.failed).toBe(o.status?.failed ?? 0);
      }
      if (kind === 'CRON_JOB') {
        expect(shown.schedule).toBe(o.spec.schedule);
        expect(shown.suspend).toBe(Boolean(o.spec.suspend));
        expect(time(shown.lastScheduleTime)).toBe(time(o.status?.lastScheduleTime));
      }
    }
  });

  it('Node: conditions, taints, addresses, nodeInfo, and what its pods request and limit, without a LIST', async () => {
    const nodes = (await stack.cluster.core.listNode()).items;
    expect(nodes.length).toBeGreaterThan(0);
    for (const node of nodes) {
      const name = node.metadata!.name!;
      const query = `query($name: String!) { nodes(filter: { name: $name }) { edges { node { name resourceVersion
        conditions { ${CONDITION} } taints addresses { type address } osImage kernelVersion containerRuntimeVersion
        architecture operatingSystem } } } }`;
      const { held, shown } = await atSameVersion(
        () => stack.cluster.core.readNode({ name }),
        async () =>
          (await data(query, { name })).nodes.edges.map((e: Data) => e.node).find((n: Data) => n.name === name),
        `node ${name}`,
      );
      const info = held.status!.nodeInfo!;
      expect(shownConditions(shown.conditions)).toEqual(conditions(held.status?.conditions));
      expect(shown.conditions.map((c: Data) => c.type)).toContain('Ready');
      expect(shown.taints.map((t: Data) => times(t, ['timeAdded']))).toEqual(
        (held.spec?.taints ?? []).map((t) => times({ ...t }, ['timeAdded'])),
      );
      expect(shown.addresses).toEqual(
        (held.status?.addresses ?? []).map((a) => ({ type: a.type, address: a.address })),
      );
      expect(shown.addresses.length).toBeGreaterThan(0);
      expect([shown.osImage, shown.kernelVersion, shown.containerRuntimeVersion, shown.architecture]).toEqual([
        info.osImage,
        info.kernelVersion,
        info.containerRuntimeVersion,
        info.architecture,
      ]);
      expect(shown.operatingSystem).toBe(info.operatingSystem);
    }

    // Allocated: the sums over each node's unfinished pods (as kubectl describe node), equal to what the pods the
    // sandbox holds give, and asked without any LIST reaching the API server.
    const server = stack.cluster.sandbox.server;
    await eventually(
      async () => {
        const pods = (await stack.cluster.core.listPodForAllNamespaces()).items;
        const before = server.requestCounts();
        const shown = await data(`{ nodes { edges { node { name allocatedResources {
          requests { ${QUANTITIES} } limits { ${QUANTITIES} } } } } } }`);
        const lists = Object.entries(server.requestCounts(before)).filter(([k, n]) => k.startsWith('list ') && n > 0);
        expect(lists).toEqual([]);
        const again = (await stack.cluster.core.listPodForAllNamespaces()).items;
        // Only a state where no pod changed between the two reads can be compared.
        if (
          JSON.stringify(again.map((p) => p.metadata?.resourceVersion)) !==
          JSON.stringify(pods.map((p) => p.metadata?.resourceVersion))
        )
          return undefined;
        for (const { node } of shown.nodes.edges) {
          const on = pods.filter(
            (p) => p.spec?.nodeName === node.name && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
          );
          // Effective requests per pod: containers summed, or an init container where larger (none of the demo's).
          const podRequests = on.map((p) => {
            const c = sum(p.spec!.containers.map((x) => x.resources?.requests as Record<string, string>));
            const init = (p.spec!.initContainers ?? []).map((x) =>
              sum([x.resources?.requests as Record<string, string>]),
            );
            return {
              cpu: `${Math.max(c.cpuCores ?? 0, ...init.map((i) => i.cpuCores ?? 0)) * 1000}m`,
              memory: String(Math.max(c.memoryBytes ?? 0, ...init.map((i) => i.memoryBytes ?? 0))),
            };
          });
          const podLimits = on.map((p) => {
            const l = sum(p.spec!.containers.map((x) => x.resources?.limits as Record<string, string>));
            return { cpu: `${(l.cpuCores ?? 0) * 1000}m`, memory: String(l.memoryBytes ?? 0) };
          });
          const want = (s: { cpuCores: number | null; memoryBytes: number | null }) => ({
            cpuCores: s.cpuCores || null,
            memoryBytes: s.memoryBytes || null,
          });
          const got = (s: Data) => ({ cpuCores: s.cpuCores || null, memoryBytes: s.memoryBytes || null });
          expect(got(summedShown(node.allocatedResources.requests)), node.name).toEqual(want(sum(podRequests)));
          expect(got(summedShown(node.allocatedResources.limits)), node.name).toEqual(want(sum(podLimits)));
        }
        // The demo's pods request cpu and memory: the sums are not trivially empty.
        const total = shown.nodes.edges.reduce(
          (n: number, { node }: Data) => n + (node.allocatedResources.requests.cpuCores ?? 0),
          0,
        );
        expect(total).toBeGreaterThan(0);
        return true;
      },
      60_000,
      'a quiet moment to compare the allocated resources',
    );
  });

  it('Service: typed ports, and endpoints equal to the Endpoints the sandbox keeps', async () => {
    for (const [namespace, name] of [
      ['shop', 'frontend'],
      ['shop', 'api'],
      ['analytics', 'postgres'],
      ['shop-staging', 'payment-worker'],
    ]) {
      const query = `query($ns: String!, $name: String!) { service(namespace: $ns, name: $name) { resourceVersion
        servicePorts { name port targetPort nodePort protocol appProtocol }
        endpoints { ready { ip nodeName pod { name } } notReady { ip nodeName pod { name } } } } }`;
      const svc = await data(query, { ns: namespace, name });
      if (!svc.service) continue; // payment-worker has no Service in the demo
      const held = await stack.cluster.core.readNamespacedService({ namespace, name });
      expect(svc.service.servicePorts).toEqual(
        (held.spec?.ports ?? []).map((p) => ({
          name: p.name ?? null,
          port: p.port,
          targetPort: String(p.targetPort ?? p.port),
          nodePort: p.nodePort ?? null,
          protocol: p.protocol ?? 'TCP',
          appProtocol: p.appProtocol ?? null,
        })),
      );
      // Endpoints move with their pods: compare an answer between two equal reads of the Endpoints object.
      await eventually(
        async () => {
          const before = await stack.cluster.core.readNamespacedEndpoints({ namespace, name });
          const shown = (await data(query, { ns: namespace, name })).service.endpoints;
          const after = await stack.cluster.core.readNamespacedEndpoints({ namespace, name });
          if (before.metadata?.resourceVersion !== after.metadata?.resourceVersion) return undefined;
          const addresses = (which: 'addresses' | 'notReadyAddresses') =>
            (after.subsets ?? [])
              .flatMap((s) => s[which] ?? [])
              .map((a) => ({
                ip: a.ip,
                nodeName: a.nodeName ?? null,
                pod: a.targetRef ? { name: a.targetRef.name } : null,
              }))
              .sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
          const ready = addresses('addresses');
          const notReady = addresses('notReadyAddresses');
          if (JSON.stringify(shown) !== JSON.stringify({ ready, notReady })) return undefined;
          expect(shown.ready.length + shown.notReady.length).toBeGreaterThan(0);
          return true;
        },
        30_000,
        `${namespace}/${name}'s endpoints to equal the sandbox's Endpoints`,
      );
    }
  });

  it('Event: count, first and last seen, reporting controller, involved object', async () => {
    const shown = await data(`{ events(namespace: "shop") { edges { node { name resourceVersion count firstSeen
      lastSeen source reportingController reportingInstance involvedObject { apiVersion kind namespace name uid fieldPath } } } } }`);
    const held = new Map(
      (await stack.cluster.core.listNamespacedEvent({ namespace: 'shop' })).items.map((e) => [e.metadata!.name!, e]),
    );
    let compared = 0;
    for (const { node } of shown.events.edges) {
      const e = held.get(node.name);
      if (!e || e.metadata?.resourceVersion !== node.resourceVersion) continue;
      compared++;
      expect(node.count).toBe(e.count ?? e.series?.count ?? 1);
      expect(time(node.firstSeen)).toBe(time(e.firstTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp));
      expect(time(node.lastSeen)).toBe(
        time(e.lastTimestamp ?? e.series?.lastObservedTime ?? e.eventTime ?? e.metadata?.creationTimestamp),
      );
      expect(node.source).toBe(e.source?.component ?? e.reportingComponent ?? null);
      expect(node.reportingController).toBe(e.reportingComponent || e.source?.component || null);
      expect(node.reportingInstance).toBe(e.reportingInstance || e.source?.host || null);
      // The reference as the sandbox holds it; what it leaves out is null ('' for kind and name, v1 for apiVersion).
      const {
        apiVersion = 'v1',
        kind = '',
        namespace = null,
        name = '',
        uid = null,
        fieldPath = null,
      } = e.involvedObject;
      expect(node.involvedObject).toEqual({ apiVersion, kind, namespace, name, uid, fieldPath });
      expect(node.involvedObject.uid).toBeTruthy();
    }
    expect(compared).toBeGreaterThan(5);
  });

  it('PodConnection and WorkloadConnection: a resumeToken no older than any object the page shows', async () => {
    const r = await data(`{ pods(namespace: "shop") { resumeToken edges { node { resourceVersion } } }
      workloads(namespace: "shop", kind: DEPLOYMENT) { resumeToken edges { node { resourceVersion } } } }`);
    for (const page of [r.pods, r.workloads]) {
      expect(page.resumeToken).toMatch(/^\d+$/);
      for (const { node } of page.edges) expect(BigInt(node.resourceVersion) <= BigInt(page.resumeToken)).toBe(true);
    }
  });
});
