// The sandbox's API machinery as @kubernetes/client-node sees it over HTTPS: lists, watches, resource versions,
// selectors, chunking, optimistic concurrency, patches and errors.
import https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';
import { collectWatch, configMap, statusOf } from './harness/k8s.js';

let t: TestSandbox;
const ns = 'api-test';

/** A request with the kubeconfig's CA (and token unless told not to), for answers client-node hides. */
function rawRequest(
  method: string,
  path: string,
  body?: string,
  withToken = true,
): Promise<{ status: number; body: string }> {
  const ca = Buffer.from(t.kc.getCurrentCluster()!.caData!, 'base64');
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (withToken) headers.Authorization = `Bearer ${t.sandbox.token}`;
  return new Promise((resolve, reject) => {
    const req = https.request(`${t.sandbox.url}${path}`, { method, ca, headers }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  t = await startTestSandbox({ historySize: 300, bookmarkIntervalMs: 200 });
  await t.core.createNamespace({ body: { metadata: { name: ns } } });
});
afterAll(async () => t?.close());

describe('discovery', () => {
  it('serves version, core and group discovery that list every kind with its verbs', async () => {
    const version = await t.kc.makeApiClient(k8s.VersionApi).getCode();
    expect(version.major).toBe('1');
    const core = await t.core.getAPIResources();
    const pods = core.resources.find((r) => r.name === 'pods')!;
    expect(pods).toMatchObject({ namespaced: true, kind: 'Pod', shortNames: ['po'] });
    expect(pods.verbs).toEqual(
      expect.arrayContaining(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection']),
    );
    expect(core.resources.map((r) => r.name)).toEqual(
      expect.arrayContaining(['pods/log', 'pods/status', 'pods/eviction', 'nodes', 'events']),
    );
    const groups = await t.kc.makeApiClient(k8s.ApisApi).getAPIVersions();
    expect(groups.groups.map((g) => g.name)).toEqual(
      expect.arrayContaining([
        'apps',
        'batch',
        'networking.k8s.io',
        'storage.k8s.io',
        'autoscaling',
        'rbac.authorization.k8s.io',
        'apiextensions.k8s.io',
      ]),
    );
    const apps = await t.apps.getAPIResources();
    expect(apps.resources.find((r) => r.name === 'deployments/scale')).toMatchObject({
      kind: 'Scale',
      group: 'autoscaling',
      version: 'v1',
    });
  });

  it('refuses callers without the kubeconfig token with a 401 Status', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(t.sandbox.kubeconfig.replace(t.sandbox.token, 'wrong-token'));
    expect((await statusOf(kc.makeApiClient(k8s.CoreV1Api).listNamespace())).code).toBe(401);
    // client-node drops 401 bodies; read the raw answer.
    const { body } = await rawRequest('GET', '/api/v1/namespaces', undefined, false);
    expect(JSON.parse(body)).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
  });

  it('answers a verb a resource does not support with 405 MethodNotAllowed', async () => {
    const res = await rawRequest('POST', `/api/v1/namespaces/${ns}/configmaps/some-name`, '{}');
    expect(res.status).toBe(405);
    expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', code: 405, reason: 'MethodNotAllowed' });
  });
});

describe('errors are Status objects like the real server', () => {
  it('NotFound, AlreadyExists, Invalid, BadRequest', async () => {
    expect(await statusOf(t.core.readNamespacedConfigMap({ name: 'nope', namespace: ns }))).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'configmaps "nope" not found',
      details: { name: 'nope', kind: 'configmaps' },
    });
    expect(await statusOf(t.apps.readNamespacedDeployment({ name: 'nope', namespace: ns }))).toMatchObject({
      code: 404,
      message: 'deployments.apps "nope" not found',
      details: { group: 'apps' },
    });
    await t.core.createNamespacedConfigMap({ namespace: ns, body: configMap('dup', ns) });
    expect(
      await statusOf(t.core.createNamespacedConfigMap({ namespace: ns, body: configMap('dup', ns) })),
    ).toMatchObject({
      code: 409,
      reason: 'AlreadyExists',
      message: 'configmaps "dup" already exists',
    });
    const bad = await statusOf(t.core.createNamespacedConfigMap({ namespace: ns, body: configMap('Not_A_Name', ns) }));
    expect(bad).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(bad.details?.causes?.[0]).toMatchObject({ field: 'metadata.name', reason: 'FieldValueInvalid' });
    expect(await statusOf(t.core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'a in (b' }))).toMatchObject({
      code: 400,
      reason: 'BadRequest',
    });
    expect(await statusOf(t.core.listNamespacedPod({ namespace: ns, fieldSelector: 'spec.nope=x' }))).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: 'field label not supported: spec.nope',
    });
    expect(
      await statusOf(t.core.createNamespacedConfigMap({ namespace: 'no-such-ns', body: configMap('x', 'no-such-ns') })),
    ).toMatchObject({ code: 404, message: 'namespaces "no-such-ns" not found' });
  });
});

