// applyYaml through the gateway against the sandbox, as real users (signed in, holding KubeSphere roles in the demo
// project shop of workspace demo-shop): all or nothing with the failing document named, dryRun, field-manager
// conflicts without force (after kubectl set image, or another client's patch) and force taking them over, what each
// role may have kubegraph apply (RBAC kinds, service-account tokens, role escalation), Pod Security in projects that
// createProject makes, and a YAML alias bomb.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './harness/stack.js';

const PASSWORD = 'apply-password-1';
const NS = 'shop';
const APPLY =
  'mutation($ns: String, $y: String!, $dry: Boolean, $force: Boolean) { applyYaml(namespace: $ns, yaml: $y, dryRun: $dry, force: $force) { apiVersion kind namespace name } }';

let stack: TestStack;
const tokens: Record<string, string> = {};

interface ApplyError {
  message: string;
  extensions?: {
    code?: string;
    document?: number;
    kind?: string;
    name?: string;
    reason?: string;
    causes?: { reason?: string; field?: string }[];
    managers?: string[];
    conflicts?: { field: string; manager: string }[];
  };
}

async function apply(who: string, yaml: string, opts: { ns?: string | null; dryRun?: boolean; force?: boolean } = {}) {
  const r = await stack.gqlAs<{
    applyYaml: { apiVersion: string; kind: string; namespace: string | null; name: string }[];
  }>(tokens[who], APPLY, {
    ns: opts.ns === undefined ? NS : opts.ns,
    y: yaml,
    dry: opts.dryRun,
    force: opts.force,
  });
  return { data: r.data?.applyYaml, errors: r.errors as ApplyError[] | undefined };
}

const core = () => stack.cluster.core;
const rbac = () => stack.cluster.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
const configMapNames = async (ns = NS) =>
  (await core().listNamespacedConfigMap({ namespace: ns })).items.map((c) => c.metadata!.name!);

