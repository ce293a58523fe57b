// The real helm 4.1 binary against the sandbox: a chart from `helm create`, installed (server-side apply, Helm 4's
// default), listed, upgraded, rolled back and uninstalled, with the release Secrets and the chart's objects checked
// through kubectl and @kubernetes/client-node.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';

let t: TestSandbox;
let dir: string;
let chart: string;
const ns = 'apps';

beforeAll(async () => {
  t = await startTestSandbox({ speed: 20 });
  dir = mkdtempSync(join(tmpdir(), 'kubegraph-helm-'));
  chart = join(dir, 'mychart');
  await t.kubectl(['create', 'namespace', ns]);
});
afterAll(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface ReleaseSecret {
  name: string;
  labels: Record<string, string>;
  type: string;
  release: {
    name: string;
    version: number;
    namespace: string;
    info: { status: string; description: string };
    config?: Record<string, unknown>;
  };
}

/** The release Secrets of a release, decoded as Helm stores them: base64 (the Secret's) of base64 of gzipped JSON. */
async function releaseSecrets(release: string): Promise<ReleaseSecret[]> {
  const list = await t.core.listNamespacedSecret({ namespace: ns, labelSelector: `owner=helm,name=${release}` });
  return list.items
    .map((s) => ({
      name: s.metadata!.name!,
      labels: s.metadata!.labels!,
      type: s.type!,
      release: JSON.parse(
        gunzipSync(Buffer.from(Buffer.from(s.data!.release!, 'base64').toString(), 'base64')).toString(),
      ),
    }))
    .sort((a, b) => a.release.version - b.release.version);
}

const helmTable = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => l.split('\t').map((c) => c.trim()));

