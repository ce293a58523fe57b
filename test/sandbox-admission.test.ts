// The sandbox as kube-apiserver guards writes, seen by the real kubectl: Pod Security Admission from the namespace's
// pod-security.kubernetes.io labels (denials and warnings with the plugin's texts), and field ownership of
// non-apply writes, so a server-side apply conflicts with what `kubectl set image` / `kubectl create` changed.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { eventually, startTestSandbox, TOOLS_BIN, type TestSandbox } from './harness/sandbox.js';

let t: TestSandbox;

beforeAll(async () => {
  t = await startTestSandbox({ speed: 20 });
  await t.kubectl(['create', 'namespace', 'guarded']);
  await t.kubectl(['label', 'namespace', 'guarded', 'pod-security.kubernetes.io/enforce=baseline']);
  await t.kubectl(['create', 'namespace', 'warned']);
  await t.kubectl([
    'label',
    'namespace',
    'warned',
    'pod-security.kubernetes.io/warn=baseline',
    'pod-security.kubernetes.io/warn-version=v1.35',
  ]);
  await t.kubectl(['create', 'namespace', 'owners']);
});
afterAll(async () => t?.close());

/** kubectl's exit code and both streams (warnings go to stderr even when the command succeeds). */
function kubectlResult(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      join(TOOLS_BIN, 'kubectl'),
      args,
      { env: { ...process.env, KUBECONFIG: t.kubeconfigPath, HOME: dirname(t.kubeconfigPath) }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        if (typeof code !== 'number') reject(err);
        else resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

const hostile = (ns: string) => `apiVersion: v1
kind: Pod
metadata:
  name: hostile
  namespace: ${ns}
spec:
  hostNetwork: true
  hostPID: true
  containers:
  - name: c
    image: busybox
    securityContext:
      privileged: true
      capabilities:
        add: [NET_ADMIN, CHOWN, SYS_ADMIN]
    ports:
    - containerPort: 80
      hostPort: 8080
  volumes:
  - name: root
    hostPath:
      path: /
`;

describe('Pod Security Admission', () => {
  it('refuses a pod that violates the enforced level, with the plugin text, and creates nothing', async () => {
    const r = await kubectlResult(['apply', '-f', '-'], hostile('guarded'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'pods "hostile" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "c" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add), host namespaces (hostNetwork=true, hostPID=true), hostPath volumes (volume "root"), hostPort (container "c" uses hostPort 8080), privileged (container "c" must not set securityContext.privileged=true)',
    );
    const get = await kubectlResult(['get', 'pod', 'hostile', '-n', 'guarded']);
    expect(get.stderr).toContain('NotFound');
  });

  it('refuses `kubectl run --privileged` as a real cluster does, and admits a plain pod', async () => {
    const r = await kubectlResult(['run', 'priv', '-n', 'guarded', '--image=nginx', '--privileged']);
    expect(r.stderr).toContain(
      'Error from server (Forbidden): pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "priv" must not set securityContext.privileged=true)',
    );
    expect(await t.kubectl(['run', 'plain', '-n', 'guarded', '--image=nginx'])).toContain('pod/plain created');
  });

  it('a Deployment with a violating template is accepted; its ReplicaSet cannot create pods (FailedCreate)', async () => {
    const r = await kubectlResult([
      'create',
      'deployment',
      'hostnet',
      '-n',
      'guarded',
      '--image=nginx',
      '--dry-run=client',
      '-o',
      'yaml',
    ]);
    const d = parseYaml(r.stdout);
    d.spec.template.spec.hostNetwork = true;
    await t.kubectl(['apply', '-f', '-'], { input: JSON.stringify(d) });
    const events = await eventually(async () => {
      const out = await t.kubectl([
        'get',
        'events',
        '-n',
        'guarded',
        '--field-selector',
        'reason=FailedCreate',
        '-o',
        'jsonpath={.items[*].message}',
      ]);
      return out.includes('violates PodSecurity') ? out : undefined;
    });
    expect(events).toMatch(
      /Error creating: pods "hostnet-[a-z0-9]+-[a-z0-9]+" is forbidden: violates PodSecurity "baseline:latest": host namespaces \(hostNetwork=true\)/,
    );
  });

  it('warns (but admits) under the warn label, for pods and for workload templates', async () => {
    const pod = await kubectlResult(['apply', '-f', '-'], hostile('warned'));
    expect(pod.code).toBe(0);
    expect(pod.stderr).toContain('Warning: would violate PodSecurity "baseline:v1.35": non-default capabilities');
    const job = await kubectlResult([
      'create',
      'job',
      'j',
      '-n',
      'warned',
      '--image=busybox',
      '--dry-run=client',
      '-o',
      'json',
    ]);
    const j = JSON.parse(job.stdout);
    j.spec.template.spec.containers[0].securityContext = { privileged: true };
    const applied = await kubectlResult(['apply', '-f', '-'], JSON.stringify(j));
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain(
      'Warning: would violate PodSecurity "baseline:v1.35": privileged (container "j" must not set securityContext.privileged=true)',
    );
  });
});

describe('field ownership of writes that are not applies', () => {
  const deployment = (image: string, replicas = 2) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: owners
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ${image}
`;

  it('kubectl set image takes the image over; a server-side apply without force conflicts, with kubectl`s report; force takes it back', async () => {
    await t.kubectl(['apply', '--server-side', '--field-manager=team', '-f', '-'], { input: deployment('nginx:1.25') });
    await t.kubectl(['set', 'image', '-n', 'owners', 'deployment/web', 'web=nginx:1.27']);
    const d = parseYaml(
      await t.kubectl(['get', 'deployment', 'web', '-n', 'owners', '-o', 'yaml', '--show-managed-fields']),
    );
    const setter = d.metadata.managedFields.find((m: { manager: string }) => m.manager === 'kubectl-set');
    expect(setter).toMatchObject({ operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1' });
    expect(setter.fieldsV1).toEqual({
      'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { 'f:image': {} } } } } },
    });

    const r = await kubectlResult(
      ['apply', '--server-side', '--field-manager=team', '-f', '-'],
      deployment('nginx:1.25'),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl-set" using apps/v1: .spec.template.spec.containers[name="web"].image',
    );
    expect(
      await t.kubectl([
        'get',
        'deployment',
        'web',
        '-n',
        'owners',
        '-o',
        'jsonpath={.spec.template.spec.containers[0].image}',
      ]),
    ).toBe('nginx:1.27');

    await t.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=team', '-f', '-'], {
      input: deployment('nginx:1.25'),
    });
    const after = parseYaml(
      await t.kubectl(['get', 'deployment', 'web', '-n', 'owners', '-o', 'yaml', '--show-managed-fields']),
    );
    expect(after.spec.template.spec.containers[0].image).toBe('nginx:1.25');
    // The setter lost the field, and with it its entry (it owned nothing else).
    expect(after.metadata.managedFields.map((m: { manager: string }) => m.manager)).not.toContain('kubectl-set');
  });

  it('an apply over what kubectl create made conflicts on the fields it changes (several, grouped per manager)', async () => {
    await t.kubectl(['create', 'configmap', 'settings', '-n', 'owners', '--from-literal=a=1', '--from-literal=b=2']);
    const cm = (a: string, b: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: owners}\ndata: {a: "${a}", b: "${b}"}\n`;
    // Same values: shared ownership, no conflict.
    await t.kubectl(['apply', '--server-side', '--field-manager=team', '-f', '-'], { input: cm('1', '2') });
    const r = await kubectlResult(['apply', '--server-side', '--field-manager=team', '-f', '-'], cm('10', '20'));
    expect(r.stderr).toContain(
      'Apply failed with 2 conflicts: conflicts with "kubectl-create" using v1:\n- .data.a\n- .data.b',
    );
  });
});

describe('object names by the rule of their kind', () => {
  it('refuses a Service named a.b (a DNS-1035 label) with the API server`s 422 and its cause', async () => {
    const r = await kubectlResult(['create', 'service', 'clusterip', 'a.b', '-n', 'owners', '--tcp=80']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `Service "a.b" is invalid: metadata.name: Invalid value: "a.b": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
    );
    expect(await t.kubectl(['get', 'services', '-n', 'owners', '-o', 'name'])).not.toContain('a.b');
  });

  it('refuses a Namespace named a.b (a DNS-1123 label)', async () => {
    const r = await kubectlResult(['create', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label must consist of`,
    );
  });

  it('accepts a ConfigMap named a.b (a DNS-1123 subdomain) and a ClusterRole named system:foo (a path segment)', async () => {
    await t.kubectl(['create', 'configmap', 'a.b', '-n', 'owners', '--from-literal=k=v']);
    expect(await t.kubectl(['get', 'configmap', 'a.b', '-n', 'owners', '-o', 'jsonpath={.data.k}'])).toBe('v');
    await t.kubectl(['create', 'clusterrole', 'system:foo', '--verb=get', '--resource=pods']);
    expect(await t.kubectl(['get', 'clusterrole', 'system:foo', '-o', 'jsonpath={.metadata.name}'])).toBe('system:foo');
    // The subdomain rule still holds where it applies: capitals and colons are not for ConfigMaps.
    const refused = await kubectlResult(['create', 'configmap', 'system:foo', '-n', 'owners']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('ConfigMap "system:foo" is invalid: metadata.name: Invalid value: "system:foo"');
  });
});
