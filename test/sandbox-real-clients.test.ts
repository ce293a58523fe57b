// The sandbox as real clients see it (issue 17 §3), with the real kubectl and @kubernetes/client-node: boolean query
// parameters read as the apiserver reads them, and (below) the APIs and controllers a console expects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';

let t: TestSandbox;
beforeAll(async () => {
  t = await startTestSandbox({ speed: 20 });
  await t.core.createNamespace({ body: { metadata: { name: 'params' } } });
  await t.core.createNamespacedConfigMap({
    namespace: 'params',
    body: { metadata: { name: 'one', labels: { set: 'params' } }, data: { a: '1' } },
  });
});
afterAll(async () => t?.close());

const kubectlResult = (args: string[], input?: string) => t.kubectlResult(args, { input });

describe('boolean query parameters', () => {
  const base = '/api/v1/namespaces/params/configmaps';
  const only = 'labelSelector=set%3Dparams';

  // apimachinery's Convert_Slice_string_To_bool: "0" and any case of "false" are false, every other value is true.
  it.each(['true', 'True', 'TRUE', '1', 't', 'T', '', 'yes'])('watch=%s opens a watch stream', async (value) => {
    const out = await t.kubectl(['get', '--raw', `${base}?${only}&watch=${value}&timeoutSeconds=1`]);
    const first = JSON.parse(out.trim().split('\n')[0]) as { type: string; object: { metadata: { name: string } } };
    expect(first.type).toBe('ADDED');
    expect(first.object.metadata.name).toBe('one');
  });

  it.each(['false', 'False', 'FALSE', '0', 'fAlSe'])('watch=%s lists', async (value) => {
    const list = JSON.parse(await t.kubectl(['get', '--raw', `${base}?${only}&watch=${value}`])) as {
      kind: string;
      items: { metadata: { name: string } }[];
    };
    expect(list.kind).toBe('ConfigMapList');
    expect(list.items.map((i) => i.metadata.name)).toEqual(['one']);
  });

  it('allowWatchBookmarks=True with sendInitialEvents=True ends the initial events with a bookmark', async () => {
    const out = await t.kubectl([
      'get',
      '--raw',
      `${base}?watch=1&allowWatchBookmarks=True&sendInitialEvents=True&resourceVersionMatch=NotOlderThan&timeoutSeconds=1`,
    ]);
    const events = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; object: { metadata: { annotations?: Record<string, string> } } });
    expect(events[0].type).toBe('ADDED');
    const bookmark = events.find((e) => e.type === 'BOOKMARK');
    expect(bookmark?.object.metadata.annotations?.['k8s.io/initial-events-end']).toBe('true');
  });

  it('pretty is strconv.ParseBool, an unparsable value meaning false', async () => {
    const pretty = await t.kubectl(['get', '--raw', `${base}/one?pretty=True`]);
    expect(pretty).toContain('\n  "kind": "ConfigMap"');
    const plain = await t.kubectl(['get', '--raw', `${base}/one?pretty=yes`]);
    expect(plain.trim()).not.toContain('\n');
    expect(JSON.parse(pretty)).toEqual(JSON.parse(plain));
  });

  it('orphanDependents=True orphans, orphanDependents=False lets the garbage collector delete dependents', async () => {
    for (const orphan of ['True', 'False']) {
      const owner = await t.core.createNamespacedConfigMap({
        namespace: 'params',
        body: { metadata: { name: `owner-${orphan.toLowerCase()}` } },
      });
      const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata!.name!, uid: owner.metadata!.uid! };
      await t.core.createNamespacedConfigMap({
        namespace: 'params',
        body: { metadata: { name: `dependent-${orphan.toLowerCase()}`, ownerReferences: [ref] } },
      });
      await t.kubectl(['delete', '--raw', `${base}/owner-${orphan.toLowerCase()}?orphanDependents=${orphan}`]);
    }
    await eventually(async () => {
      const names = (await t.core.listNamespacedConfigMap({ namespace: 'params' })).items.map((c) => c.metadata?.name);
      return !names.includes('dependent-false') && names;
    });
    const kept = await t.core.readNamespacedConfigMap({ name: 'dependent-true', namespace: 'params' });
    expect(kept.metadata?.ownerReferences ?? []).toEqual([]);
  });

  it('dryRun is All or refused: dryRun=true never writes, kubectl --dry-run=server deletes nothing', async () => {
    const err = await t.core
      .createNamespacedConfigMap({ namespace: 'params', body: { metadata: { name: 'dry' } }, dryRun: 'true' })
      .then(
        () => undefined,
        (e: unknown) => e as { code?: number; body?: string },
      );
    expect(err?.code).toBe(422);
    expect(JSON.parse(err!.body!).message).toBe(
      'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"true"}: supported values: "All"',
    );
    await expect(t.core.readNamespacedConfigMap({ name: 'dry', namespace: 'params' })).rejects.toMatchObject({
      code: 404,
    });
    const out = await t.kubectl(['delete', 'configmap', 'one', '-n', 'params', '--dry-run=server']);
    expect(out.trim()).toBe('configmap "one" deleted from params namespace (server dry run)');
    expect((await t.core.readNamespacedConfigMap({ name: 'one', namespace: 'params' })).metadata?.name).toBe('one');
    await t.kubectl(['create', 'configmap', 'dry', '-n', 'params', '--dry-run=server']);
    await expect(t.core.readNamespacedConfigMap({ name: 'dry', namespace: 'params' })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('follow=True, timestamps=T and previous=0 on pod logs', async () => {
    await t.kubectl(['run', 'talker', '-n', 'params', '--image=nginx:1.27']);
    await eventually(async () => {
      const p = await t.core.readNamespacedPod({ name: 'talker', namespace: 'params' });
      return p.status?.phase === 'Running';
    });
    const out = await t.kubectl([
      'get',
      '--raw',
      '/api/v1/namespaces/params/pods/talker/log?timestamps=T&previous=0&tailLines=2&follow=False',
    ]);
    const lines = out.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z /);
    const res = await kubectlResult(['get', '--raw', '/api/v1/namespaces/params/pods/talker/log?previous=True']);
    // previous=True is read as true: there is no previous instance, as the kubelet answers.
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('previous terminated container "talker" in pod "talker" not found');
  });
});

