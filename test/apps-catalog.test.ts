// The chart catalog (issue 16 §1) against a chart repository made by the real helm and served over HTTP on
// 127.0.0.1: adding and syncing repositories, conditional requests, search ranking and paging, versions, the files
// of an archive (checked against `helm show`), credentials at rest, persistence, and who may do what.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Viewer } from '../services/common/authz.js';
import { fetchIndex } from '../services/apps/clients/chart-repo.js';
import { openRepositoryStore, type RepositoryStore } from '../services/apps/clients/repository-store.js';
import { Catalog } from '../services/apps/model/catalog.js';
import { CredentialsCipher, localCredentialsKey } from '../services/apps/model/catalog-credentials.js';
import {
  buildChartRepo,
  helm,
  makeChart,
  removeDir,
  serveChartRepo,
  sha256,
  type BuiltChartRepo,
  type ChartRepoServer,
} from './harness/charts.js';

const SECRET = 'a-test-secret-of-some-length-0123456789';
const ADMIN: Viewer = { username: 'admin', platformRole: 'platform-admin' };
const REGULAR: Viewer = { username: 'rita', platformRole: 'platform-regular' };
const ANON: Viewer = { username: '', platformRole: '' };
const wsRole = (username: string, ws: string, role: string): Viewer => ({
  username,
  platformRole: 'platform-regular',
  workspaceRoles: { [ws]: role },
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return String((e as { extensions?: { code?: unknown } }).extensions?.code ?? `not a GraphQL error: ${e}`);
  }
  return 'no error';
}

let repo: BuiltChartRepo;
let server: ChartRepoServer;
let store: RepositoryStore;
let catalog: Catalog;
const scratch = mkdtempSync(join(tmpdir(), 'kubegraph-catalog-test-'));

beforeAll(async () => {
  repo = await buildChartRepo();
  server = await serveChartRepo(repo.dir);
  store = await openRepositoryStore({ dataDir: join(scratch, 'db') });
  catalog = await Catalog.open({ store, credentialsSecret: SECRET, syncIntervalMs: 0 });
  await catalog.addRepository(ADMIN, { name: 'main', url: server.url });
}, 120_000);

afterAll(async () => {
  await catalog?.close();
  await server?.close();
  repo?.cleanup();
  removeDir(scratch);
});

const names = (c: { edges: { node: { name: string } }[] }) => c.edges.map((e) => e.node.name);