describe('resourceVersion and optimistic concurrency', () => {
  it('a stale update is a Conflict; an update with the current version succeeds; versions only grow', async () => {
    const created = await t.core.createNamespacedConfigMap({
      namespace: ns,
      body: configMap('occ', ns, {}, { v: '1' }),
    });
    const first = await t.core.replaceNamespacedConfigMap({
      name: 'occ',
      namespace: ns,
      body: { ...created, data: { v: '2' } },
    });
    expect(Number(first.metadata!.resourceVersion)).toBeGreaterThan(Number(created.metadata!.resourceVersion));
    const stale = await statusOf(
      t.core.replaceNamespacedConfigMap({ name: 'occ', namespace: ns, body: { ...created, data: { v: '3' } } }),
    );
    expect(stale).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(stale.message).toContain(
      'the object has been modified; please apply your changes to the latest version and try again',
    );
    const current = await t.core.readNamespacedConfigMap({ name: 'occ', namespace: ns });
    expect(current.data).toEqual({ v: '2' });
    // Without a resourceVersion an update is unconditional.
    const { resourceVersion: _rv, ...meta } = current.metadata!;
    const forced = await t.core.replaceNamespacedConfigMap({
      name: 'occ',
      namespace: ns,
      body: { ...current, metadata: meta, data: { v: '4' } },
    });
    expect(forced.data).toEqual({ v: '4' });
    expect(forced.metadata!.uid).toBe(created.metadata!.uid);
    expect(forced.metadata!.creationTimestamp).toEqual(created.metadata!.creationTimestamp);
  });

  it('generateName makes unique names; a list carries the store version', async () => {
    const a = await t.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { generateName: 'gen-' } } });
    const b = await t.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { generateName: 'gen-' } } });
    expect(a.metadata!.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(a.metadata!.name).not.toBe(b.metadata!.name);
    const list = await t.core.listNamespacedConfigMap({ namespace: ns });
    expect(Number(list.metadata!.resourceVersion)).toBeGreaterThanOrEqual(Number(b.metadata!.resourceVersion));
  });
});