describe('logs of a generic image follow its command', () => {
  it('kubectl logs of a busybox pod shows what its `sh -c` script echoes', async () => {
    await t.kubectl([
      'run',
      'echoer',
      '-n',
      'params',
      '--image=busybox:1.36',
      '--restart=Never',
      '--env=GREETING=hola',
      '--',
      'sh',
      '-c',
      'echo hello; for i in 1 2 3; do echo "n=$i"; done; echo "$GREETING from $HOSTNAME" && printf \'%s-%d\\n\' done 7',
    ]);
    const logs = await eventually(async () => {
      const out = await t.kubectl(['logs', '-n', 'params', 'echoer']);
      return out.includes('done-7') && out;
    });
    expect(logs).toBe('hello\nn=1\nn=2\nn=3\nhola from echoer\ndone-7\n');
    // The script ends, so the container does: Completed, and the log stays as it was.
    await eventually(async () => {
      const p = await t.core.readNamespacedPod({ name: 'echoer', namespace: 'params' });
      return p.status?.phase === 'Succeeded';
    });
    expect(await t.kubectl(['logs', '-n', 'params', 'echoer'])).toBe(logs);
  });

  it('a `while true` loop prints its body again every period', async () => {
    await t.kubectl([
      'run',
      'ticker',
      '-n',
      'params',
      '--image=alpine:3.20',
      '--command',
      '--',
      '/bin/sh',
      '-c',
      'echo starting; while true; do echo tick; sleep 1; echo tock; done',
    ]);
    const logs = await eventually(async () => {
      const out = await t.kubectl(['logs', '-n', 'params', 'ticker']);
      return out.split('\n').filter((l) => l === 'tock').length >= 3 && out;
    });
    const lines = logs.trim().split('\n');
    expect(lines[0]).toBe('starting');
    // Alternating tick/tock after the first line, ending on either.
    lines.slice(1).forEach((l, i) => expect(l).toBe(i % 2 === 0 ? 'tick' : 'tock'));
  });
});