describe('repositories and sync', () => {
  it('adds a repository by reading its index, and lists it', async () => {
    const [main] = await catalog.listRepositories(ADMIN);
    expect(main).toMatchObject({ name: 'main', url: server.url, workspace: null, syncError: null });
    expect(Date.parse(main.syncedAt!)).toBeGreaterThan(Date.now() - 120_000);
    expect(server.requests.some((r) => r.path === '/index.yaml' && r.status === 200)).toBe(true);
  });

  it('asks with If-None-Match and skips an unchanged index (304)', async () => {
    const before = server.requests.length;
    const synced = await catalog.syncRepository(ADMIN, 'main');
    expect(synced.syncError).toBeNull();
    const asked = server.requests.slice(before).filter((r) => r.path === '/index.yaml');
    expect(asked).toHaveLength(1);
    expect(asked[0].ifNoneMatch).toMatch(/^".+"$/);
    expect(asked[0].status).toBe(304);
  });

  it('asks with If-Modified-Since when there is no ETag, and skips by digest when there is neither', async () => {
    const noEtag = await serveChartRepo(repo.dir, { etag: false });
    const neither = await serveChartRepo(repo.dir, { etag: false, lastModified: false });
    try {
      const opts = { repository: 'x', maxBytes: 1 << 20, timeoutMs: 10_000 };
      const first = await fetchIndex(noEtag.url, {}, opts);
      expect(first.changed).toBe(true);
      const second = await fetchIndex(noEtag.url, first.state, opts);
      expect(second.changed).toBe(false);
      expect(noEtag.requests.at(-1)).toMatchObject({ status: 304, ifModifiedSince: first.state.lastModified });

      const a = await fetchIndex(neither.url, {}, opts);
      const b = await fetchIndex(neither.url, a.state, opts);
      expect(neither.requests.at(-1)).toMatchObject({ status: 200, ifNoneMatch: undefined });
      expect(b.changed).toBe(false);
      expect(b.state.sha256).toBe(a.state.sha256);
    } finally {
      await noEtag.close();
      await neither.close();
    }
  });

  it('shows a chart published after the last sync once the repository syncs again', async () => {
    expect(await catalog.chart(ADMIN, 'main', 'fresh')).toBeNull();
    await makeChart(join(scratch, 'src'), repo.dir, { name: 'fresh', version: '0.0.1', description: 'New' });
    await helm(['repo', 'index', repo.dir]);
    const synced = await catalog.syncRepository(ADMIN, 'main');
    expect(synced.syncError).toBeNull();
    expect((await catalog.chart(ADMIN, 'main', 'fresh'))?.latestVersion.version).toBe('0.0.1');
  });

  it('syncs periodically, and close() stops it', async () => {
    const served = await serveChartRepo(repo.dir);
    const local = await openRepositoryStore({});
    const periodic = await Catalog.open({ store: local, credentialsSecret: SECRET, syncIntervalMs: 100 });
    try {
      await periodic.addRepository(ADMIN, { name: 'tick', url: served.url });
      await expect
        .poll(() => served.requests.filter((r) => r.status === 304).length, { timeout: 10_000 })
        .toBeGreaterThan(1);
    } finally {
      await periodic.close();
    }
    const after = served.requests.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(served.requests.length).toBe(after);
    await served.close();
  });

  it('close() stops a sync that is waiting on a repository', async () => {
    let hang = false;
    let asked = 0;
    const index = readFileSync(join(repo.dir, 'index.yaml'));
    const slow = createServer((_req, res) => {
      asked++;
      if (!hang) res.end(index);
    });
    await new Promise<void>((ok) => slow.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/`;
    const closing = await Catalog.open({
      store: await openRepositoryStore({}),
      credentialsSecret: SECRET,
      syncIntervalMs: 0,
      timeoutMs: 600_000,
    });
    await closing.addRepository(ADMIN, { name: 'slow', url });
    hang = true;
    const sync = closing.syncRepository(ADMIN, 'slow');
    await expect.poll(() => asked).toBe(2);
    await closing.close();
    expect((await sync).syncError).toMatch(/index.yaml of repository slow/);
    slow.closeAllConnections();
    await new Promise((ok) => slow.close(ok));
  }, 30_000);

  it('records a failed sync in syncError and keeps answering from the last index', async () => {
    const served = await serveChartRepo(repo.dir);
    await catalog.addRepository(ADMIN, { name: 'flaky', url: served.url });
    const { syncedAt } = (await catalog.repository(ADMIN, 'flaky'))!;
    await served.close();
    const failed = await catalog.syncRepository(ADMIN, 'flaky');
    expect(failed.syncError).toMatch(/ECONNREFUSED|refused/);
    expect(failed.syncedAt).toBe(syncedAt);
    expect((await catalog.chart(ADMIN, 'flaky', 'webapp'))?.latestVersion.version).toBe('1.0.0');
    expect(await catalog.removeRepository(ADMIN, 'flaky')).toBe(true);
    expect(await catalog.repository(ADMIN, 'flaky')).toBeNull();
  });

  it('keeps repositories across a restart and between replicas sharing the store', async () => {
    const dir = join(scratch, 'replicas');
    const shared = await openRepositoryStore({ dataDir: dir });
    const noClose = { ...shared, close: async () => {} };
    const a = await Catalog.open({ store: noClose, credentialsSecret: SECRET, syncIntervalMs: 0 });
    const b = await Catalog.open({ store: noClose, credentialsSecret: SECRET, syncIntervalMs: 0 });
    await a.addRepository(ADMIN, { name: 'shared', url: server.url });
    expect((await b.listRepositories(ADMIN)).map((r) => r.name)).toEqual(['shared']);
    expect((await b.chart(ADMIN, 'shared', 'webapp'))?.versions).toHaveLength(4);
    expect(await codeOf(b.addRepository(ADMIN, { name: 'shared', url: server.url }))).toBe('CONFLICT');
    await a.close();
    await b.close();
    await shared.close();
    const reopened = await Catalog.open({
      store: await openRepositoryStore({ dataDir: dir }),
      credentialsSecret: SECRET,
      syncIntervalMs: 0,
    });
    expect((await reopened.charts(ADMIN, { repository: 'shared', search: 'webapp' })).totalCount).toBe(1);
    await reopened.close();
  });
});

describe('charts', () => {
  it('ranks name matches first, then keywords, then descriptions', async () => {
    expect(names(await catalog.charts(ADMIN, { repository: 'main', search: 'nginx' }))).toEqual([
      'nginx-proxy',
      'proxy',
      'webapp',
      'cachebox',
    ]);
    expect(names(await catalog.charts(ADMIN, { repository: 'main', search: '  PROXY ' }))).toEqual([
      'proxy',
      'nginx-proxy',
    ]);
    expect((await catalog.charts(ADMIN, { repository: 'main', search: 'no-such-thing' })).totalCount).toBe(0);
  });

  it('pages with opaque cursors through every chart exactly once', async () => {
    const all = await catalog.charts(ADMIN, { repository: 'main' });
    expect(all.totalCount).toBe(all.edges.length);
    expect(names(all)).toEqual([...names(all)].sort());
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await catalog.charts(ADMIN, { repository: 'main', first: 3, after });
      expect(page.totalCount).toBe(all.totalCount);
      seen.push(...names(page));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(names(all));
    expect(await codeOf(catalog.charts(ADMIN, { first: 2, after: 'bm90IGEgY3Vyc29y' }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(catalog.charts(ADMIN, { first: -1 }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(catalog.charts(ADMIN, { search: 'x'.repeat(1000) }))).toBe('BAD_USER_INPUT');
  });

  it('shows the newest non-prerelease as latest, and every version newest first', async () => {
    const webapp = (await catalog.chart(ADMIN, 'main', 'webapp'))!;
    expect(webapp.latestVersion.version).toBe('1.0.0');
    expect(webapp.versions.map((v) => v.version)).toEqual(['1.1.0-rc.1', '1.0.0', '0.2.0', '0.1.0']);
    expect(webapp).toMatchObject({ description: 'A web application served by nginx', keywords: ['web', 'nginx'] });
    const v1 = webapp.versions[1];
    expect(v1).toMatchObject({ appVersion: 'app-1.0.0', deprecated: false });
    expect(v1.digest).toBe(sha256(Buffer.from(await (await fetch(server.url + 'webapp-1.0.0.tgz')).arrayBuffer())));
    expect(Date.parse(v1.createdAt!)).not.toBeNaN();
    expect((await catalog.chart(ADMIN, 'main', 'onlybeta'))!.latestVersion.version).toBe('0.1.0-beta.1');
    expect((await catalog.chart(ADMIN, 'main', 'legacy'))!.latestVersion.deprecated).toBe(true);
    expect(await catalog.chart(ADMIN, 'main', 'nope')).toBeNull();
  });

  it('reads README, values and values.schema.json from the archive as helm shows them', async () => {
    const tgz = join(repo.dir, 'webapp-1.0.0.tgz');
    const files = await catalog.chartVersionFiles(ADMIN, 'main', 'webapp', '1.0.0');
    // helm prints each with one more newline at the end.
    expect(files.readme).toBe((await helm(['show', 'readme', tgz])).replace(/\n$/, ''));
    expect(files.values).toBe((await helm(['show', 'values', tgz])).replace(/\n$/, ''));
    expect(files.valuesSchema).toMatchObject({ properties: { replicaCount: { type: 'integer', minimum: 0 } } });
    const old = await catalog.chartVersionFiles(ADMIN, 'main', 'webapp', '0.1.0');
    expect(old.valuesSchema).toBeNull();
    expect(old.readme).toContain('version 0.1.0');
    // The dependency's own files (withdep/charts/webapp) are not the chart's.
    const withdep = await catalog.chartVersionFiles(ADMIN, 'main', 'withdep', '1.0.0');
    expect(withdep.valuesSchema).toBeNull();
    expect(withdep.readme).toContain('# withdep');
  });

  it('downloads an archive once, verified, for installs', async () => {
    const count = () => server.requests.filter((r) => r.path === '/webapp-1.0.0.tgz').length;
    const latest = await catalog.fetchChartArchive(ADMIN, 'main', 'webapp');
    expect(latest.version).toBe('1.0.0');
    expect(sha256(latest.bytes)).toBe(latest.digest);
    const downloads = count();
    await catalog.fetchChartArchive(ADMIN, 'main', 'webapp', '1.0.0');
    await catalog.chartVersionFiles(ADMIN, 'main', 'webapp', '1.0.0');
    expect(count()).toBe(downloads);
    const rc = await catalog.fetchChartArchive(ADMIN, 'main', 'webapp', '1.1.0-rc.1');
    expect(rc.version).toBe('1.1.0-rc.1');
    expect(await codeOf(catalog.fetchChartArchive(ADMIN, 'main', 'webapp', '9.9.9'))).toBe('NOT_FOUND');
    expect(await codeOf(catalog.fetchChartArchive(ADMIN, 'main', 'nope'))).toBe('NOT_FOUND');
    expect(await codeOf(catalog.fetchChartArchive(ADMIN, 'missing', 'webapp'))).toBe('NOT_FOUND');
  });
});

describe('credentials', () => {
  it('sends them to the repository, stores them encrypted, never returns them', async () => {
    const auth = { username: 'robot', password: 'pa55-w0rd-never-shown' };
    const locked = await serveChartRepo(repo.dir, { auth });
    try {
      expect(await codeOf(catalog.addRepository(ADMIN, { name: 'locked', url: locked.url }))).toBe('BAD_USER_INPUT');
      expect(await catalog.repository(ADMIN, 'locked')).toBeNull();
      const added = await catalog.addRepository(ADMIN, { name: 'locked', url: locked.url, ...auth });
      expect(JSON.stringify(added)).not.toContain(auth.password);
      expect(JSON.stringify(await catalog.listRepositories(ADMIN))).not.toContain('robot');
      const files = await catalog.chartVersionFiles(ADMIN, 'locked', 'webapp', '0.2.0');
      expect(files.readme).toContain('0.2.0');
      expect(locked.requests.at(-1)).toMatchObject({ path: '/webapp-0.2.0.tgz', status: 200 });

      const row = (await store.get('locked'))!;
      expect(row.credentials).toMatch(/^v1:/);
      for (const plain of [auth.password, auth.username, Buffer.from(auth.password).toString('base64')])
        expect(row.credentials).not.toContain(plain);
      expect(new CredentialsCipher(SECRET).decrypt('locked', row.credentials!)).toEqual(auth);
      expect(() => new CredentialsCipher(SECRET).decrypt('other-name', row.credentials!)).toThrow();
      expect(() => new CredentialsCipher(SECRET + 'x').decrypt('locked', row.credentials!)).toThrow();
      expect(await codeOf(catalog.addRepository(ADMIN, { name: 'nouser', url: locked.url, password: 'x' }))).toBe(
        'BAD_USER_INPUT',
      );
    } finally {
      await catalog.removeRepository(ADMIN, 'locked').catch(() => false);
      await locked.close();
    }
  });

  it('keeps an embedded installation’s key file across restarts, readable by its owner only', () => {
    const dir = join(scratch, 'keyfile');
    const key = localCredentialsKey(dir);
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(localCredentialsKey(dir)).toBe(key);
    expect(statSync(join(dir, 'credentials.key')).mode & 0o777).toBe(0o600);
    const sealed = new CredentialsCipher(key).encrypt('r', { username: 'u', password: 'p' });
    expect(new CredentialsCipher(localCredentialsKey(dir)).decrypt('r', sealed)).toEqual({
      username: 'u',
      password: 'p',
    });
  });
});

describe('authorization', () => {
  beforeAll(async () => {
    await catalog.addRepository(wsRole('wanda', 'ws1', 'workspace-admin'), {
      name: 'ws1-charts',
      url: server.url,
      workspace: 'ws1',
    });
  });

  const visible = async (v: Viewer) => (await catalog.listRepositories(v)).map((r) => r.name).sort();
  const ws1Project: Viewer = {
    username: 'pat',
    platformRole: 'platform-regular',
    projectRoles: { 'ws1-proj': 'project-viewer' },
    tenancy: {
      workspaceOf: (ns) => (ns === 'ws1-proj' ? 'ws1' : undefined),
      namespacesOf: (ws) => (ws === 'ws1' ? ['ws1-proj'] : []),
    },
  };

  it('shows platform repositories to everyone and a workspace’s to its members only', async () => {
    expect(await visible(ADMIN)).toContain('ws1-charts');
    for (const member of [
      wsRole('a', 'ws1', 'workspace-admin'),
      wsRole('b', 'ws1', 'workspace-regular'),
      wsRole('c', 'ws1', 'workspace-viewer'),
      ws1Project,
    ])
      expect(await visible(member)).toEqual(['main', 'ws1-charts']);
    for (const outsider of [REGULAR, wsRole('d', 'ws2', 'workspace-admin')]) {
      expect(await visible(outsider)).toEqual(['main']);
      expect(await codeOf(catalog.charts(outsider, { repository: 'ws1-charts' }))).toBe('FORBIDDEN');
      expect(await codeOf(catalog.chart(outsider, 'ws1-charts', 'webapp'))).toBe('FORBIDDEN');
      expect(await codeOf(catalog.chartVersionFiles(outsider, 'ws1-charts', 'webapp', '1.0.0'))).toBe('FORBIDDEN');
      expect(await codeOf(catalog.fetchChartArchive(outsider, 'ws1-charts', 'webapp'))).toBe('FORBIDDEN');
      expect(await codeOf(catalog.listRepositories(outsider, 'ws1'))).toBe('FORBIDDEN');
      const everything = await catalog.charts(outsider, { search: 'webapp' });
      expect(everything.edges.map((e) => e.node.repository)).toEqual(['main']);
    }
    const inWs1 = await catalog.charts(ws1Project, { search: 'webapp' });
    expect(inWs1.edges.map((e) => e.node.repository)).toEqual(['main', 'ws1-charts']);
    expect((await catalog.listRepositories(ws1Project, 'ws1')).map((r) => r.name)).toEqual(['main', 'ws1-charts']);
  });

  it('lets platform admins manage platform repositories and workspace admins their workspace’s', async () => {
    const add = (v: Viewer, name: string, workspace?: string) =>
      codeOf(catalog.addRepository(v, { name, url: server.url, workspace }));
    expect(await add(REGULAR, 'p1')).toBe('FORBIDDEN');
    expect(await add(wsRole('a', 'ws1', 'workspace-admin'), 'p1')).toBe('FORBIDDEN');
    expect(await add(wsRole('a', 'ws1', 'workspace-admin'), 'p1', 'ws2')).toBe('FORBIDDEN');
    expect(await add(wsRole('b', 'ws1', 'workspace-regular'), 'p1', 'ws1')).toBe('FORBIDDEN');
    expect(await add(ws1Project, 'p1', 'ws1')).toBe('FORBIDDEN');
    expect(await add(ANON, 'p1')).toBe('UNAUTHENTICATED');
    expect(await catalog.repository(ADMIN, 'p1')).toBeNull();
    for (const v of [REGULAR, wsRole('b', 'ws1', 'workspace-regular'), wsRole('c', 'ws1', 'workspace-viewer')]) {
      expect(await codeOf(catalog.syncRepository(v, 'ws1-charts'))).toBe('FORBIDDEN');
      expect(await codeOf(catalog.removeRepository(v, 'ws1-charts'))).toBe('FORBIDDEN');
    }
    expect(await codeOf(catalog.syncRepository(wsRole('a', 'ws1', 'workspace-admin'), 'main'))).toBe('FORBIDDEN');
    expect(await codeOf(catalog.removeRepository(wsRole('a', 'ws1', 'workspace-admin'), 'main'))).toBe('FORBIDDEN');
    expect((await catalog.syncRepository(wsRole('a', 'ws1', 'workspace-admin'), 'ws1-charts')).syncError).toBeNull();
    // Names are unique platform-wide, across workspaces.
    expect(await add(wsRole('e', 'ws2', 'workspace-admin'), 'ws1-charts', 'ws2')).toBe('CONFLICT');
    expect(await add(ADMIN, 'main')).toBe('CONFLICT');
    expect(await codeOf(catalog.listRepositories(ANON))).toBe('UNAUTHENTICATED');
    expect(await codeOf(catalog.charts(ANON, {}))).toBe('UNAUTHENTICATED');
    expect(await codeOf(catalog.fetchChartArchive(ANON, 'main', 'webapp'))).toBe('UNAUTHENTICATED');
    expect(await catalog.removeRepository(ADMIN, 'ws1-charts')).toBe(true);
  });
});
