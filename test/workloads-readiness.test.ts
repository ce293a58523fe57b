// The workloads subgraph's readiness on a cluster that refuses some optional kinds: the HPA group/version not served
// (404 on its LIST) and Secrets forbidden by RBAC (403). The subgraph still turns ready (core caches synced), pods
// and the other kinds still answer, the refused kinds answer UPSTREAM_UNAVAILABLE / FORBIDDEN, /metrics shows the
// per-kind cache state, and a kind that becomes allowed again is picked up by the retries. The subgraph is queried
// directly: this is its own readiness contract.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../services/common/log.js';
import { startWorkloadsSubgraph, type WorkloadsSubgraph } from '../services/workloads/server.js';
import { gql, gqlData } from './harness/graphql.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';

let t: TestSandbox;
let sg: WorkloadsSubgraph;
let base: string;
const warnings: { msg: string; fields?: Record<string, unknown> }[] = [];
const log: Logger = {
  debug: () => {},
  info: () => {},
  warn: (msg, fields) => warnings.push({ msg, fields }),
  error: () => {},
};

beforeAll(async () => {
  t = await startTestSandbox({ seed: { kind: 'demo' }, speed: 20 });
  // autoscaling/v2 is not served (404 for the HPA LIST); Secrets are forbidden (403).
  t.sandbox.store.registry.remove('autoscaling', 'v2', 'horizontalpodautoscalers');
  t.sandbox.server.faults.forbiddenResources = ['secrets'];
  sg = await startWorkloadsSubgraph({ port: 0, kubeConfig: t.kc, log });
  base = sg.url.replace(/\/graphql$/, '');
});

afterAll(async () => {
  await sg?.close();
  await t?.close();
});

describe('readiness with refused optional kinds', () => {
  it('turns ready without the refused kinds', async () => {
    await eventually(async () => (await fetch(`${base}/readyz`)).status === 200, 20_000, 'the subgraph to be ready');
    expect(sg.kube.isSynced('Pod')).toBe(true);
    expect(sg.kube.unavailable('HorizontalPodAutoscaler')?.status).toBe(404);
    expect(sg.kube.unavailable('Secret')?.status).toBe(403);
  });

  it('pods and the other kinds still answer', async () => {
    const d = await eventually(
      async () => {
        const r = await gqlData(sg.url, `{ pods(first: 100) { totalCount } services { totalCount } }`);
        return r.pods.totalCount > 0 && r.services.totalCount > 0 ? r : undefined;
      },
      20_000,
      'pods and services',
    );
    expect(d.pods.totalCount).toBeGreaterThan(0);
  });

  it('the HPA list answers UPSTREAM_UNAVAILABLE (service workloads)', async () => {
    const r = await gql(sg.url, `{ horizontalPodAutoscalers { totalCount } }`);
    expect(r.errors?.[0].extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(r.errors?.[0].extensions?.service).toBe('workloads');
    expect(r.errors?.[0].message).toContain('HorizontalPodAutoscaler');
  });

  it('the secrets list answers FORBIDDEN naming the kind', async () => {
    const r = await gql(sg.url, `{ secrets(namespace: "shop") { totalCount } }`);
    expect(r.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(r.errors?.[0].message).toContain('Secret');
    expect(r.errors?.[0].message).toContain('secrets is forbidden');
  });

  it('reports each refused kind once at warn level', async () => {
    const refused = warnings.filter((w) => w.msg.startsWith('kind unavailable'));
    expect(refused.filter((w) => w.fields?.kind === 'Secret').map((w) => w.fields?.status)).toEqual([403]);
    expect(refused.filter((w) => w.fields?.kind === 'HorizontalPodAutoscaler').map((w) => w.fields?.status)).toEqual([
      404,
    ]);
  });

  it('exposes the per-kind cache state in /metrics', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/kubegraph_workloads_cache_synced\{kind="Pod"[^}]*\} 1/);
    expect(text).toMatch(/kubegraph_workloads_cache_synced\{kind="Secret"[^}]*\} 0/);
    expect(text).toMatch(/kubegraph_workloads_cache_synced\{kind="HorizontalPodAutoscaler"[^}]*\} 0/);
  });

  it('picks a kind up once it is allowed again', async () => {
    t.sandbox.server.faults.forbiddenResources = [];
    const d = await eventually(
      async () => {
        const r = await gql(sg.url, `{ secrets(namespace: "shop") { totalCount } }`);
        return r.errors?.length ? undefined : r.data;
      },
      40_000,
      'the secrets cache to sync',
    );
    expect(d.secrets.totalCount).toBeGreaterThan(0);
    expect(sg.kube.unavailable('Secret')).toBeUndefined();
  }, 60_000);
});