describe('kubectl auth: whoami and can-i over the RBAC objects in the store', () => {
  beforeAll(async () => {
    await t.kubectl(['create', 'namespace', 'shop']);
    await t.kubectl(['create', 'role', 'pod-reader', '-n', 'shop', '--verb=get,list,watch', '--resource=pods']);
    await t.kubectl(['create', 'rolebinding', 'alice-reads', '-n', 'shop', '--role=pod-reader', '--user=alice']);
    await t.kubectl(['create', 'clusterrole', 'ns-viewer', '--verb=get,list', '--resource=namespaces']);
    await t.kubectl([
      'create',
      'clusterrolebinding',
      'auditors-view-ns',
      '--clusterrole=ns-viewer',
      '--group=auditors',
    ]);
  });

  it('whoami tells the kubeconfig user and an impersonated one', async () => {
    const me = JSON.parse(await t.kubectl(['auth', 'whoami', '-o', 'json'])) as {
      kind: string;
      status: { userInfo: { username: string; groups: string[] } };
    };
    expect(me.kind).toBe('SelfSubjectReview');
    expect(me.status.userInfo).toEqual({
      username: 'sandbox-admin',
      groups: ['system:masters', 'system:authenticated'],
    });
    const alice = await t.kubectl(['auth', 'whoami', '--as', 'alice', '--as-group', 'auditors']);
    expect(alice).toMatch(/Username\s+alice/);
    expect(alice).toMatch(/Groups\s+\[auditors system:authenticated\]/);
  });

  it('can-i answers from Roles, ClusterRoles and their bindings', async () => {
    expect((await kubectlResult(['auth', 'can-i', 'list', 'pods', '-n', 'shop'])).stdout.trim()).toBe('yes');
    const yes = await kubectlResult(['auth', 'can-i', 'list', 'pods', '-n', 'shop', '--as', 'alice']);
    expect([yes.code, yes.stdout.trim()]).toEqual([0, 'yes']);
    const otherNs = await kubectlResult(['auth', 'can-i', 'list', 'pods', '-n', 'default', '--as', 'alice']);
    expect([otherNs.code, otherNs.stdout.trim()]).toEqual([1, 'no']);
    const wrongVerb = await kubectlResult(['auth', 'can-i', 'delete', 'pods', '-n', 'shop', '--as', 'alice']);
    expect([wrongVerb.code, wrongVerb.stdout.trim()]).toEqual([1, 'no']);
    const logs = await kubectlResult([
      'auth',
      'can-i',
      'get',
      'pods',
      '--subresource=log',
      '-n',
      'shop',
      '--as',
      'alice',
    ]);
    expect(logs.stdout.trim()).toBe('no');
    const byGroup = await kubectlResult([
      'auth',
      'can-i',
      'list',
      'namespaces',
      '--as',
      'bob',
      '--as-group',
      'auditors',
    ]);
    expect(byGroup.stdout.trim()).toBe('yes');
    expect((await kubectlResult(['auth', 'can-i', 'list', 'namespaces', '--as', 'bob'])).stdout.trim()).toBe('no');
  });

  it('an impersonated user is held to RBAC on every request', async () => {
    const pods = await kubectlResult(['get', 'pods', '-n', 'shop', '--as', 'alice']);
    expect(pods.code).toBe(0);
    const denied = await kubectlResult(['get', 'configmaps', '-n', 'shop', '--as', 'alice']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(
      'configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "shop"',
    );
  });

  it('can-i --list shows the rules of a namespace (SelfSubjectRulesReview)', async () => {
    const out = await t.kubectl(['auth', 'can-i', '--list', '-n', 'shop', '--as', 'alice']);
    const podsRow = out.split('\n').find((l) => l.startsWith('pods '));
    expect(podsRow?.trim().split(/\s{2,}/)).toEqual(['pods', '[]', '[]', '[get list watch]']);
    expect(out).toMatch(/selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/);
  });

  it('SubjectAccessReview and LocalSubjectAccessReview decide for another user, with the reason', async () => {
    const body = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: 'alice', resourceAttributes: { namespace: 'shop', verb: 'watch', resource: 'pods' } },
    };
    const sar = JSON.parse(await t.kubectl(['create', '-f', '-', '-o', 'json'], { input: JSON.stringify(body) })) as {
      status: { allowed: boolean; reason?: string };
    };
    expect(sar.status).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "alice-reads/shop" of Role "pod-reader" to User "alice"',
    });
    const local = JSON.parse(
      await t.kubectl(['create', '-n', 'shop', '-f', '-', '-o', 'json'], {
        input: JSON.stringify({
          ...body,
          kind: 'LocalSubjectAccessReview',
          spec: { user: 'alice', resourceAttributes: { namespace: 'shop', verb: 'create', resource: 'pods' } },
        }),
      }),
    ) as { status: { allowed: boolean } };
    expect(local.status.allowed).toBe(false);
    const resources = await t.kubectl(['api-resources', '--api-group=authorization.k8s.io', '-o', 'wide']);
    expect(resources).toMatch(
      /subjectaccessreviews\s+authorization\.k8s\.io\/v1\s+false\s+SubjectAccessReview\s+create/,
    );
  });
});

