// Chart repositories kept in the real PostgreSQL (TEST_DATABASE_URL, a schema of this file's own, dropped after), as
// replicas share them: two stores migrating the same fresh schema at once, the unique name under concurrent inserts,
// and two catalogs (replicas) where one adds a repository with credentials and the other reads its charts with them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Viewer } from '../services/common/authz.js';
import { openRepositoryStore, type RepositoryStore } from '../services/apps/clients/repository-store.js';
import { Catalog } from '../services/apps/model/catalog.js';
import { dropSchema, newSchemaName, TEST_DATABASE_URL } from './harness/accounts.js';
import { buildChartRepo, serveChartRepo, type BuiltChartRepo, type ChartRepoServer } from './harness/charts.js';

const ADMIN: Viewer = { username: 'admin', platformRole: 'platform-admin' };
const SECRET = 'replica-shared-secret-0123456789';
const schema = newSchemaName('apps_test');
let stores: RepositoryStore[] = [];
let repo: BuiltChartRepo;
let server: ChartRepoServer;
const auth = { username: 'robot', password: 'replica-pw-1' };

beforeAll(async () => {
  repo = await buildChartRepo();
  server = await serveChartRepo(repo.dir, { auth });
  // Both replicas start at once on an empty schema: the migration lock makes one create the table.
  stores = await Promise.all([1, 2].map(() => openRepositoryStore({ databaseUrl: TEST_DATABASE_URL, schema })));
}, 120_000);

afterAll(async () => {
  for (const s of stores) await s.close().catch(() => {});
  await dropSchema(schema);
  await server?.close();
  repo?.cleanup();
});

const row = (name: string) => ({
  name,
  url: 'http://127.0.0.1:1/',
  workspace: null,
  credentials: null,
  synced_at: null,
  sync_error: null,
});

describe('repositories in PostgreSQL', () => {
  it('keeps names unique across replicas, even when both insert at once', async () => {
    const results = await Promise.all(stores.map((s) => s.insert(row('race'))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await stores[1].get('race'))?.url).toBe('http://127.0.0.1:1/');
    await stores[0].recordSync('race', null, 'it failed');
    expect(await stores[1].get('race')).toMatchObject({ synced_at: null, sync_error: 'it failed' });
    expect(await stores[1].delete('race')).toBe(true);
    expect(await stores[0].get('race')).toBeUndefined();
  });

  it('lets one replica add a repository with credentials and another read its charts with them', async () => {
    const keep = (s: RepositoryStore) => ({ ...s, close: async () => {} });
    const [a, b] = await Promise.all(
      stores.map((s) => Catalog.open({ store: keep(s), credentialsSecret: SECRET, syncIntervalMs: 0 })),
    );
    try {
      await a.addRepository(ADMIN, { name: 'shared', url: server.url, ...auth });
      const viaB = await b.chartVersionFiles(ADMIN, 'shared', 'webapp', '1.0.0');
      expect(viaB.readme).toContain('version 1.0.0');
      expect(server.requests.filter((r) => r.status === 401)).toEqual([]);
      const stored = (await stores[1].get('shared'))!.credentials!;
      expect(stored).not.toContain(auth.password);
      expect((await b.listRepositories(ADMIN)).map((r) => r.name)).toEqual(['shared']);
      expect(await b.removeRepository(ADMIN, 'shared')).toBe(true);
      expect(await a.listRepositories(ADMIN)).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
