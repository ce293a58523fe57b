// The Helm chart (issue 18 §3) with the real helm 4 binary: `helm lint --strict` and `helm template` of the default
// values and of a production-like values file (charts/kubegraph/ci/production-values.yaml), the rendered objects
// checked (probes, security context, anti-affinity, Services on the README's ports, HPA and PDB for the gateway,
// NetworkPolicies letting only the gateway reach the subgraphs, secrets from Secrets, every variable documented, tracing
// switched on by values), and
// `helm install` into the sandbox, after which every Deployment rolls out. RBAC and in-cluster mode:
// test/deploy-chart-rbac.test.ts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SUBGRAPHS } from '../gateway/subgraphs.js';
import { CHART, helmIn, renderChart, type K8sObject, type RenderedChart } from './harness/chart.js';
import { entryOf, portOf, readCompose, readmeVariables, ROOT } from './harness/deploy.js';
import { startTestSandbox, type TestSandbox } from './harness/sandbox.js';

const PRODUCTION = join(CHART, 'ci/production-values.yaml');
const SERVICES = ['gateway', ...Object.keys(SUBGRAPHS)];
const home = mkdtempSync(join(tmpdir(), 'kubegraph-chart-'));
const helm = helmIn(home);
afterAll(() => rmSync(home, { recursive: true, force: true }));

interface Container {
  name: string;
  image: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
  ports: { containerPort: number }[];
  livenessProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
  startupProbe?: { httpGet: { path: string } };
  securityContext: Record<string, unknown>;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
}
type Deployment = K8sObject & {
  spec: {
    replicas?: number;
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        automountServiceAccountToken: boolean;
        securityContext: Record<string, unknown>;
        affinity: { podAntiAffinity: Record<string, unknown> };
        containers: Container[];
      };
    };
  };
};

const componentOf = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'];
const deployments = (r: RenderedChart) => r.ofKind<Deployment>('Deployment');
const deploymentOf = (r: RenderedChart, service: string) => deployments(r).find((d) => componentOf(d) === service)!;
const envOf = (d: Deployment) => Object.fromEntries(d.spec.template.spec.containers[0].env.map((e) => [e.name, e]));