describe('namespace deletion as the namespace controller does it', () => {
  const manifest = (ns: string) => `apiVersion: v1
kind: Namespace
metadata:
  name: ${ns}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: ${ns}
data:
  a: "1"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${ns}
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: nginx:1.27
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${ns}
spec:
  selector: { app: web }
  ports:
    - port: 80
`;

  it('kubectl delete -f of a file beginning with its Namespace deletes every document and exits 0', async () => {
    await t.kubectl(['apply', '-f', '-'], { input: manifest('doomed') });
    await eventually(async () => {
      const pods = await t.core.listNamespacedPod({ namespace: 'doomed' });
      return pods.items.length === 2;
    });
    const res = await kubectlResult(['delete', '-f', '-'], manifest('doomed'));
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout.trim().split('\n')).toEqual([
      'namespace "doomed" deleted',
      'configmap "settings" deleted from doomed namespace',
      'deployment.apps "web" deleted from doomed namespace',
      'service "web" deleted from doomed namespace',
    ]);
    const ns = await kubectlResult(['get', 'namespace', 'doomed']);
    expect(ns.code).toBe(1);
    expect(ns.stderr).toContain('namespaces "doomed" not found');
    expect((await t.core.listNamespacedPod({ namespace: 'doomed' })).items).toEqual([]);
  });

  it('a terminating namespace: phase, finalizer, conditions, no new content, gone once its last finalizer is', async () => {
    await t.kubectl(['create', 'namespace', 'held']);
    await t.core.createNamespacedConfigMap({
      namespace: 'held',
      body: { metadata: { name: 'keep', finalizers: ['example.com/hold'] } },
    });
    await t.kubectl(['delete', 'namespace', 'held', '--wait=false']);
    const terminating = await t.core.readNamespace({ name: 'held' });
    expect(terminating.status?.phase).toBe('Terminating');
    expect(terminating.spec?.finalizers).toEqual(['kubernetes']);
    expect(terminating.metadata?.deletionTimestamp).toBeDefined();

    const refused = await kubectlResult(['create', 'configmap', 'late', '-n', 'held']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'configmaps "late" is forbidden: unable to create new content in namespace held because it is being terminated',
    );

    const conditions = await eventually(async () => {
      const ns = await t.core.readNamespace({ name: 'held' });
      const c = ns.status?.conditions ?? [];
      return c.find((x) => x.type === 'NamespaceFinalizersRemaining')?.status === 'True' && c;
    });
    expect(conditions.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ['NamespaceDeletionDiscoveryFailure', 'False', 'ResourcesDiscovered', 'All resources successfully discovered'],
      [
        'NamespaceDeletionGroupVersionParsingFailure',
        'False',
        'ParsedGroupVersions',
        'All legacy kube types successfully parsed',
      ],
      [
        'NamespaceDeletionContentFailure',
        'False',
        'ContentDeleted',
        'All content successfully deleted, may be waiting on finalization',
      ],
      [
        'NamespaceContentRemaining',
        'True',
        'SomeResourcesRemain',
        'Some resources are remaining: configmaps. has 1 resource instances',
      ],
      [
        'NamespaceFinalizersRemaining',
        'True',
        'SomeFinalizersRemain',
        'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances',
      ],
    ]);
    // The held ConfigMap is being deleted, the rest is gone; the namespace waits for it.
    const kept = await t.core.readNamespacedConfigMap({ name: 'keep', namespace: 'held' });
    expect(kept.metadata?.deletionTimestamp).toBeDefined();
    expect((await t.core.listNamespacedServiceAccount({ namespace: 'held' })).items).toEqual([]);

    await t.kubectl([
      'patch',
      'configmap',
      'keep',
      '-n',
      'held',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    await eventually(
      async () => (await kubectlResult(['get', 'namespace', 'held'])).code === 1,
      20_000,
      'namespace gone',
    );
  });
});