describe('selectors', () => {
  const sns = 'selectors';
  beforeAll(async () => {
    await t.core.createNamespace({ body: { metadata: { name: sns } } });
    const items: [string, Record<string, string>][] = [
      ['a', { app: 'web', tier: 'front', env: 'prod' }],
      ['b', { app: 'web', tier: 'back', env: 'dev' }],
      ['c', { app: 'db', tier: 'back' }],
      ['d', { app: 'cache' }],
      ['e', {}],
    ];
    for (const [name, labels] of items)
      await t.core.createNamespacedConfigMap({ namespace: sns, body: configMap(name, sns, labels) });
  });
  const names = async (labelSelector?: string, fieldSelector?: string) =>
    (await t.core.listNamespacedConfigMap({ namespace: sns, labelSelector, fieldSelector })).items
      .map((i) => i.metadata!.name)
      .filter((n) => n !== 'kube-root-ca.crt');

  it.each([
    ['app=web', ['a', 'b']],
    ['app==web', ['a', 'b']],
    ['app!=web', ['c', 'd', 'e']],
    ['app in (web,cache)', ['a', 'b', 'd']],
    ['app notin (web,cache)', ['c', 'e']],
    ['tier', ['a', 'b', 'c']],
    ['!tier', ['d', 'e']],
    ['app=web,tier=back', ['b']],
    ['app in (web, db), !env', ['c']],
    ['tier=back , env notin (prod)', ['b', 'c']],
  ])('labelSelector %s', async (selector, expected) => {
    expect(await names(selector)).toEqual(expected);
  });

  it('field selectors on name and namespace, combined with labels', async () => {
    expect(await names(undefined, 'metadata.name=c')).toEqual(['c']);
    expect(await names(undefined, 'metadata.name!=c')).toEqual(['a', 'b', 'd', 'e']);
    expect(await names('app=web', 'metadata.name==b')).toEqual(['b']);
    const all = await t.core.listConfigMapForAllNamespaces({
      fieldSelector: `metadata.namespace=${sns}`,
      labelSelector: 'app',
    });
    expect(all.items.map((i) => i.metadata!.name)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('lists in chunks', () => {
  const pns = 'paging';
  beforeAll(async () => {
    await t.core.createNamespace({ body: { metadata: { name: pns } } });
    for (let i = 0; i < 25; i++)
      await t.core.createNamespacedConfigMap({
        namespace: pns,
        body: configMap(`cm-${String(i).padStart(2, '0')}`, pns, { page: 'yes' }),
      });
  });

  it('limit + continue walks the whole list as of the first chunk', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let firstVersion: string | undefined;
    let pages = 0;
    do {
      const page = await t.core.listNamespacedConfigMap({
        namespace: pns,
        labelSelector: 'page=yes',
        limit: 10,
        _continue: token,
      });
      pages++;
      firstVersion ??= page.metadata!.resourceVersion;
      expect(page.metadata!.resourceVersion).toBe(firstVersion);
      seen.push(...page.items.map((i) => i.metadata!.name!));
      token = page.metadata!._continue;
      if (pages === 1) {
        expect(page.metadata!.remainingItemCount).toBe(15);
        // Changes after the first chunk are not part of this list.
        await t.core.createNamespacedConfigMap({ namespace: pns, body: configMap('cm-00a', pns, { page: 'yes' }) });
        await t.core.deleteNamespacedConfigMap({ name: 'cm-24', namespace: pns });
      }
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `cm-${String(i).padStart(2, '0')}`));
    const now = await t.core.listNamespacedConfigMap({ namespace: pns, labelSelector: 'page=yes' });
    expect(now.items.map((i) => i.metadata!.name)).toContain('cm-00a');
    expect(now.items.map((i) => i.metadata!.name)).not.toContain('cm-24');
  });

  it('a continue token older than the remembered history is 410 Expired', async () => {
    const page = await t.core.listNamespacedConfigMap({ namespace: pns, limit: 5 });
    // The sandbox of this file remembers 300 changes: make more.
    for (let i = 0; i < 400; i++)
      await t.core.replaceNamespacedConfigMap({
        name: 'cm-01',
        namespace: pns,
        body: configMap('cm-01', pns, { page: 'yes' }, { i: String(i) }),
      });
    const status = await statusOf(
      t.core.listNamespacedConfigMap({ namespace: pns, limit: 5, _continue: page.metadata!._continue }),
    );
    expect(status).toMatchObject({ code: 410, reason: 'Expired' });
  });
});

describe('watch', () => {
  const wns = 'watching';
  beforeAll(async () => {
    await t.core.createNamespace({ body: { metadata: { name: wns } } });
  });
  const path = `/api/v1/namespaces/${wns}/configmaps`;

  it('resourceVersion 0 starts with ADDED for every object; an exact version gets only what came after, in order', async () => {
    await t.core.createNamespacedConfigMap({ namespace: wns, body: configMap('w1', wns, { w: 'x' }) });
    const list = await t.core.listNamespacedConfigMap({ namespace: wns, labelSelector: 'w' });
    const fromZero = await collectWatch(t.kc, path, { resourceVersion: '0', labelSelector: 'w' });
    const fromList = await collectWatch(t.kc, path, {
      resourceVersion: list.metadata!.resourceVersion!,
      labelSelector: 'w',
    });
    const created = await t.core.createNamespacedConfigMap({ namespace: wns, body: configMap('w2', wns, { w: 'x' }) });
    await t.core.patchNamespacedConfigMap(
      { name: 'w2', namespace: wns, body: { data: { k: 'v' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await t.core.deleteNamespacedConfigMap({ name: 'w2', namespace: wns });
    await eventually(() => fromList.events.length >= 3, 5000, 'three events');
    expect(fromList.events.map((e) => `${e.type} ${e.object.metadata!.name}`)).toEqual([
      'ADDED w2',
      'MODIFIED w2',
      'DELETED w2',
    ]);
    const versions = fromList.events.map((e) => Number(e.object.metadata!.resourceVersion));
    expect(versions[0]).toBe(Number(created.metadata!.resourceVersion));
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expect(new Set(versions).size).toBe(3); // DELETED carries a new version
    await eventually(() => fromZero.events.length >= 4, 5000, 'four events');
    expect(fromZero.events.map((e) => `${e.type} ${e.object.metadata!.name}`)).toEqual([
      'ADDED w1',
      'ADDED w2',
      'MODIFIED w2',
      'DELETED w2',
    ]);
    fromZero.stop();
    fromList.stop();
  });

  it('label selectors on a watch: objects entering the selection are ADDED, leaving it DELETED', async () => {
    await t.core.createNamespacedConfigMap({ namespace: wns, body: configMap('sel', wns, { color: 'red' }) });
    const w = await collectWatch(t.kc, path, {
      resourceVersion: (await t.core.listNamespacedConfigMap({ namespace: wns })).metadata!.resourceVersion!,
      labelSelector: 'color=blue',
    });
    const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await t.core.patchNamespacedConfigMap(
      { name: 'sel', namespace: wns, body: { metadata: { labels: { color: 'blue' } } } },
      merge,
    );
    await t.core.patchNamespacedConfigMap({ name: 'sel', namespace: wns, body: { data: { a: 'b' } } }, merge);
    await t.core.patchNamespacedConfigMap(
      { name: 'sel', namespace: wns, body: { metadata: { labels: { color: 'green' } } } },
      merge,
    );
    await eventually(() => w.events.length >= 3, 5000, 'three events');
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    w.stop();
  });

  it('sends BOOKMARKs with a version to resume from, and resuming from one loses and repeats nothing', async () => {
    const w = await collectWatch(t.kc, path, { resourceVersion: '0', allowWatchBookmarks: true, labelSelector: 'bm' });
    await t.core.createNamespacedConfigMap({ namespace: wns, body: configMap('bm1', wns, { bm: 'y' }) });
    const bookmark = await eventually(
      () => w.events.find((e) => e.type === 'BOOKMARK' && w.events.some((x) => x.object.metadata?.name === 'bm1')),
      5000,
      'a bookmark',
    );
    expect(bookmark.object).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });
    w.stop();
    await t.core.createNamespacedConfigMap({ namespace: wns, body: configMap('bm2', wns, { bm: 'y' }) });
    const resumed = await collectWatch(t.kc, path, {
      resourceVersion: bookmark.object.metadata!.resourceVersion!,
      labelSelector: 'bm',
    });
    await eventually(() => resumed.events.some((e) => e.object.metadata?.name === 'bm2'), 5000, 'bm2');
    expect(
      resumed.events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata!.name}`),
    ).toEqual(['ADDED bm2']);
    resumed.stop();
  });

  it('timeoutSeconds ends the stream cleanly', async () => {
    const w = await collectWatch(t.kc, path, { resourceVersion: '0', timeoutSeconds: 1 });
    await eventually(() => w.done, 5000, 'the stream to end');
    expect(w.error).toBeNull();
  });

  it('a version older than the history gets one ERROR event with a 410 Expired Status', async () => {
    const old = (await t.core.listNamespacedConfigMap({ namespace: wns })).metadata!.resourceVersion!;
    for (let i = 0; i < 400; i++)
      await t.core.createNamespacedConfigMap({ namespace: wns, body: configMap(`churn-${i}`, wns) });
    const w = await collectWatch(t.kc, path, { resourceVersion: old });
    await eventually(() => w.done, 5000, 'the stream to end');
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect((w.events[0].object as { message?: string }).message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });

  it('an informer re-lists after 410 and ends up with exactly the server state', async () => {
    const ins = 'informed';
    await t.core.createNamespace({ body: { metadata: { name: ins } } });
    for (let i = 0; i < 5; i++)
      await t.core.createNamespacedConfigMap({ namespace: ins, body: configMap(`i-${i}`, ins) });
    const informer = k8s.makeInformer(t.kc, `/api/v1/namespaces/${ins}/configmaps`, () =>
      t.core.listNamespacedConfigMap({ namespace: ins }),
    );
    const errors: unknown[] = [];
    informer.on('error', (e) => {
      errors.push(e);
      setTimeout(() => void informer.start(), 100);
    });
    await informer.start();
    const initial = (await t.core.listNamespacedConfigMap({ namespace: ins })).items.length;
    await eventually(() => informer.list().length === initial, 5000, 'informer sync');
    // Disconnect every watch while more changes than the history holds happen: the informer's resume is too old.
    t.sandbox.server.closeWatches();
    for (let i = 0; i < 400; i++)
      await t.core.replaceNamespacedConfigMap({
        name: 'i-0',
        namespace: ins,
        body: configMap('i-0', ins, {}, { n: String(i) }),
      });
    await t.core.deleteNamespacedConfigMap({ name: 'i-1', namespace: ins });
    await t.core.createNamespacedConfigMap({ namespace: ins, body: configMap('i-new', ins) });
    await eventually(
      () => {
        const names = informer
          .list()
          .map((o) => o.metadata!.name)
          .sort();
        return (
          names.includes('i-new') &&
          !names.includes('i-1') &&
          informer.list().find((o) => o.metadata!.name === 'i-0')?.data?.n === '399'
        );
      },
      15000,
      'informer to catch up',
    );
    const server = (await t.core.listNamespacedConfigMap({ namespace: ins })).items
      .map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`)
      .sort();
    expect(
      informer
        .list()
        .map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`)
        .sort(),
    ).toEqual(server);
    await informer.stop();
  });
});

describe('patches', () => {
  it('merge, JSON and strategic merge patches through the typed client', async () => {
    await t.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'patchme', labels: { app: 'patchme' } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'patchme' } },
          template: {
            metadata: { labels: { app: 'patchme' } },
            spec: {
              containers: [
                { name: 'a', image: 'nginx:1.26' },
                { name: 'b', image: 'redis:7' },
              ],
            },
          },
        },
      },
    });
    const smp = await t.apps.patchNamespacedDeployment(
      {
        name: 'patchme',
        namespace: ns,
        body: { spec: { template: { spec: { containers: [{ name: 'a', image: 'nginx:1.27' }] } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    expect(smp.spec!.template.spec!.containers.map((c) => `${c.name}=${c.image}`)).toEqual([
      'a=nginx:1.27',
      'b=redis:7',
    ]);
    expect(smp.metadata!.generation).toBe(2);
    const merged = await t.apps.patchNamespacedDeployment(
      { name: 'patchme', namespace: ns, body: { metadata: { labels: { extra: 'yes' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(merged.metadata!.labels).toEqual({ app: 'patchme', extra: 'yes' });
    expect(merged.metadata!.generation).toBe(2); // metadata changes are not spec changes
    const jsonPatched = await t.apps.patchNamespacedDeployment(
      {
        name: 'patchme',
        namespace: ns,
        body: [
          { op: 'replace', path: '/spec/replicas', value: 3 },
          { op: 'remove', path: '/metadata/labels/extra' },
        ],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    expect(jsonPatched.spec!.replicas).toBe(3);
    expect(jsonPatched.metadata!.labels).toEqual({ app: 'patchme' });
    const failedTest = await statusOf(
      t.apps.patchNamespacedDeployment(
        { name: 'patchme', namespace: ns, body: [{ op: 'test', path: '/spec/replicas', value: 7 }] },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
      ),
    );
    expect(failedTest.code).toBe(422);
    // A patch that names a stale resourceVersion conflicts.
    const stale = await statusOf(
      t.apps.patchNamespacedDeployment(
        { name: 'patchme', namespace: ns, body: { metadata: { resourceVersion: '1' }, spec: { replicas: 2 } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ),
    );
    expect(stale).toMatchObject({ code: 409, reason: 'Conflict' });
  });

  it('server-side apply creates, then updates, the object', async () => {
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'applied', namespace: ns },
      data: { a: '1', b: '2' },
    };
    const created = await t.objects.patch(cm, undefined, undefined, 'tester', true, k8s.PatchStrategy.ServerSideApply);
    expect((created as k8s.V1ConfigMap).data).toEqual({ a: '1', b: '2' });
    const updated = await t.objects.patch(
      { ...cm, data: { a: '1' } },
      undefined,
      undefined,
      'tester',
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
    expect((updated as k8s.V1ConfigMap).data).toEqual({ a: '1' });
  });
});

describe('scale subresource', () => {
  it('reads and writes replicas through /scale', async () => {
    await t.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'scaled' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'scaled' } },
          template: { metadata: { labels: { app: 'scaled' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
        },
      },
    });
    const scale = await t.apps.readNamespacedDeploymentScale({ name: 'scaled', namespace: ns });
    expect(scale.spec!.replicas).toBe(1);
    expect(scale.status!.selector).toBe('app=scaled');
    await t.apps.replaceNamespacedDeploymentScale({
      name: 'scaled',
      namespace: ns,
      body: { ...scale, spec: { replicas: 4 } },
    });
    expect((await t.apps.readNamespacedDeployment({ name: 'scaled', namespace: ns })).spec!.replicas).toBe(4);
    const patched = await t.apps.patchNamespacedDeploymentScale(
      { name: 'scaled', namespace: ns, body: { spec: { replicas: 2 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(patched.spec!.replicas).toBe(2);
    expect(
      await statusOf(
        t.apps.replaceNamespacedDeploymentScale({
          name: 'scaled',
          namespace: ns,
          body: { ...scale, spec: { replicas: 5 } },
        }),
      ),
    ).toMatchObject({ code: 409 });
  });
});

describe('deletecollection', () => {
  it('deletes what the selector matches and nothing else', async () => {
    const dns = 'dc';
    await t.core.createNamespace({ body: { metadata: { name: dns } } });
    for (const [n, l] of [
      ['x1', 'gone'],
      ['x2', 'gone'],
      ['x3', 'kept'],
    ])
      await t.core.createNamespacedConfigMap({ namespace: dns, body: configMap(n, dns, { fate: l }) });
    await t.core.deleteCollectionNamespacedConfigMap({ namespace: dns, labelSelector: 'fate=gone' });
    const left = await t.core.listNamespacedConfigMap({ namespace: dns, labelSelector: 'fate' });
    expect(left.items.map((i) => i.metadata!.name)).toEqual(['x3']);
  });
});

describe('fault knobs', () => {
  it('fails the configured share of requests with the configured code', async () => {
    const faults = t.sandbox.server.faults;
    Object.assign(faults, { failRatio: 1, failCode: 503 });
    try {
      const status = await statusOf(t.core.listNamespace());
      expect(status).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
      Object.assign(faults, { failRatio: 0.5, failCode: 500 });
      const results = await Promise.allSettled(Array.from({ length: 40 }, () => t.core.listNamespace()));
      const failed = results.filter((r) => r.status === 'rejected').length;
      expect(failed).toBeGreaterThan(5);
      expect(failed).toBeLessThan(35);
    } finally {
      Object.assign(faults, { failRatio: 0 });
    }
    expect((await t.core.listNamespace()).items.length).toBeGreaterThan(0);
  });
});

describe('custom resources', () => {
  it('serves each version of a CRD; an object written in one version is read and watched in another as that version', async () => {
    const group = 'stable.example.com';
    await t.kc.makeApiClient(k8s.ApiextensionsV1Api).createCustomResourceDefinition({
      body: {
        metadata: { name: `widgets.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: ['v1', 'v2'].map((name) => ({
            name,
            served: true,
            storage: name === 'v1',
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          })),
        },
      },
    });
    const w = await collectWatch(t.kc, `/apis/${group}/v2/namespaces/${ns}/widgets`, { resourceVersion: '0' });
    const custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: ns,
      plural: 'widgets',
      body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
    });
    const read = (await custom.getNamespacedCustomObject({
      group,
      version: 'v2',
      namespace: ns,
      plural: 'widgets',
      name: 'w1',
    })) as { apiVersion: string; spec: { size: number } };
    expect(read).toMatchObject({ apiVersion: `${group}/v2`, spec: { size: 3 } });
    await eventually(() => w.events.some((e) => e.type === 'ADDED'), 5000, 'the watch event');
    w.stop();
    expect(w.events.find((e) => e.type === 'ADDED')!.object.apiVersion).toBe(`${group}/v2`);
  });
});