describe('helm lint --strict', () => {
  it('passes with the default values and with the production-like values', async () => {
    expect(await helm(['lint', '--strict', CHART])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(await helm(['lint', '--strict', CHART, '-f', PRODUCTION])).toMatch(/0 chart\(s\) failed/);
  });

  it('refuses values values.schema.json forbids', async () => {
    for (const bad of [
      'logLevel=verbose',
      'gateway.port=70000',
      'auth.identitySecret=short',
      'postgresql.url=mysql://x',
      'tracing.samplingRatio=2',
      'tracing.otlpEndpoint=jaeger:4318',
      'apps.helmRbac.rules[0].verbs[0]=escalate',
      'apps.helmRbac.rules[0].resources[0]=*',
    ]) {
      await expect(helm(['lint', '--strict', CHART, '--set', bad]), bad).rejects.toThrow(
        /values don't meet the specifications|schema/,
      );
    }
  });
});

describe('helm template, default values', () => {
  let r: RenderedChart;
  beforeAll(async () => {
    r = await renderChart(helm, []);
  });

  it('runs every service from the one image with its entry point, on the README port, with probes', () => {
    expect(deployments(r).map(componentOf).sort()).toEqual([...SERVICES].sort());
    for (const service of SERVICES) {
      const d = deploymentOf(r, service);
      const [c] = d.spec.template.spec.containers;
      expect(c.image).toBe('kubegraph:0.1.0');
      expect(c.args).toEqual([entryOf(service)]);
      expect(c.ports[0].containerPort).toBe(portOf(service));
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(c.startupProbe?.httpGet.path).toBe('/healthz');
      expect(c.resources.requests?.cpu).toBeTruthy();
      expect(c.resources.limits?.memory).toBeTruthy();
    }
  });

  it('runs as a non-root user, read-only, no privilege escalation, no capabilities; spreads replicas over nodes', () => {
    for (const d of deployments(r)) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.containers[0].securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      const anti = JSON.stringify(pod.affinity.podAntiAffinity);
      expect(anti).toContain('kubernetes.io/hostname');
      expect(anti).toContain(`"app.kubernetes.io/component":"${componentOf(d)}"`);
      // Only the subgraphs that read the cluster carry the service account's token.
      expect(pod.automountServiceAccountToken).toBe(componentOf(d) !== 'gateway');
    }
  });

  it("launches workloads' node as docker-compose.yml does (NODE_OPTIONS: a smaller young generation), no other", () => {
    // bench/workloads-memory.bench.ts measures the deployed subgraph with compose's variables: the chart must match.
    const compose = readCompose().services;
    for (const service of SERVICES) {
      const chart = envOf(deploymentOf(r, service)).NODE_OPTIONS?.value;
      expect(chart, service).toBe(compose[service]?.environment?.NODE_OPTIONS ?? undefined);
    }
    expect(envOf(deploymentOf(r, 'workloads')).NODE_OPTIONS?.value).toMatch(/^--max-semi-space-size=\d+$/);
  });

  it("sets only variables the README documents, the gateway's URLs pointing at each subgraph's Service and port", () => {
    const documented = readmeVariables();
    for (const d of deployments(r))
      for (const name of Object.keys(envOf(d)))
        expect(documented.has(name), `${componentOf(d)}: ${name} is not in the README's configuration table`).toBe(
          true,
        );
    const gateway = envOf(deploymentOf(r, 'gateway'));
    const services = r.ofKind<K8sObject & { spec: { ports: { port: number }[]; selector: Record<string, string> } }>(
      'Service',
    );
    for (const [name, { env }] of Object.entries(SUBGRAPHS)) {
      const url = new URL(gateway[env].value!);
      const svc = services.find((s) => s.metadata.name === url.hostname)!;
      expect(svc, `${env} names a Service`).toBeDefined();
      expect(svc.spec.selector['app.kubernetes.io/component']).toBe(name);
      expect(Number(url.port)).toBe(svc.spec.ports[0].port);
      expect(Number(url.port)).toBe(portOf(name));
    }
  });

  it('keeps secrets in a Secret: identity secret, internal token and admin password, generated', () => {
    const secret = r.ofKind<K8sObject & { data: Record<string, string> }>('Secret')[0];
    expect(Object.keys(secret.data).sort()).toEqual(['admin-password', 'identity-secret', 'internal-token']);
    for (const v of Object.values(secret.data))
      expect(Buffer.from(v, 'base64').toString().length).toBeGreaterThanOrEqual(16);
    for (const d of deployments(r)) {
      const ref = envOf(d).KUBEGRAPH_IDENTITY_SECRET.valueFrom!.secretKeyRef;
      expect(ref).toEqual({ name: secret.metadata.name, key: 'identity-secret' });
    }
    expect(envOf(deploymentOf(r, 'accounts')).KUBEGRAPH_ADMIN_PASSWORD.valueFrom!.secretKeyRef.key).toBe(
      'admin-password',
    );
  });

  it('scales the gateway with an HPA and keeps it available with a PDB', () => {
    const gateway = deploymentOf(r, 'gateway');
    const [hpa] = r.ofKind<
      K8sObject & { spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number } }
    >('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: gateway.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    // The HPA owns the gateway's replica count.
    expect(gateway.spec.replicas).toBeUndefined();
    const [pdb] = r.ofKind<K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(
      'PodDisruptionBudget',
    );
    expect(pdb.spec.selector.matchLabels).toEqual(
      Object.fromEntries(
        Object.entries(gateway.spec.template.metadata.labels).filter(
          ([k]) => k !== 'app.kubernetes.io/version' && k !== 'helm.sh/chart' && k !== 'app.kubernetes.io/managed-by',
        ),
      ),
    );
  });

  it('lets only the gateway reach the subgraphs (and workloads reach accounts), over their http port', () => {
    type Policy = K8sObject & {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        ingress: { from?: { podSelector?: { matchLabels: Record<string, string> } }[] }[];
      };
    };
    const policies = r.ofKind<Policy>('NetworkPolicy');
    for (const name of Object.keys(SUBGRAPHS)) {
      const p = policies.find((x) => x.spec.podSelector.matchLabels['app.kubernetes.io/component'] === name)!;
      expect(p, name).toBeDefined();
      const from = p.spec.ingress.flatMap((i) => i.from ?? [{}]);
      const allowed = from.map((f) => f.podSelector?.matchLabels['app.kubernetes.io/component'] ?? 'ANY').sort();
      expect(allowed).toEqual(name === 'accounts' ? ['gateway', 'workloads'] : ['gateway']);
    }
  });

  it("binds the ClusterRole to the pods' service accounts, helm's only to the apps subgraph's; NOTES say how to log in", async () => {
    type Binding = K8sObject & { subjects: { name: string; namespace: string }[]; roleRef: { name: string } };
    const byName = <T extends K8sObject>(kind: string, name: string) =>
      r.ofKind<T>(kind).find((o) => o.metadata.name === name)!;
    const binding = byName<Binding>('ClusterRoleBinding', 'kg-kubegraph');
    const helmBinding = byName<Binding>('ClusterRoleBinding', 'kg-kubegraph-helm');
    expect(byName('ClusterRole', 'kg-kubegraph')).toBeDefined();
    expect(binding.roleRef.name).toBe('kg-kubegraph');
    expect(helmBinding.roleRef.name).toBe('kg-kubegraph-helm');
    const accounts = r.ofKind('ServiceAccount').map((sa) => sa.metadata.name);
    const subject = (name: string) => ({ kind: 'ServiceAccount', name, namespace: 'kubegraph' });
    expect(accounts.sort()).toEqual(['kg-kubegraph', 'kg-kubegraph-apps']);
    // Every pod's service account holds the ClusterRole; only the apps subgraph's holds helm's rights.
    expect(binding.subjects).toEqual([subject('kg-kubegraph'), subject('kg-kubegraph-apps')]);
    expect(helmBinding.subjects).toEqual([subject('kg-kubegraph-apps')]);
    for (const d of deployments(r))
      expect(d.spec.template.spec.serviceAccountName).toBe(
        componentOf(d) === 'apps' ? 'kg-kubegraph-apps' : 'kg-kubegraph',
      );
    // Switched off: one service account for every pod, no helm role.
    const off = await renderChart(helm, ['--set', 'apps.helmRbac.enabled=false']);
    expect(off.ofKind('ServiceAccount').map((sa) => sa.metadata.name)).toEqual(['kg-kubegraph']);
    expect(off.ofKind('ClusterRole').map((c) => c.metadata.name)).toEqual(['kg-kubegraph']);
    for (const d of deployments(off)) expect(d.spec.template.spec.serviceAccountName).toBe('kg-kubegraph');
    const notes = await helm(['install', 'kg', CHART, '-n', 'kubegraph', '--dry-run=client']);
    expect(notes).toMatch(/login\(username: \\"admin\\"/);
    expect(notes).toMatch(/jsonpath='\{\.data\.admin-password\}'/);
    expect(notes).toMatch(/WARNING: no postgresql\.url/);
  });
});