describe('EndpointSlices kept by the endpoints controller', () => {
  it('kubectl get endpointslices -A lists the pods behind a service, and follows them', async () => {
    await t.kubectl(['create', 'namespace', 'slices']);
    await t.kubectl([
      'create',
      'deployment',
      'api',
      '-n',
      'slices',
      '--image=nginx:1.27',
      '--replicas=3',
      '--port=8080',
    ]);
    await t.kubectl(['expose', 'deployment', 'api', '-n', 'slices', '--port=80', '--target-port=8080']);
    const podIPs = async () =>
      (await t.core.listNamespacedPod({ namespace: 'slices' })).items
        .filter(
          (p) =>
            p.status?.podIP &&
            !p.metadata?.deletionTimestamp &&
            p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        )
        .map((p) => p.status!.podIP!)
        .sort();
    const ips = await eventually(async () => {
      const ready = await podIPs();
      return ready.length === 3 && ready;
    });
    const row = await eventually(async () => {
      const out = await t.kubectl(['get', 'endpointslices', '-A', '--no-headers']);
      const line = out.split('\n').find((l) => l.startsWith('slices '));
      const cells = line?.trim().split(/\s+/);
      return cells && cells[4] && cells[4].split(',').length === 3 && cells;
    });
    expect(row[0]).toBe('slices');
    expect(row[1]).toMatch(/^api-[a-z0-9]{5}$/);
    expect(row.slice(2, 4)).toEqual(['IPv4', '8080']);
    expect(row[4].split(',').sort()).toEqual(ips);

    const slice = JSON.parse(
      await t.kubectl(['get', 'endpointslices', '-n', 'slices', '-l', 'kubernetes.io/service-name=api', '-o', 'json']),
    ) as {
      items: {
        metadata: {
          ownerReferences: { kind: string; name: string; controller: boolean }[];
          labels: Record<string, string>;
        };
        ports: unknown[];
        endpoints: {
          addresses: string[];
          conditions: Record<string, boolean>;
          targetRef: { kind: string; name: string };
        }[];
      }[];
    };
    expect(slice.items).toHaveLength(1);
    const [s] = slice.items;
    expect(s.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Service', name: 'api', controller: true }),
    ]);
    expect(s.metadata.labels['endpointslice.kubernetes.io/managed-by']).toBe('endpointslice-controller.k8s.io');
    expect(s.ports).toEqual([{ name: '', port: 8080, protocol: 'TCP' }]);
    for (const e of s.endpoints) {
      expect(e.conditions).toEqual({ ready: true, serving: true, terminating: false });
      expect(e.targetRef.kind).toBe('Pod');
    }

    await t.kubectl(['scale', 'deployment', 'api', '-n', 'slices', '--replicas=1']);
    const one = await eventually(async () => {
      const out = await t.kubectl(['get', 'endpointslices', '-n', 'slices', '-o', 'json']);
      const items = (JSON.parse(out) as { items: { endpoints?: { conditions: { terminating: boolean } }[] }[] }).items;
      const live = (items[0]?.endpoints ?? []).filter((e) => !e.conditions.terminating);
      return items.length === 1 && (items[0].endpoints ?? []).length === 1 && live.length === 1;
    });
    expect(one).toBe(true);

    await t.kubectl(['delete', 'service', 'api', '-n', 'slices']);
    await eventually(
      async () => (await t.kubectl(['get', 'endpointslices', '-n', 'slices', '-o', 'name'])).trim() === '',
    );
  });
});

describe('scheduler: required node affinity', () => {
  const podWithTerms = (name: string, terms: object[]) => ({
    metadata: { name },
    spec: {
      containers: [{ name: 'c', image: 'nginx:1.27' }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } },
    },
  });

  it('an empty term matches no node: it neither widens the choice nor schedules the pod anywhere', async () => {
    await t.kubectl(['create', 'namespace', 'affinity']);
    const nodes = (await t.core.listNode()).items.map((n) => n.metadata!.name!);
    const target = nodes[nodes.length - 1];
    await t.core.createNamespacedPod({
      namespace: 'affinity',
      body: podWithTerms('only-empty', [{}]),
    });
    await t.core.createNamespacedPod({
      namespace: 'affinity',
      body: podWithTerms('empty-or-target', [
        {},
        { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [target] }] },
      ]),
    });
    const placed = await eventually(async () => {
      const p = await t.core.readNamespacedPod({ name: 'empty-or-target', namespace: 'affinity' });
      return p.spec?.nodeName;
    });
    expect(placed).toBe(target);
    const unschedulable = await eventually(async () => {
      const p = await t.core.readNamespacedPod({ name: 'only-empty', namespace: 'affinity' });
      return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    });
    expect(unschedulable.reason).toBe('Unschedulable');
    expect(unschedulable.message).toContain("node(s) didn't match Pod's node affinity/selector");
    expect(
      (await t.core.readNamespacedPod({ name: 'only-empty', namespace: 'affinity' })).spec?.nodeName,
    ).toBeUndefined();
  });
});

