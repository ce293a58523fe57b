// Helm releases through the gateway (issue 16 §2): a chart repository made with the real helm and served on 127.0.0.1,
// releases installed, upgraded, rolled back and uninstalled with the apps subgraph (the real helm binary against the
// sandbox), each step checked with the real `helm list`/`helm history`/`helm get values` and kubectl; releases made
// with the helm binary itself seen and their changes sent to helmReleaseChanged; a failed install, and a release stuck
// in pending-upgrade recovered by a rollback.
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseRecord } from '../services/apps/clients/release-secrets.js';
import { buildChartRepo, serveChartRepo, type BuiltChartRepo, type ChartRepoServer } from './harness/charts.js';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';

let stack: TestStack;
let repo: BuiltChartRepo;
let served: ChartRepoServer;
let operatorToken: string;
let ws: Client;
const NS = 'shop';
const PASSWORD = 'apps-password-1';

interface Operation {
  id: string;
  state: string;
  kind: string;
  message: string | null;
  finishedAt: string | null;
}

beforeAll(async () => {
  [stack, repo] = await Promise.all([startTestStack(), buildChartRepo()]);
  served = await serveChartRepo(repo.dir);
  const added = await stack.gql(
    `mutation($u: String!) { addHelmRepository(input: { name: "charts", url: $u }) { name } }`,
    {
      u: served.url,
    },
  );
  expect(added.errors).toBeUndefined();
  // A project operator of shop: who installs releases here.
  expect((await stack.gql('mutation { createWorkspace(name: "demo-shop") { name } }')).errors).toBeUndefined();
  for (const m of [
    `mutation($p: String!) { createUser(input: { username: "oscar", password: $p }) { username } }`,
    'mutation { addWorkspaceMember(workspace: "demo-shop", username: "oscar", role: "workspace-regular") { name } }',
    'mutation { addProjectMember(project: "shop", username: "oscar", role: "project-operator") { name } }',
  ])
    expect((await stack.gql(m, { p: PASSWORD })).errors).toBeUndefined();
  operatorToken = await stack.login('oscar', PASSWORD);
  ws = createClient({
    url: stack.gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${operatorToken}` },
  });
}, 120_000);
afterAll(async () => {
  await ws?.dispose();
  await served?.close();
  repo?.cleanup();
  await stack?.close();
});

const asOperator = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) =>
  stack.gqlAs<T>(operatorToken, query, variables);

/**
 * Every state helmOperation sends for an operation, up to its end (over graphql-ws, through the gateway): the
 * subscription completes right after the last state.
 */
async function follow(id: string): Promise<Operation[]> {
  const seen: Operation[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.subscribe<{ helmOperation: Operation }>(
      {
        query: 'subscription($id: ID!) { helmOperation(id: $id) { id state kind message finishedAt } }',
        variables: { id },
      },
      {
        next: (r) => {
          if (r.errors) return reject(new Error(JSON.stringify(r.errors)));
          seen.push(r.data!.helmOperation);
        },
        error: reject,
        complete: () => {
          const lastState = seen.at(-1)?.state;
          if (lastState === undefined || lastState === 'RUNNING')
            reject(new Error(`helmOperation completed before the operation ended: ${JSON.stringify(seen)}`));
          else resolve();
        },
      },
    );
  });
  // Nothing after the end state: exactly one of them, last.
  expect(seen.filter((s) => s.state !== 'RUNNING')).toHaveLength(1);
  return seen;
}

/** Runs a release mutation as the operator and follows the operation to its end; the last state. */
async function operate(mutation: string, variables: Record<string, unknown>): Promise<Operation> {
  const r = await asOperator<Record<string, Operation>>(mutation, variables);
  expect(r.errors).toBeUndefined();
  const op = Object.values(r.data!)[0];
  expect(op.state).toBe('RUNNING');
  const states = await follow(op.id);
  return states[states.length - 1];
}

const INSTALL = `mutation($name: String!, $chart: String!, $version: String, $values: String) {
  installRelease(namespace: "shop", name: $name, repository: "charts", chart: $chart, version: $version, values: $values) { id state kind }
}`;
const UPGRADE = `mutation($name: String!, $chart: String!, $version: String, $values: String) {
  upgradeRelease(namespace: "shop", name: $name, repository: "charts", chart: $chart, version: $version, values: $values) { id state kind }
}`;

const helmJson = async <T>(args: string[]): Promise<T> =>
  JSON.parse(await stack.cluster.helm([...args, '-o', 'json'])) as T;
const helmList = () =>
  helmJson<{ name: string; revision: string; status: string; chart: string }[]>([
    'list',
    '-n',
    NS,
    '--deployed',
    '--failed',
    '--pending',
  ]);
const helmHistory = (name: string) =>
  helmJson<{ revision: number; status: string; chart: string; description: string }[]>(['history', name, '-n', NS]);
const helmValues = (name: string) => helmJson<Record<string, unknown> | null>(['get', 'values', name, '-n', NS]);
const deployment = async (name: string) =>
  JSON.parse(await stack.cluster.kubectl(['get', 'deployment', name, '-n', NS, '-o', 'json'])) as {
    spec: { replicas: number };
    metadata: { annotations: Record<string, string> };
  };

const RELEASE = `query($name: String!) { helmRelease(namespace: "shop", name: $name) {
  name revision status chartName chartVersion appVersion description notes values
  history { revision status chartVersion description }
  workloads { namespace kind name ... on Deployment { replicas } }
} }`;
/** helmRelease as the query above reads it: the stored revision's fields, its values, history and workloads. */
interface ReleaseView extends Pick<
  ReleaseRecord,
  'name' | 'revision' | 'status' | 'chartName' | 'chartVersion' | 'appVersion' | 'description' | 'notes'
> {
  values: Record<string, unknown>;
  history: { revision: number; status: string; chartVersion: string; description: string }[];
  workloads: { namespace: string; kind: string; name: string; replicas?: number }[];
}
const release = async (name: string) =>
  (await asOperator<{ helmRelease: ReleaseView | null }>(RELEASE, { name })).data!.helmRelease;

describe('a release through its life, as a project operator', () => {
  it('installs a chart version with values', async () => {
    const done = await operate(INSTALL, {
      name: 'web',
      chart: 'webapp',
      version: '0.2.0',
      values: 'replicaCount: 2\n',
    });
    expect(done).toMatchObject({ state: 'SUCCEEDED', kind: 'INSTALL' });
    expect(done.message).toMatch(/STATUS: deployed/);
    expect(done.finishedAt).toBeTruthy();

    expect(await helmList()).toContainEqual(
      expect.objectContaining({ name: 'web', revision: '1', status: 'deployed', chart: 'webapp-0.2.0' }),
    );
    expect(await helmValues('web')).toEqual({ replicaCount: 2 });
    expect((await deployment('web-webapp')).spec.replicas).toBe(2);

    const r = await eventually(async () => (await release('web'))?.status === 'DEPLOYED' && release('web'));
    expect(r).toMatchObject({
      revision: 1,
      chartName: 'webapp',
      chartVersion: '0.2.0',
      appVersion: 'app-0.2.0',
      description: 'Install complete',
      values: { replicaCount: 2 },
    });
    expect(r!.notes).toMatch(/application URL/);
    expect(r!.workloads).toEqual([{ namespace: NS, kind: 'DEPLOYMENT', name: 'web-webapp', replicas: 2 }]);
    // And back: the workload knows its release.
    const w = await asOperator<{ workload: { helmRelease: { name: string; revision: number } | null } }>(
      '{ workload(namespace: "shop", kind: DEPLOYMENT, name: "web-webapp") { helmRelease { name revision } } }',
    );
    expect(w.data!.workload.helmRelease).toEqual({ name: 'web', revision: 1 });
    const other = await asOperator<{ workload: { helmRelease: unknown } }>(
      '{ workload(namespace: "shop", kind: DEPLOYMENT, name: "frontend") { helmRelease { name } } }',
    );
    expect(other.data!.workload.helmRelease).toBeNull();
  });

  it('upgrades to another version with new values', async () => {
    const done = await operate(UPGRADE, { name: 'web', chart: 'webapp', version: '1.0.0', values: 'replicaCount: 3' });
    expect(done).toMatchObject({ state: 'SUCCEEDED', kind: 'UPGRADE' });
    expect((await helmHistory('web')).map((h) => [h.revision, h.status, h.chart])).toEqual([
      [1, 'superseded', 'webapp-0.2.0'],
      [2, 'deployed', 'webapp-1.0.0'],
    ]);
    expect(await helmValues('web')).toEqual({ replicaCount: 3 });
    expect((await deployment('web-webapp')).spec.replicas).toBe(3);
    const r = await eventually(async () => (await release('web'))?.revision === 2 && release('web'));
    expect(r).toMatchObject({ status: 'DEPLOYED', chartVersion: '1.0.0', values: { replicaCount: 3 } });
    expect(r!.history.map((h) => [h.revision, h.status, h.chartVersion])).toEqual([
      [1, 'SUPERSEDED', '0.2.0'],
      [2, 'DEPLOYED', '1.0.0'],
    ]);
  });

  it('rolls back to the previous revision', async () => {
    const done = await operate('mutation { rollbackRelease(namespace: "shop", name: "web") { id state kind } }', {});
    expect(done).toMatchObject({ state: 'SUCCEEDED', kind: 'ROLLBACK' });
    const history = await helmHistory('web');
    expect(history.at(-1)).toMatchObject({
      revision: 3,
      status: 'deployed',
      chart: 'webapp-0.2.0',
      description: 'Rollback to 1',
    });
    expect(await helmValues('web')).toEqual({ replicaCount: 2 });
    expect((await deployment('web-webapp')).spec.replicas).toBe(2);
    const r = await eventually(async () => (await release('web'))?.revision === 3 && release('web'));
    expect(r).toMatchObject({ status: 'DEPLOYED', chartVersion: '0.2.0', description: 'Rollback to 1' });
  });

  it('uninstalls it', async () => {
    const done = await operate('mutation { uninstallRelease(namespace: "shop", name: "web") { id state kind } }', {});
    expect(done).toMatchObject({ state: 'SUCCEEDED', kind: 'UNINSTALL' });
    expect((await helmList()).map((r) => r.name)).not.toContain('web');
    await expect(stack.cluster.kubectl(['get', 'deployment', 'web-webapp', '-n', NS])).rejects.toThrow(
      /NotFound|not found/,
    );
    await eventually(async () => (await release('web')) === null, 10_000, 'the release to be gone');
  });
});

describe('releases made with the helm binary', () => {
  it('are listed, and their changes reach helmReleaseChanged', async () => {
    const events: { type: string; release: { name: string; revision: number; status: string }; resumeToken: string }[] =
      [];
    let subscriptionError: unknown;
    const stop = ws.subscribe<{ helmReleaseChanged: (typeof events)[number] }>(
      {
        query:
          'subscription { helmReleaseChanged(namespace: "shop") { type resumeToken release { name revision status } } }',
      },
      {
        next: (r) => (r.errors ? (subscriptionError = r.errors) : events.push(r.data!.helmReleaseChanged)),
        error: (e) => (subscriptionError = e),
        complete: () => {},
      },
    );
    await eventually(() => stack.apps.index.readerCount > 0, 10_000, 'the subscription to be open');
    const chart = join(repo.dir, 'webapp-0.1.0.tgz');
    await stack.cluster.helm(['install', 'cli', chart, '-n', NS]);
    await eventually(() => events.some((e) => e.release.name === 'cli' && e.type === 'ADDED'), 20_000, 'ADDED of cli');
    await stack.cluster.helm(['upgrade', 'cli', chart, '-n', NS, '--set', 'replicaCount=2']);
    await eventually(
      () => events.some((e) => e.release.name === 'cli' && e.type === 'MODIFIED' && e.release.revision === 2),
      20_000,
      'MODIFIED of cli to revision 2',
    );
    const list = await asOperator<{
      helmReleases: { totalCount: number; edges: { node: { name: string; revision: number; values: unknown } }[] };
    }>('{ helmReleases(namespace: "shop") { totalCount edges { node { name revision values } } } }');
    expect(list.data!.helmReleases.edges.map((e) => e.node)).toContainEqual({
      name: 'cli',
      revision: 2,
      values: { replicaCount: 2 },
    });
    await stack.cluster.helm(['uninstall', 'cli', '-n', NS]);
    await eventually(
      () => events.some((e) => e.release.name === 'cli' && e.type === 'DELETED'),
      20_000,
      'DELETED of cli',
    );
    stop();
    expect(subscriptionError).toBeUndefined();
    // Tokens only grow: a client resuming from any of them misses nothing after it.
    const tokens = events.map((e) => BigInt(e.resumeToken));
    expect([...tokens].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(tokens);
  });
});

describe('a release whose install fails', () => {
  it('is FAILED with helm’s reason, and can be upgraded after', async () => {
    const failed = await operate(INSTALL, { name: 'bad', chart: 'broken' });
    expect(failed.state).toBe('FAILED');
    expect(failed.message).toMatch(/spec\.replicas: Invalid value: -1/);
    const r = await eventually(async () => (await release('bad'))?.status === 'FAILED' && release('bad'));
    expect(r!.description).toMatch(/spec\.replicas/);
    expect(await helmList()).toContainEqual(expect.objectContaining({ name: 'bad', status: 'failed' }));

    const fixed = await operate(UPGRADE, { name: 'bad', chart: 'broken', values: 'replicaCount: 1' });
    expect(fixed.state).toBe('SUCCEEDED');
    expect(await helmList()).toContainEqual(
      expect.objectContaining({ name: 'bad', status: 'deployed', revision: '2' }),
    );
    expect((await deployment('bad-broken')).spec.replicas).toBe(1);
    await eventually(async () => (await release('bad'))?.status === 'DEPLOYED', 10_000, 'bad to be DEPLOYED');
  });
});

describe('a release stuck in pending-upgrade (helm died mid-way)', () => {
  it('shows as such, refuses an upgrade, and a rollback recovers it', async () => {
    const chart = join(repo.dir, 'webapp-0.1.0.tgz');
    await stack.cluster.helm(['install', 'stuck', chart, '-n', NS]);
    await stack.cluster.helm(['upgrade', 'stuck', chart, '-n', NS, '--set', 'replicaCount=2']);
    // What a helm killed during an upgrade leaves: the newest revision's Secret saying pending-upgrade.
    const secret = await stack.cluster.core.readNamespacedSecret({
      name: 'sh.helm.release.v1.stuck.v2',
      namespace: NS,
    });
    const { gunzipSync, gzipSync } = await import('node:zlib');
    const stored = JSON.parse(
      gunzipSync(Buffer.from(Buffer.from(secret.data!.release, 'base64').toString(), 'base64')).toString(),
    );
    stored.info.status = 'pending-upgrade';
    secret.data!.release = Buffer.from(gzipSync(JSON.stringify(stored)).toString('base64')).toString('base64');
    secret.metadata!.labels!.status = 'pending-upgrade';
    await stack.cluster.core.replaceNamespacedSecret({ name: secret.metadata!.name!, namespace: NS, body: secret });

    await eventually(async () => (await release('stuck'))?.status === 'PENDING_UPGRADE', 10_000, 'PENDING_UPGRADE');
    const refused = await asOperator(UPGRADE, { name: 'stuck', chart: 'webapp', version: '0.1.0' });
    expect(refused.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(refused.errors?.[0]?.message).toMatch(/another operation/);

    const done = await operate('mutation { rollbackRelease(namespace: "shop", name: "stuck") { id state kind } }', {});
    expect(done.state).toBe('SUCCEEDED');
    expect((await helmHistory('stuck')).at(-1)).toMatchObject({ revision: 3, status: 'deployed' });
    await eventually(async () => (await release('stuck'))?.status === 'DEPLOYED', 10_000, 'stuck to be DEPLOYED');
  });
});

describe('release storage written by other tools', () => {
  const secretOf = (name: string, release: string, namespace = NS) => ({
    metadata: {
      name: `sh.helm.release.v1.${name}.v1`,
      namespace,
      labels: { owner: 'helm', name, status: 'deployed', version: '1' },
    },
    type: 'helm.sh/release.v1',
    data: { release: Buffer.from(release).toString('base64') },
  });
  const stored = (name: string, namespace = NS) => ({
    name,
    namespace,
    version: 1,
    info: { status: 'deployed', description: 'Written by hand', last_deployed: '2026-01-02T03:04:05Z' },
    chart: { metadata: { name: 'handmade', version: '0.0.1', appVersion: '1' } },
    config: { greeting: 'hi' },
    manifest: '',
  });

  it('reads a release stored as plain JSON (no gzip), as helm does, and ignores Secrets that are no release', async () => {
    // Helm gunzips only when the magic bytes say so: a release stored as base64 of plain JSON is a release to it too.
    const plain = Buffer.from(JSON.stringify(stored('plain'))).toString('base64');
    await stack.cluster.core.createNamespacedSecret({ namespace: NS, body: secretOf('plain', plain) });
    // Not base64 of JSON at all, and a release naming another namespace than the Secret's: neither is believed.
    await stack.cluster.core.createNamespacedSecret({ namespace: NS, body: secretOf('garbage', '%%% not a release') });
    const elsewhere = Buffer.from(JSON.stringify(stored('planted', 'analytics'))).toString('base64');
    await stack.cluster.core.createNamespacedSecret({ namespace: NS, body: secretOf('planted', elsewhere) });

    const r = await eventually(async () => (await release('plain'))?.status === 'DEPLOYED' && release('plain'));
    expect(r).toMatchObject({
      chartName: 'handmade',
      chartVersion: '0.0.1',
      values: { greeting: 'hi' },
      workloads: [],
    });
    expect((await helmList()).map((h) => h.name)).toContain('plain');
    const names = (
      await stack.gql<{ helmReleases: { edges: { node: { namespace: string; name: string } }[] } }>(
        '{ helmReleases(first: 500) { edges { node { namespace name } } } }',
      )
    ).data!.helmReleases.edges.map((e) => `${e.node.namespace}/${e.node.name}`);
    expect(names).toContain('shop/plain');
    expect(names.filter((n) => /garbage|planted/.test(n))).toEqual([]);
  });
});