describe('helm against the sandbox', () => {
  it('creates a chart and installs it with server-side apply', async () => {
    expect(await t.helm(['create', chart])).toContain('Creating');
    const out = await t.helm(['install', 'web', chart, '-n', ns]);
    expect(out).toMatch(/^NAME: web$/m);
    expect(out).toMatch(/^NAMESPACE: apps$/m);
    expect(out).toMatch(/^STATUS: deployed$/m);
    expect(out).toMatch(/^REVISION: 1$/m);

    const [secret] = await releaseSecrets('web');
    expect(secret.name).toBe('sh.helm.release.v1.web.v1');
    expect(secret.type).toBe('helm.sh/release.v1');
    expect(secret.labels).toMatchObject({ owner: 'helm', name: 'web', status: 'deployed', version: '1' });
    expect(secret.release).toMatchObject({ name: 'web', namespace: ns, version: 1, info: { status: 'deployed' } });

    // The chart's objects, applied server-side by Helm's field manager.
    const deploy = await t.apps.readNamespacedDeployment({ name: 'web-mychart', namespace: ns });
    expect(deploy.spec!.replicas).toBe(1);
    expect(deploy.metadata!.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'Helm',
      'app.kubernetes.io/instance': 'web',
    });
    expect(deploy.metadata!.annotations).toMatchObject({
      'meta.helm.sh/release-name': 'web',
      'meta.helm.sh/release-namespace': ns,
    });
    expect(deploy.metadata!.managedFields!.map((m) => `${m.manager}/${m.operation}`)).toContain('helm/Apply');
    const svc = await t.core.readNamespacedService({ name: 'web-mychart', namespace: ns });
    expect(svc.spec!.ports![0]).toMatchObject({ port: 80, targetPort: 'http', name: 'http' });
    const sa = await t.core.readNamespacedServiceAccount({ name: 'web-mychart', namespace: ns });
    expect(sa.metadata!.labels!['helm.sh/chart']).toBe('mychart-0.1.0');

    const rows = (
      await t.kubectl(['get', 'deploy,svc,sa', '-n', ns, '-l', 'app.kubernetes.io/instance=web', '-o', 'name'])
    )
      .trim()
      .split('\n');
    expect(rows.sort()).toEqual(['deployment.apps/web-mychart', 'service/web-mychart', 'serviceaccount/web-mychart']);
    await eventually(
      async () =>
        (await t.apps.readNamespacedDeployment({ name: 'web-mychart', namespace: ns })).status?.readyReplicas === 1,
      20_000,
      'the release pod to be ready',
    );
  });

  it('lists releases and shows their status', async () => {
    const list = helmTable(await t.helm(['list', '-n', ns]));
    expect(list[0]).toEqual(['NAME', 'NAMESPACE', 'REVISION', 'UPDATED', 'STATUS', 'CHART', 'APP VERSION']);
    expect(list[1]).toEqual([
      'web',
      ns,
      '1',
      expect.stringMatching(/^\d{4}-\d\d-\d\d /),
      'deployed',
      'mychart-0.1.0',
      '1.16.0',
    ]);
    const json = JSON.parse(await t.helm(['list', '-n', ns, '-o', 'json']));
    expect(json).toEqual([
      expect.objectContaining({
        name: 'web',
        namespace: ns,
        revision: '1',
        status: 'deployed',
        chart: 'mychart-0.1.0',
      }),
    ]);
    const status = await t.helm(['status', 'web', '-n', ns]);
    expect(status).toMatch(/^STATUS: deployed$/m);
    expect(status).toMatch(/^DESCRIPTION: Install complete$/m);
  });

  it('upgrades with new values, keeps history and rolls back', async () => {
    const up = await t.helm(['upgrade', 'web', chart, '-n', ns, '--set', 'replicaCount=2']);
    expect(up).toContain('Release "web" has been upgraded. Happy Helming!');
    expect(up).toMatch(/^REVISION: 2$/m);
    expect((await t.apps.readNamespacedDeployment({ name: 'web-mychart', namespace: ns })).spec!.replicas).toBe(2);
    await eventually(
      async () =>
        (await t.apps.readNamespacedDeployment({ name: 'web-mychart', namespace: ns })).status?.readyReplicas === 2,
      20_000,
      'two ready replicas',
    );

    let secrets = await releaseSecrets('web');
    expect(secrets.map((s) => [s.name, s.labels.status, s.labels.version])).toEqual([
      ['sh.helm.release.v1.web.v1', 'superseded', '1'],
      ['sh.helm.release.v1.web.v2', 'deployed', '2'],
    ]);
    expect(secrets[1].release.config).toEqual({ replicaCount: 2 });

    const history = helmTable(await t.helm(['history', 'web', '-n', ns]));
    expect(history[0]).toEqual(['REVISION', 'UPDATED', 'STATUS', 'CHART', 'APP VERSION', 'DESCRIPTION']);
    expect(history.slice(1).map((r) => [r[0], r[2], r[5]])).toEqual([
      ['1', 'superseded', 'Install complete'],
      ['2', 'deployed', 'Upgrade complete'],
    ]);

    expect(await t.helm(['rollback', 'web', '1', '-n', ns])).toContain('Rollback was a success! Happy Helming!');
    expect((await t.apps.readNamespacedDeployment({ name: 'web-mychart', namespace: ns })).spec!.replicas).toBe(1);
    secrets = await releaseSecrets('web');
    expect(secrets.map((s) => [s.labels.version, s.labels.status])).toEqual([
      ['1', 'superseded'],
      ['2', 'superseded'],
      ['3', 'deployed'],
    ]);
    expect(secrets[2].release.info.description).toBe('Rollback to 1');
    const after = helmTable(await t.helm(['history', 'web', '-n', ns]));
    expect(after.slice(1).map((r) => [r[0], r[2], r[5]])).toEqual([
      ['1', 'superseded', 'Install complete'],
      ['2', 'superseded', 'Upgrade complete'],
      ['3', 'deployed', 'Rollback to 1'],
    ]);
  });

  it('installs and upgrades with --wait until the pods are ready', async () => {
    const out = await t.helm([
      'install',
      'waited',
      chart,
      '-n',
      ns,
      '--wait',
      '--timeout',
      '45s',
      '--set',
      'replicaCount=2',
    ]);
    expect(out).toMatch(/^STATUS: deployed$/m);
    // --wait returned only once the Deployment was available.
    const deploy = await t.apps.readNamespacedDeployment({ name: 'waited-mychart', namespace: ns });
    expect(deploy.status).toMatchObject({ readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 });

    const up = await t.helm([
      'upgrade',
      'waited',
      chart,
      '-n',
      ns,
      '--wait=watcher',
      '--timeout',
      '45s',
      '--set',
      'replicaCount=3,image.tag=1.27',
    ]);
    expect(up).toMatch(/^REVISION: 2$/m);
    const upgraded = await t.apps.readNamespacedDeployment({ name: 'waited-mychart', namespace: ns });
    expect(upgraded.spec!.template.spec!.containers[0].image).toBe('nginx:1.27');
    expect(upgraded.status).toMatchObject({ readyReplicas: 3, updatedReplicas: 3 });
    expect(upgraded.status!.observedGeneration).toBe(upgraded.metadata!.generation);
    expect(
      helmTable(await t.helm(['list', '-n', ns]))
        .slice(1)
        .map((r) => [r[0], r[2], r[4]]),
    ).toEqual([
      ['waited', '2', 'deployed'],
      ['web', '3', 'deployed'],
    ]);
  });

  it('uninstalls a release: its objects and its Secrets go', async () => {
    expect(await t.helm(['uninstall', 'web', '-n', ns])).toContain('release "web" uninstalled');
    expect(await releaseSecrets('web')).toEqual([]);
    await eventually(
      async () => {
        const left = await t.kubectl([
          'get',
          'deploy,svc,sa,pods',
          '-n',
          ns,
          '-l',
          'app.kubernetes.io/instance=web',
          '-o',
          'name',
        ]);
        return left.trim() === '';
      },
      20_000,
      'the release objects to go',
    );
    expect(helmTable(await t.helm(['list', '-n', ns])).map((r) => r[0])).toEqual(['NAME', 'waited']);
    expect(await t.helm(['uninstall', 'waited', '-n', ns, '--wait', '--timeout', '45s'])).toContain(
      'release "waited" uninstalled',
    );
    expect(JSON.parse(await t.helm(['list', '-n', ns, '-o', 'json']))).toEqual([]);
    expect(await releaseSecrets('waited')).toEqual([]);
    expect((await t.apps.listNamespacedDeployment({ namespace: ns })).items).toEqual([]);
  });
});