const configMap = (name: string, value = 'v') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  key: ${value}\n`;

beforeAll(async () => {
  stack = await startTestStack();
  expect((await stack.gql('mutation { createWorkspace(name: "demo-shop") { name } }')).errors).toBeUndefined();
  const users: [string, string, string][] = [
    ['operator', 'project', 'project-operator'],
    ['padmin', 'project', 'project-admin'],
    ['wsadmin', 'workspace', 'workspace-admin'],
  ];
  for (const [username, scope, role] of users) {
    expect(
      (
        await stack.gql(
          `mutation($p: String!) { createUser(input: { username: "${username}", password: $p }) { username } }`,
          { p: PASSWORD },
        )
      ).errors,
    ).toBeUndefined();
    expect(
      (
        await stack.gql(
          `mutation { addWorkspaceMember(workspace: "demo-shop", username: "${username}", role: "${scope === 'workspace' ? role : 'workspace-regular'}") { name } }`,
        )
      ).errors,
    ).toBeUndefined();
    if (scope === 'project')
      expect(
        (
          await stack.gql(
            `mutation { addProjectMember(project: "${NS}", username: "${username}", role: "${role}") { name } }`,
          )
        ).errors,
      ).toBeUndefined();
    tokens[username] = await stack.login(username, PASSWORD);
  }
  tokens.admin = stack.adminToken;
  // The ClusterRoles every real cluster has (bootstrap policy), as far as these tests need them.
  await rbac().createClusterRole({
    body: {
      metadata: { name: 'cluster-admin' },
      rules: [
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        { nonResourceURLs: ['*'], verbs: ['*'] },
      ],
    },
  });
  await rbac().createClusterRole({
    body: {
      metadata: { name: 'view' },
      rules: [
        {
          apiGroups: ['', 'apps', 'batch'],
          resources: ['pods', 'services', 'configmaps', 'deployments', 'jobs', 'namespaces'],
          verbs: ['get', 'list', 'watch'],
        },
      ],
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

describe('applyYaml: all or nothing', () => {
  it('a second document the API server refuses: nothing is applied, the error names document 2 and the server`s reason and causes', async () => {
    const yaml = `${configMap('first-of-two')}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: no-containers\nspec:\n  containers: []\n`;
    const r = await apply('operator', yaml);
    expect(r.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0].message).toBe(
      'document 2 (Pod no-containers): Pod "no-containers" is invalid: spec.containers: Required value',
    );
    expect(r.errors?.[0].extensions).toMatchObject({
      document: 2,
      kind: 'Pod',
      name: 'no-containers',
      reason: 'Invalid',
      causes: [{ reason: 'FieldValueRequired', field: 'spec.containers' }],
    });
    expect(await configMapNames()).not.toContain('first-of-two');
  });

  it('a second document the caller may not apply: nothing is applied, FORBIDDEN names document 2', async () => {
    const yaml = `${configMap('first-of-two')}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\nrules: []\n`;
    const r = await apply('operator', yaml);
    expect(r.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(r.errors?.[0].message).toMatch(/^document 2 \(Role r\): /);
    expect(await configMapNames()).not.toContain('first-of-two');
  });

  it('dryRun answers the same ResourceRefs and changes nothing; without it the same YAML is applied', async () => {
    const yaml = `${configMap('dry-one')}---\n${configMap('dry-two')}`;
    const dry = await apply('operator', yaml, { dryRun: true });
    expect(dry.errors).toBeUndefined();
    const refs = [
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'dry-one' },
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'dry-two' },
    ];
    expect(dry.data).toEqual(refs);
    expect(await configMapNames()).not.toContain('dry-one');
    // A dry run of an update leaves the object as it was too.
    expect((await apply('operator', configMap('dry-one', 'before'))).errors).toBeUndefined();
    expect((await apply('operator', configMap('dry-one', 'after'), { dryRun: true })).errors).toBeUndefined();
    expect((await core().readNamespacedConfigMap({ namespace: NS, name: 'dry-one' })).data).toEqual({ key: 'before' });
    const real = await apply('operator', yaml);
    expect(real.data).toEqual(refs);
    expect(await configMapNames()).toEqual(expect.arrayContaining(['dry-one', 'dry-two']));
  });

  it('a dry run reports what the API server would refuse, naming the document', async () => {
    const r = await apply(
      'operator',
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: bad-svc\nspec:\n  ports: []\n`,
      { dryRun: true },
    );
    expect(r.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      document: 1,
      kind: 'Service',
      name: 'bad-svc',
    });
  });
});

describe('applyYaml: no silent overwrites', () => {
  const deployment = (image: string, replicas = 1) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: owned
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: owned}
  template:
    metadata:
      labels: {app: owned}
    spec:
      containers:
      - name: web
        image: ${image}
`;
  const image = async () =>
    (await stack.cluster.apps.readNamespacedDeployment({ namespace: NS, name: 'owned' })).spec!.template.spec!
      .containers[0].image;

  it('after kubectl set image (and another client`s patch), re-applying is CONFLICT naming fields and managers; force takes them over', async () => {
    expect((await apply('operator', deployment('nginx:1.25'))).errors).toBeUndefined();
    await stack.cluster.kubectl(['set', 'image', '-n', NS, 'deployment/owned', 'web=nginx:1.27']);
    // Another tool (an autoscaler, say) through client-node, with its own field manager.
    await stack.cluster.objects.patch(
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'owned', namespace: NS }, spec: { replicas: 3 } },
      undefined,
      undefined,
      'scaler',
      undefined,
      k8s.PatchStrategy.MergePatch,
    );

    const r = await apply('operator', deployment('nginx:1.25'));
    const e = r.errors?.[0];
    expect(e?.extensions?.code).toBe('CONFLICT');
    expect(e?.message).toBe(
      'document 1 (Deployment owned): Apply failed with 2 conflicts: conflicts with "kubectl-set" using apps/v1:\n- .spec.template.spec.containers[name="web"].image\n' +
        'conflicts with "scaler" using apps/v1:\n- .spec.replicas (apply with force: true to take these fields over)',
    );
    expect(e?.extensions?.managers).toEqual(['kubectl-set', 'scaler']);
    // In the API server's order of causes.
    expect(e?.extensions?.conflicts).toHaveLength(2);
    expect(e?.extensions?.conflicts).toEqual(
      expect.arrayContaining([
        { field: '.spec.template.spec.containers[name="web"].image', manager: 'kubectl-set' },
        { field: '.spec.replicas', manager: 'scaler' },
      ]),
    );
    expect(await image()).toBe('nginx:1.27');

    const forced = await apply('operator', deployment('nginx:1.25'), { force: true });
    expect(forced.errors).toBeUndefined();
    expect(await image()).toBe('nginx:1.25');
    const d = await stack.cluster.apps.readNamespacedDeployment({ namespace: NS, name: 'owned' });
    expect(d.spec?.replicas).toBe(1);
    // kubegraph owns the fields now; the others lost them (and their entries, owning nothing else).
    expect(d.metadata?.managedFields?.map((m) => m.manager)).toEqual(['kubegraph']);
  });
});