describe('helm template, production-like values', () => {
  let r: RenderedChart;
  beforeAll(async () => {
    r = await renderChart(helm, ['-f', PRODUCTION]);
  });

  it('switches tracing on in every service with the values, in the variables the README documents', async () => {
    const production = parseYaml(readFileSync(PRODUCTION, 'utf8')) as {
      tracing: { otlpEndpoint: string; samplingRatio: number };
    };
    const documented = readmeVariables();
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const d of deployments(r)) {
      const env = envOf(d);
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT?.value, componentOf(d)).toBe(production.tracing.otlpEndpoint);
      expect(Number(env.OTEL_TRACES_SAMPLER_ARG?.value)).toBe(production.tracing.samplingRatio);
      // A sampler the README's tracing table names, which reads OTEL_TRACES_SAMPLER_ARG as the ratio.
      expect(readme).toContain(`\`${env.OTEL_TRACES_SAMPLER?.value}\``);
      expect(env.OTEL_TRACES_SAMPLER?.value).toBe('parentbased_traceidratio');
      for (const name of Object.keys(env).filter((n) => n.startsWith('OTEL_')))
        expect(documented.has(name), `${name} in the README's tables`).toBe(true);
    }
    // Off by default: no OTEL_ variable at all, so the preload loads nothing.
    for (const d of deployments(await renderChart(helm, [])))
      expect(Object.keys(envOf(d)).filter((n) => n.startsWith('OTEL_'))).toEqual([]);
    // `--set` hands helm the ratio as a string: accepted, and passed on as given.
    const set = await renderChart(helm, [
      '--set',
      'tracing.otlpEndpoint=http://jaeger:4318',
      '--set',
      'tracing.samplingRatio=0.25',
    ]);
    expect(envOf(deploymentOf(set, 'apps')).OTEL_TRACES_SAMPLER_ARG.value).toBe('0.25');
  });

  it('takes every credential from the Secrets the operator manages, and creates none', () => {
    expect(r.ofKind('Secret')).toEqual([]);
    const secretRef = (service: string, name: string) => envOf(deploymentOf(r, service))[name]?.valueFrom?.secretKeyRef;
    expect(secretRef('accounts', 'DATABASE_URL')).toEqual({ name: 'kubegraph-database', key: 'url' });
    expect(secretRef('gateway', 'REDIS_URL')).toEqual({ name: 'kubegraph-redis', key: 'url' });
    expect(secretRef('logging', 'ELASTICSEARCH_PASSWORD')).toEqual({
      name: 'kubegraph-elasticsearch',
      key: 'password',
    });
    for (const d of deployments(r))
      expect(envOf(d).KUBEGRAPH_IDENTITY_SECRET.valueFrom!.secretKeyRef.name).toBe('kubegraph-auth');
    expect(secretRef('monitoring', 'METRICS_TOKEN')).toEqual({ name: 'kubegraph-auth', key: 'metrics-token' });
    expect(envOf(deploymentOf(r, 'monitoring')).PROMETHEUS_URL.value).toBe(
      'http://prometheus-operated.monitoring.svc:9090',
    );
    expect(envOf(deploymentOf(r, 'logging')).ELASTICSEARCH_CA_FILE.value).toBe('/etc/kubegraph/elasticsearch/ca.crt');
    // An external database: no embedded data volume.
    expect(envOf(deploymentOf(r, 'accounts')).ACCOUNTS_DATA_DIR).toBeUndefined();
  });

  it('pins the image, spreads replicas strictly, and admits the gateway only from the ingress namespace', () => {
    for (const d of deployments(r)) {
      expect(d.spec.template.spec.containers[0].image).toBe('registry.example.com/platform/kubegraph:0.1.0');
      expect(d.spec.template.spec.affinity.podAntiAffinity).toHaveProperty(
        'requiredDuringSchedulingIgnoredDuringExecution',
      );
    }
    const gatewayPolicy = r
      .ofKind<
        K8sObject & { spec: { podSelector: { matchLabels: Record<string, string> }; ingress: { from?: unknown[] }[] } }
      >('NetworkPolicy')
      .find((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/component'] === 'gateway')!;
    expect(JSON.stringify(gatewayPolicy.spec.ingress)).toContain('ingress-nginx');
    expect(deploymentOf(r, 'workloads').spec.replicas).toBe(2);
  });
});

