// The real kubectl 1.35 binary against the sandbox: apply (client-side with last-applied-configuration, and
// server-side), get with Tables, selectors and output formats, describe, scale, rollout, logs, watch, delete and
// discovery. Assertions are on what a user sees: columns, values, messages and exit codes.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';

let t: TestSandbox;
const ns = 'demo';

beforeAll(async () => {
  t = await startTestSandbox({ speed: 20 });
});
afterAll(async () => t?.close());

const kubectlResult = (args: string[], input?: string) => t.kubectlResult(args, { input });

/** `kubectl get` output as rows of whitespace-separated cells, header first. */
function table(out: string): string[][] {
  return out
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

const AGE = /^(\d+s|\d+m(\d+s)?|\d+h(\d+m)?)$/;

function manifest(opts: { replicas: number; greeting: string; env: string; size: number; tier?: boolean }): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${ns}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: ${ns}
data:
  greeting: ${opts.greeting}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${ns}
  labels:
    app: web
${opts.tier === false ? '' : '    tier: frontend\n'}spec:
  replicas: ${opts.replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
        env:
        - name: MODE
          value: "${opts.env}"
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${ns}
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: ${ns}
spec:
  size: ${opts.size}
  color: blue
`;
}

const getJson = async (args: string[]) => JSON.parse(await t.kubectl([...args, '-o', 'json']));
const webPods = async () =>
  (await getJson(['get', 'pods', '-n', ns, '-l', 'app=web'])).items as {
    metadata: { name: string };
    status: { phase: string };
  }[];
const runningWebPods = async (n: number) => {
  const pods = await webPods();
  return pods.length === n && pods.every((p) => p.status.phase === 'Running') && pods;
};

describe('kubectl against the sandbox', () => {
  it('applies a multi-document manifest client-side, as on a real cluster', async () => {
    // The Widget's kind is resolved before the CRD in the same file exists: kubectl applies the rest, says so, exits 1.
    const first = await kubectlResult(
      ['apply', '-f', '-'],
      manifest({ replicas: 2, greeting: 'hello', env: 'one', size: 3 }),
    );
    expect(first.code).toBe(1);
    expect(first.stdout.trim().split('\n')).toEqual([
      'namespace/demo created',
      'configmap/web-config created',
      'deployment.apps/web created',
      'service/web created',
      'customresourcedefinition.apiextensions.k8s.io/widgets.example.com created',
    ]);
    expect(first.stderr).toContain('no matches for kind "Widget" in version "example.com/v1"');
    expect(first.stderr).toContain('ensure CRDs are installed first');

    // Applying again (kubectl rediscovers the new group) creates the custom resource and leaves the rest unchanged.
    const second = await t.kubectl(['apply', '-f', '-'], {
      input: manifest({ replicas: 2, greeting: 'hello', env: 'one', size: 3 }),
    });
    expect(second.trim().split('\n')).toEqual([
      'namespace/demo unchanged',
      'configmap/web-config unchanged',
      'deployment.apps/web unchanged',
      'service/web unchanged',
      'customresourcedefinition.apiextensions.k8s.io/widgets.example.com unchanged',
      'widget.example.com/w1 created',
    ]);
    const widgets = table(await t.kubectl(['get', 'wd', '-n', ns]));
    expect(widgets[0]).toEqual(['NAME', 'SIZE', 'COLOR', 'AGE']);
    expect(widgets[1].slice(0, 3)).toEqual(['w1', '3', 'blue']);
    expect(widgets[1][3]).toMatch(AGE);

    const deploy = await getJson(['get', 'deploy', 'web', '-n', ns]);
    const lastApplied = JSON.parse(deploy.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    expect(lastApplied).toMatchObject({ kind: 'Deployment', spec: { replicas: 2 } });
    await eventually(() => runningWebPods(2), 20_000, 'two running web pods');
  });

  it('re-applies a changed manifest as a three-way strategic merge that keeps changes made by others', async () => {
    // Someone labels the Deployment by hand; the next apply drops the `tier` label it no longer lists but keeps theirs.
    expect(await t.kubectl(['label', 'deploy', 'web', '-n', ns, 'owner=ops'])).toContain('deployment.apps/web labeled');
    const out = await t.kubectl(['apply', '-f', '-'], {
      input: manifest({ replicas: 3, greeting: 'bonjour', env: 'two', size: 5, tier: false }),
    });
    expect(out).toContain('configmap/web-config configured');
    expect(out).toContain('deployment.apps/web configured');
    expect(out).toContain('service/web unchanged');
    expect(out).toContain('widget.example.com/w1 configured');

    const deploy = await getJson(['get', 'deploy', 'web', '-n', ns]);
    expect(deploy.metadata.labels).toEqual({ app: 'web', owner: 'ops' });
    expect(deploy.spec.replicas).toBe(3);
    expect(deploy.spec.template.spec.containers[0].env).toEqual([{ name: 'MODE', value: 'two' }]);
    expect(deploy.spec.template.spec.containers[0].ports).toEqual([{ containerPort: 80, protocol: 'TCP' }]);
    expect(deploy.spec.strategy.type).toBe('RollingUpdate'); // server defaults survive the patch
    expect(
      JSON.parse(deploy.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).spec.replicas,
    ).toBe(3);
    expect(await t.kubectl(['get', 'cm', 'web-config', '-n', ns, '-o', 'jsonpath={.data.greeting}'])).toBe('bonjour');
    expect(await t.kubectl(['get', 'wd', 'w1', '-n', ns, '-o', 'jsonpath={.spec.size}'])).toBe('5');
    await eventually(() => runningWebPods(3), 20_000, 'three running web pods');
  });

  it('applies server-side, creating and updating with field ownership', async () => {
    const ssa = `apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa-config
  namespace: ${ns}
data:
  color: green
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: ${ns}
  labels: {app: api}
spec:
  replicas: 1
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: example/api:1.0
`;
    expect((await t.kubectl(['apply', '--server-side', '-f', '-'], { input: ssa })).trim().split('\n')).toEqual([
      'configmap/ssa-config serverside-applied',
      'deployment.apps/api serverside-applied',
    ]);
    const updated = await t.kubectl(['apply', '--server-side', '-f', '-'], {
      input: ssa.replace('color: green', 'color: red').replace('example/api:1.0', 'example/api:1.1'),
    });
    expect(updated).toContain('configmap/ssa-config serverside-applied');
    const cm = await getJson(['get', 'cm', 'ssa-config', '-n', ns, '--show-managed-fields']);
    expect(cm.data).toEqual({ color: 'red' });
    expect(cm.metadata.managedFields).toEqual(
      expect.arrayContaining([expect.objectContaining({ manager: 'kubectl', operation: 'Apply' })]),
    );
    expect(
      await t.kubectl(['get', 'deploy', 'api', '-n', ns, '-o', 'jsonpath={.spec.template.spec.containers[0].image}']),
    ).toBe('example/api:1.1');
    expect(await t.kubectl(['delete', 'deploy', 'api', '-n', ns])).toContain('deployment.apps "api" deleted');
    await eventually(
      async () => (await getJson(['get', 'pods', '-n', ns, '-l', 'app=api'])).items.length === 0,
      20_000,
      'the api pods to go',
    );
  });

  it('gets pods and deployments as Tables, JSON and YAML, with label and field selectors', async () => {
    const pods = table(await t.kubectl(['get', 'pods', '-A']));
    expect(pods[0]).toEqual(['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    const web = pods.filter((r) => r[0] === ns && r[1].startsWith('web-'));
    expect(web).toHaveLength(3);
    for (const row of web) {
      expect(row.slice(2, 5)).toEqual(['1/1', 'Running', '0']);
      expect(row[5]).toMatch(AGE);
    }

    const wide = table(await t.kubectl(['get', 'deploy', '-n', ns, '-o', 'wide']));
    expect(wide[0]).toEqual(['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
    const row = wide.find((r) => r[0] === 'web')!;
    expect([...row.slice(0, 4), ...row.slice(5)]).toEqual(['web', '3/3', '3', '3', 'nginx', 'nginx:1.25', 'app=web']);

    const podWide = table(await t.kubectl(['get', 'pods', '-n', ns, '-o', 'wide']));
    expect(podWide[0]).toEqual([
      'NAME',
      'READY',
      'STATUS',
      'RESTARTS',
      'AGE',
      'IP',
      'NODE',
      'NOMINATED NODE',
      'READINESS GATES',
    ]);
    expect(podWide[1][5]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(podWide[1][6]).toMatch(/^node-\d$/);

    const asJson = await getJson(['get', 'deploy', 'web', '-n', ns]);
    expect(asJson).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      status: { readyReplicas: 3 },
    });
    const asYaml = parseYaml(await t.kubectl(['get', 'deploy', 'web', '-n', ns, '-o', 'yaml']));
    expect(asYaml.metadata.uid).toBe(asJson.metadata.uid);
    expect(asYaml.spec.replicas).toBe(3);
    const list = parseYaml(await t.kubectl(['get', 'svc,cm', '-n', ns, '-o', 'yaml']));
    expect(list.kind).toBe('List');
    expect(list.items.map((i: { kind: string; metadata: { name: string } }) => `${i.kind}/${i.metadata.name}`)).toEqual(
      expect.arrayContaining(['Service/web', 'ConfigMap/web-config']),
    );

    const names = (out: string) => out.trim().split('\n').filter(Boolean).sort();
    const podNames = names(await t.kubectl(['get', 'pods', '-n', ns, '-o', 'name']));
    expect(names(await t.kubectl(['get', 'pods', '-n', ns, '-l', 'app=web', '-o', 'name']))).toEqual(podNames);
    expect(names(await t.kubectl(['get', 'pods', '-n', ns, '-l', 'app in (web,api),!missing', '-o', 'name']))).toEqual(
      podNames,
    );
    const none = await kubectlResult(['get', 'pods', '-n', ns, '-l', 'app!=web']);
    expect(none).toMatchObject({ code: 0, stdout: '' });
    const badSelector = await kubectlResult(['get', 'pods', '-n', ns, '-l', 'app in web']);
    expect(badSelector.code).toBe(1);

    expect(
      names(await t.kubectl(['get', 'pods', '-n', ns, '--field-selector', 'status.phase=Running', '-o', 'name'])),
    ).toEqual(podNames);
    const first = podNames[0].replace('pod/', '');
    expect(
      names(await t.kubectl(['get', 'pods', '-A', '--field-selector', `metadata.name=${first}`, '-o', 'name'])),
    ).toEqual([podNames[0]]);
    const node = (await getJson(['get', 'pod', first, '-n', ns])).spec.nodeName;
    const onNode = table(
      await t.kubectl([
        'get',
        'pods',
        '-A',
        '--field-selector',
        `spec.nodeName=${node},status.phase!=Failed`,
        '-o',
        'wide',
      ]),
    );
    expect(onNode.slice(1).every((r) => r[7] === node)).toBe(true);
    expect(onNode.slice(1).map((r) => r[1])).toContain(first);
  });

  it('describes a pod and a deployment, with their events', async () => {
    const [pod] = await webPods();
    const name = pod.metadata.name;
    const describePod = await t.kubectl(['describe', 'pod', name, '-n', ns]);
    expect(describePod).toMatch(new RegExp(`^Name:\\s+${name}$`, 'm'));
    expect(describePod).toMatch(/^Namespace:\s+demo$/m);
    expect(describePod).toMatch(/^Status:\s+Running$/m);
    expect(describePod).toMatch(/^Node:\s+node-\d\/\d+\.\d+\.\d+\.\d+$/m);
    expect(describePod).toMatch(/^Controlled By:\s+ReplicaSet\/web-[a-z0-9]+$/m);
    expect(describePod).toMatch(/Image:\s+nginx:1\.25/);
    expect(describePod).toMatch(
      new RegExp(`Normal\\s+Scheduled\\s+\\S+\\s+default-scheduler\\s+Successfully assigned demo/${name} to node-\\d`),
    );

    const describeDeploy = await t.kubectl(['describe', 'deployment', 'web', '-n', ns]);
    expect(describeDeploy).toMatch(/^Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable$/m);
    expect(describeDeploy).toMatch(/^StrategyType:\s+RollingUpdate$/m);
    expect(describeDeploy).toMatch(/^NewReplicaSet:\s+web-[a-z0-9]+ \(3\/3 replicas created\)$/m);
    expect(describeDeploy).toMatch(
      /Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set web-[a-z0-9]+ from \d+ to \d+/,
    );
  });

  it('scales a deployment', async () => {
    expect(await t.kubectl(['scale', 'deploy', 'web', '-n', ns, '--replicas=4'])).toBe('deployment.apps/web scaled\n');
    await eventually(
      async () => table(await t.kubectl(['get', 'deploy', 'web', '-n', ns]))[1][1] === '4/4',
      20_000,
      'web at 4/4',
    );
    expect(await runningWebPods(4)).toBeTruthy();
  });

  it('restarts, waits for, lists and undoes rollouts', async () => {
    // Revisions so far: 1 (first apply) and 2 (the env change); the scale did not make one.
    expect(await t.kubectl(['rollout', 'restart', 'deploy/web', '-n', ns])).toBe('deployment.apps/web restarted\n');
    const restartedAt = (await getJson(['get', 'deploy', 'web', '-n', ns])).spec.template.metadata.annotations[
      'kubectl.kubernetes.io/restartedAt'
    ];
    expect(Date.parse(restartedAt)).toBeGreaterThan(Date.now() - 60_000);
    const status = await t.kubectl(['rollout', 'status', 'deploy/web', '-n', ns, '--timeout=40s']);
    expect(status.trim().split('\n').pop()).toBe('deployment "web" successfully rolled out');
    const rs = (await getJson(['get', 'rs', '-n', ns, '-l', 'app=web'])).items as { spec: { replicas: number } }[];
    expect(rs.filter((r) => r.spec.replicas > 0)).toHaveLength(1);

    const history = await t.kubectl(['rollout', 'history', 'deploy/web', '-n', ns]);
    expect(history).toContain('deployment.apps/web');
    expect(table(history.split('\n').slice(1).join('\n'))).toEqual([
      ['REVISION', 'CHANGE-CAUSE'],
      ['1', '<none>'],
      ['2', '<none>'],
      ['3', '<none>'],
    ]);
    const rev2 = await t.kubectl(['rollout', 'history', 'deploy/web', '-n', ns, '--revision=2']);
    expect(rev2).toMatch(/MODE:\s+two/);

    expect(await t.kubectl(['rollout', 'undo', 'deploy/web', '-n', ns])).toBe('deployment.apps/web rolled back\n');
    const undone = await t.kubectl(['rollout', 'status', 'deploy/web', '-n', ns, '--timeout=40s']);
    expect(undone).toContain('deployment "web" successfully rolled out');
    const template = (await getJson(['get', 'deploy', 'web', '-n', ns])).spec.template;
    expect(template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeUndefined();
    // Revision 2's template came back as revision 4.
    expect(
      table((await t.kubectl(['rollout', 'history', 'deploy/web', '-n', ns])).split('\n').slice(1).join('\n')).map(
        (r) => r[0],
      ),
    ).toEqual(['REVISION', '1', '3', '4']);
    await eventually(() => runningWebPods(4), 20_000, 'four running web pods after the undo');
  });

  it('prints and follows container logs', async () => {
    const [pod] = await webPods();
    const accessLine = /^\d+\.\d+\.\d+\.\d+ - - \[[^\]]+\] "[A-Z]+ \S+ HTTP\/1\.1" \d{3} \d+/;
    // A freshly started nginx first prints its startup notices; once it has served a few requests the tail is access lines.
    const lines = await eventually(
      async () => {
        const got = (await t.kubectl(['logs', pod.metadata.name, '-n', ns, '--tail=5'])).trim().split('\n');
        return got.every((l) => accessLine.test(l)) && got;
      },
      20_000,
      'five access-log lines at the tail',
    );
    expect(lines).toHaveLength(5);
    expect((await t.kubectl(['logs', 'deploy/web', '-n', ns, '--tail=2'])).trim().split('\n')).toHaveLength(2);

    const follow = t.spawnKubectl(['logs', '-f', pod.metadata.name, '-n', ns, '--tail=1']);
    try {
      const got = await readLines(follow, 4);
      expect(got.length).toBeGreaterThanOrEqual(4); // one from --tail, the rest streamed as the container writes them
      expect(follow.exitCode).toBeNull(); // still following
    } finally {
      follow.kill();
    }
  });

  it('watches pods and sees a new one appear', async () => {
    const watch = t.spawnKubectl(['get', 'pods', '-n', ns, '-w']);
    let out = '';
    watch.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await eventually(
        () => out.split('\n').filter((l) => l.startsWith('web-')).length >= 4,
        15_000,
        'the initial pod list',
      );
      expect(
        out
          .split('\n')[0]
          .trim()
          .split(/\s{2,}/),
      ).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
      const before = new Set(out.split('\n').map((l) => l.split(/\s+/)[0]));
      await t.kubectl(['scale', 'deploy', 'web', '-n', ns, '--replicas=5']);
      const fresh = await eventually(
        () => {
          const rows = out.split('\n').filter((l) => l.startsWith('web-') && !before.has(l.split(/\s+/)[0]));
          return rows.some((l) => /\s1\/1\s+Running\s/.test(l)) && rows;
        },
        20_000,
        'a new pod to show up Running in the watch',
      );
      // It shows up first as Pending (or ContainerCreating) and then Running, on lines of its own.
      expect(fresh[0]).toMatch(/\s0\/1\s+(Pending|ContainerCreating)\s/);
    } finally {
      watch.kill();
    }
  });

  it('deletes a deployment with its pods, then the namespace', async () => {
    expect(await t.kubectl(['delete', 'deploy', 'web', '-n', ns])).toContain('deployment.apps "web" deleted');
    await eventually(
      async () => (await webPods()).length === 0 && (await getJson(['get', 'rs', '-n', ns])).items.length === 0,
      20_000,
      'web pods and replica sets to go',
    );
    const gone = await kubectlResult(['get', 'deploy', 'web', '-n', ns]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('Error from server (NotFound): deployments.apps "web" not found');

    // kubectl waits for the namespace to be emptied and removed.
    expect(await t.kubectl(['delete', 'ns', ns, '--timeout=40s'])).toContain('namespace "demo" deleted');
    const nsGone = await kubectlResult(['get', 'ns', ns]);
    expect(nsGone.stderr).toContain('namespaces "demo" not found');
    expect(table(await t.kubectl(['get', 'ns'])).map((r) => r[0])).toEqual([
      'NAME',
      'default',
      'kube-node-lease',
      'kube-public',
      'kube-system',
    ]);
  });

  it('creates objects with kubectl create generators, which send protobuf, exactly as kubectl built them', async () => {
    await t.kubectl(['create', 'namespace', 'gen']);
    const generators = [
      ['create', 'deployment', 'd1', '--image=nginx:1.27', '--image=redis:7', '--replicas=2'],
      ['create', 'service', 'clusterip', 's1', '--tcp=80:8080', '--tcp=443:8443'],
      ['create', 'service', 'nodeport', 's2', '--tcp=80:8080', '--node-port=30080'],
      ['create', 'service', 'externalname', 's3', '--external-name=example.com'],
      ['create', 'job', 'j1', '--image=busybox', '--', 'date'],
      ['create', 'cronjob', 'c1', '--image=busybox', '--schedule=@hourly', '--restart=OnFailure', '--', 'echo', 'hi'],
      ['create', 'role', 'r1', '--verb=get,list', '--resource=pods,deployments.apps', '--resource-name=x'],
      ['create', 'rolebinding', 'rb1', '--role=r1', '--user=bob', '--group=devs', '--serviceaccount=gen:sa1'],
      ['create', 'quota', 'q1', '--hard=pods=10,cpu=2,memory=1Gi,limits.cpu=4', '--scopes=NotBestEffort'],
      [
        'create',
        'ingress',
        'i1',
        '--class=nginx',
        '--rule=foo.com/bar*=svc1:8080,tls=my-cert',
        '--rule=bar.com/=svc2:http',
      ],
      ['create', 'secret', 'generic', 'sec1', '--from-literal=password=s3cr3t'],
      ['create', 'configmap', 'cm1', '--from-literal=a=b'],
      ['create', 'serviceaccount', 'sa1'],
      ['run', 'p1', '--image=nginx', '--env=A=1', '--port=80', '--labels=x=y', '--restart=Never'],
    ];
    for (const args of generators) {
      const at = args.includes('--') ? args.indexOf('--') : args.length;
      const withFlags = (flags: string[]) => [...args.slice(0, at), '-n', 'gen', ...flags, ...args.slice(at)];
      const built = JSON.parse(await t.kubectl(withFlags(['--dry-run=client', '-o', 'json'])));
      const stored = JSON.parse(await t.kubectl(withFlags(['-o', 'json'])));
      expect(stored, args.join(' ')).toMatchObject(prune(built) as object);
    }
    expect(await t.kubectl(['get', 'secret', 'sec1', '-n', 'gen', '-o', 'jsonpath={.data.password}'])).toBe(
      Buffer.from('s3cr3t').toString('base64'),
    );
    expect(await t.kubectl(['delete', 'ns', 'gen', '--timeout=40s'])).toContain('namespace "gen" deleted');
  });

  it('lists API resources, including custom ones', async () => {
    const rows = table(await t.kubectl(['api-resources']));
    expect(rows[0]).toEqual(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
    const byName = new Map(rows.map((r) => [r[0], r]));
    expect(byName.get('pods')).toEqual(['pods', 'po', 'v1', 'true', 'Pod']);
    expect(byName.get('deployments')).toEqual(['deployments', 'deploy', 'apps/v1', 'true', 'Deployment']);
    expect(byName.get('namespaces')).toEqual(['namespaces', 'ns', 'v1', 'false', 'Namespace']);
    expect(byName.get('widgets')).toEqual(['widgets', 'wd', 'example.com/v1', 'true', 'Widget']);
    const namespaced = await t.kubectl(['api-resources', '--namespaced=false', '-o', 'name']);
    expect(namespaced.split('\n')).toEqual(
      expect.arrayContaining(['nodes', 'namespaces', 'customresourcedefinitions.apiextensions.k8s.io']),
    );
    expect(namespaced.split('\n')).not.toContain('pods');
  });
});

/** An object as kubectl built it, less what the server never stores (null timestamps, empty structs). */
function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(prune);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = prune(x);
      if (p === null || (p && typeof p === 'object' && !Array.isArray(p) && !Object.keys(p).length)) continue;
      out[k] = p;
    }
    return out;
  }
  return v;
}

/** Collects stdout lines of a running process until there are `n` of them. */
async function readLines(child: ChildProcess, n: number): Promise<string[]> {
  let buf = '';
  child.stdout!.on('data', (c: Buffer) => (buf += c.toString()));
  return eventually(
    () => {
      const lines = buf.split('\n').filter(Boolean);
      return lines.length >= n && lines;
    },
    15_000,
    `${n} lines of output`,
  );
}