describe('applyYaml: no escalation', () => {
  const roleBinding = (
    name: string,
    kind: 'Role' | 'ClusterRole',
    role: string,
  ) => `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ${name}
subjects:
- kind: ServiceAccount
  name: default
  namespace: ${NS}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ${kind}
  name: ${role}
`;
  const role = (name: string, rules: string) =>
    `apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: ${name}\nrules:\n${rules}`;
  const podReader = '- apiGroups: [""]\n  resources: [pods, pods/log]\n  verbs: [get, list, watch]\n';
  const tokenSecret = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: sa-token\n  annotations:\n    kubernetes.io/service-account.name: default\ntype: kubernetes.io/service-account-token\n`;
  const bindings = async () =>
    (await rbac().listNamespacedRoleBinding({ namespace: NS })).items.map((b) => b.metadata!.name!);
  const roles = async () => (await rbac().listNamespacedRole({ namespace: NS })).items.map((b) => b.metadata!.name!);

  it('a project operator may not create a RoleBinding (not even to a small role), a Role, or a service-account token Secret', async () => {
    for (const [yaml, what] of [
      [roleBinding('sa-admin', 'ClusterRole', 'cluster-admin'), 'RBAC objects (roles and role bindings)'],
      [roleBinding('sa-view', 'ClusterRole', 'view'), 'RBAC objects (roles and role bindings)'],
      [role('reader', podReader), 'RBAC objects (roles and role bindings)'],
      [tokenSecret, 'service-account token Secrets'],
    ] as const) {
      const r = await apply('operator', yaml);
      expect(r.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(r.errors?.[0].message).toContain(
        `operator may not apply ${what} in project ${NS}: only project admins may`,
      );
    }
    expect(await bindings()).not.toEqual(expect.arrayContaining(['sa-admin']));
    expect(await bindings()).not.toContain('sa-view');
    expect(await roles()).not.toContain('reader');
    expect((await core().listNamespacedSecret({ namespace: NS })).items.map((s) => s.metadata!.name)).not.toContain(
      'sa-token',
    );
  });

  it('a project admin (and a workspace admin) may not bind cluster-admin, nor a Role granting more than a project admin has', async () => {
    for (const who of ['padmin', 'wsadmin']) {
      const r = await apply(who, roleBinding('sa-admin', 'ClusterRole', 'cluster-admin'));
      expect(r.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(r.errors?.[0].message).toBe(
        `document 1 (RoleBinding sa-admin): ${who} may not bind ClusterRole cluster-admin: it grants more than a project admin has (verb "*"; nonResourceURLs *)`,
      );
    }
    // A Role of its own that could relabel the namespace (its workspace, its Pod Security level), bound in the same YAML.
    const relabel = `${role('ns-editor', '- apiGroups: [""]\n  resources: [namespaces]\n  verbs: [get, update, patch]\n')}---\n${roleBinding('sa-ns-editor', 'Role', 'ns-editor')}`;
    const r = await apply('padmin', relabel);
    expect(r.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(r.errors?.[0].message).toBe(
      'document 1 (Role ns-editor): a Role may not grant more than a project admin has: update, patch on namespaces',
    );
    // A binding to a role that does not exist (yet) would take whatever rights that name is given later.
    expect(
      (await apply('padmin', roleBinding('sa-later', 'ClusterRole', 'made-later'))).errors?.[0].extensions?.code,
    ).toBe('FORBIDDEN');
    expect(await bindings()).toEqual(expect.not.arrayContaining(['sa-admin', 'sa-ns-editor', 'sa-later']));
    expect(await roles()).not.toContain('ns-editor');
  });

  it('a project admin may bind view, and a Role of the project (from the same YAML), and make a token Secret', async () => {
    const yaml = `${role('reader', podReader)}---\n${roleBinding('sa-reader', 'Role', 'reader')}---\n${roleBinding('sa-view', 'ClusterRole', 'view')}`;
    const r = await apply('padmin', yaml);
    expect(r.errors).toBeUndefined();
    expect(await bindings()).toEqual(expect.arrayContaining(['sa-reader', 'sa-view']));
    expect((await apply('padmin', tokenSecret)).errors).toBeUndefined();
  });

  it('a platform admin may bind anything', async () => {
    expect((await apply('admin', roleBinding('sa-admin', 'ClusterRole', 'cluster-admin'))).errors).toBeUndefined();
    expect(await bindings()).toContain('sa-admin');
  });
});

describe('Pod Security in projects createProject makes', () => {
  const PSA = 'psa-proj';
  const pod = (name: string, spec: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

  beforeAll(async () => {
    expect(
      (await stack.gql(`mutation { createProject(workspace: "demo-shop", name: "${PSA}") { name } }`)).errors,
    ).toBeUndefined();
    expect(
      (
        await stack.gql(
          `mutation { addProjectMember(project: "${PSA}", username: "operator", role: "project-operator") { name } }`,
        )
      ).errors,
    ).toBeUndefined();
    tokens.operator = await stack.login('operator', PASSWORD);
  });

  it('new projects enforce the baseline level; only a platform admin may ask for privileged', async () => {
    expect((await core().readNamespace({ name: PSA })).metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe(
      'baseline',
    );
    const asked = await stack.gqlAs(
      tokens.wsadmin,
      'mutation { createProject(workspace: "demo-shop", name: "psa-open", podSecurity: "privileged") { name } }',
    );
    expect(asked.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    await expect(core().readNamespace({ name: 'psa-open' })).rejects.toThrow();
    const strict = await stack.gqlAs(
      tokens.wsadmin,
      'mutation { createProject(workspace: "demo-shop", name: "psa-strict", podSecurity: "restricted") { name } }',
    );
    expect(strict.errors).toBeUndefined();
    expect(
      (await core().readNamespace({ name: 'psa-strict' })).metadata?.labels?.['pod-security.kubernetes.io/enforce'],
    ).toBe('restricted');
    expect(
      (
        await stack.gql(
          'mutation { createProject(workspace: "demo-shop", name: "psa-host", podSecurity: "privileged") { name } }',
        )
      ).errors,
    ).toBeUndefined();
    expect(
      (await core().readNamespace({ name: 'psa-host' })).metadata?.labels?.['pod-security.kubernetes.io/enforce'],
    ).toBe('privileged');
  });

  it.each([
    [
      'privileged',
      pod('priv', '  containers:\n  - name: c\n    image: busybox\n    securityContext:\n      privileged: true\n'),
      'privileged (container "c" must not set securityContext.privileged=true)',
    ],
    [
      'hostPath',
      pod(
        'hostpath',
        '  containers:\n  - name: c\n    image: busybox\n  volumes:\n  - name: root\n    hostPath:\n      path: /\n',
      ),
      'hostPath volumes (volume "root")',
    ],
    [
      'hostNetwork',
      pod('hostnet', '  hostNetwork: true\n  containers:\n  - name: c\n    image: busybox\n'),
      'host namespaces (hostNetwork=true)',
    ],
  ])('a %s pod is refused with the Pod Security text, and not created', async (_, yaml, detail) => {
    const name = /name: (\S+)/.exec(yaml)![1];
    const r = await apply('operator', yaml, { ns: PSA });
    expect(r.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(r.errors?.[0].message).toBe(
      `document 1 (Pod ${name}): pods "${name}" is forbidden: violates PodSecurity "baseline:latest": ${detail}`,
    );
    expect((await core().listNamespacedPod({ namespace: PSA })).items).toEqual([]);
  });

  it('a plain pod is admitted', async () => {
    expect(
      (await apply('operator', pod('plain', '  containers:\n  - name: c\n    image: busybox\n'), { ns: PSA })).errors,
    ).toBeUndefined();
  });
});

describe('applyYaml input', () => {
  it('a YAML alias bomb is BAD_USER_INPUT, not an internal error', async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const bomb = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n${lines.join('\n')}\n`;
    const r = await apply('operator', bomb);
    expect(r.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0].message).toMatch(/^document 1: invalid YAML: .*alias/i);
  });
});