describe('helm install into the sandbox', () => {
  let t: TestSandbox;
  beforeAll(async () => {
    t = await startTestSandbox({ speed: 20 });
    // The sandbox serves no policy/v1: a CRD of that group and kind stands in, so the PodDisruptionBudget installs.
    await t.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'poddisruptionbudgets.policy' },
        spec: {
          group: 'policy',
          scope: 'Namespaced',
          names: {
            plural: 'poddisruptionbudgets',
            singular: 'poddisruptionbudget',
            kind: 'PodDisruptionBudget',
            shortNames: ['pdb'],
          },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      }),
    });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('installs, and every Deployment rolls out', async () => {
    await t.helm(['install', 'kg', CHART, '-n', 'kubegraph', '--create-namespace', '--wait', '--timeout', '3m'], {
      timeoutMs: 240_000,
    });
    const names = (await t.kubectl(['-n', 'kubegraph', 'get', 'deployments', '-o', 'name'])).trim().split('\n');
    expect(names.length).toBe(SERVICES.length);
    for (const name of names)
      expect(
        await t.kubectl(['-n', 'kubegraph', 'rollout', 'status', name, '--timeout=120s'], { timeoutMs: 150_000 }),
      ).toMatch(/successfully rolled out/);
    const status = await t.helm(['status', 'kg', '-n', 'kubegraph']);
    expect(status).toMatch(/STATUS: deployed/);
    // A generated secret survives an upgrade (the chart reads it back).
    const before = await t.kubectl([
      '-n',
      'kubegraph',
      'get',
      'secret',
      'kg-kubegraph-auth',
      '-o',
      'jsonpath={.data.identity-secret}',
    ]);
    await t.helm(['upgrade', 'kg', CHART, '-n', 'kubegraph', '--wait', '--timeout', '3m'], { timeoutMs: 240_000 });
    const after = await t.kubectl([
      '-n',
      'kubegraph',
      'get',
      'secret',
      'kg-kubegraph-auth',
      '-o',
      'jsonpath={.data.identity-secret}',
    ]);
    expect(after).toBe(before);
    expect(before.length).toBeGreaterThan(20);
  }, 600_000);
});