describe('horizontal pod autoscaler', () => {
  const deployment = (name: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: hpa }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - name: app
          image: nginx:1.27
          resources: { requests: { cpu: 20m, memory: 32Mi } }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: ${name}, namespace: hpa }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: ${name} }
  minReplicas: 1
  maxReplicas: 4
  metrics:
    - type: Resource
      resource: { name: cpu, target: { type: Utilization, averageUtilization: ${name === 'idle' ? 900 : 5} } }
${name === 'held' ? '  behavior: { scaleUp: { selectPolicy: Disabled } }\n' : ''}`;

  interface Hpa {
    status?: {
      currentReplicas?: number;
      desiredReplicas?: number;
      currentMetrics?: { resource: { name: string; current: { averageUtilization: number; averageValue: string } } }[];
      conditions?: { type: string; status: string; reason: string }[];
    };
  }
  const hpa = async (name: string) =>
    JSON.parse(await t.kubectl(['get', 'hpa', name, '-n', 'hpa', '-o', 'json'])) as Hpa;

  it('scales a busy target up to its maximum and reports the usage it saw', async () => {
    await t.kubectl(['create', 'namespace', 'hpa']);
    await t.kubectl(['apply', '-f', '-'], { input: deployment('busy', 1) });
    const status = await eventually(async () => {
      const s = (await hpa('busy')).status;
      return s?.desiredReplicas === 4 && s.currentReplicas === 4 && s;
    }, 30_000);
    const [metric] = status.currentMetrics ?? [];
    expect(metric.resource.name).toBe('cpu');
    // The pods use some of their 20m request (the simulated usage), far above the 5 % target.
    expect(metric.resource.current.averageUtilization).toBeGreaterThan(5);
    expect(metric.resource.current.averageUtilization).toBeLessThan(200);
    expect(metric.resource.current.averageValue).toMatch(/^\d+m$/);
    expect(status.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['AbleToScale', 'True', expect.stringMatching(/^(ReadyForNewScale|SucceededRescale)$/)],
      ['ScalingActive', 'True', 'ValidMetricFound'],
      ['ScalingLimited', 'True', 'TooManyReplicas'],
    ]);
    const dep = await t.apps.readNamespacedDeployment({ name: 'busy', namespace: 'hpa' });
    expect(dep.spec?.replicas).toBe(4);
    const row = (await t.kubectl(['get', 'hpa', 'busy', '-n', 'hpa', '--no-headers'])).trim().split(/\s{2,}/);
    expect(row[2]).toBe(`cpu: ${metric.resource.current.averageUtilization}%/5%`);
  });

  it('an idle target is not scaled down within the stabilization window', async () => {
    await t.kubectl(['apply', '-f', '-'], { input: deployment('idle', 2) });
    const status = await eventually(async () => {
      const s = (await hpa('idle')).status;
      return (s?.currentMetrics?.length ?? 0) > 0 && s;
    }, 30_000);
    expect(status.currentMetrics![0].resource.current.averageUtilization).toBeLessThan(900);
    expect(status.desiredReplicas).toBe(2);
    expect((await t.apps.readNamespacedDeployment({ name: 'idle', namespace: 'hpa' })).spec?.replicas).toBe(2);
  });

  it('scaleUp selectPolicy Disabled: the recommendation is reported, the target left as it is', async () => {
    await t.kubectl(['apply', '-f', '-'], { input: deployment('held', 1) });
    const status = await eventually(async () => {
      const s = (await hpa('held')).status;
      return (s?.currentMetrics?.length ?? 0) > 0 && s;
    }, 30_000);
    expect(status.desiredReplicas).toBe(1);
    expect(status.conditions?.find((c) => c.type === 'ScalingLimited')).toMatchObject({
      status: 'True',
      reason: 'ScaleUpLimit',
    });
    expect((await t.apps.readNamespacedDeployment({ name: 'held', namespace: 'hpa' })).spec?.replicas).toBe(1);
  });
});
