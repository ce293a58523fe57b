// `npm start` makes a new identity secret on every run while the apps subgraph's embedded database (APPS_DATA_DIR)
// outlives it: repository credentials sealed with that secret would be unreadable after a restart. The subgraph keeps
// its own key file next to an embedded database instead. Checked end to end: a repository behind basic auth added by
// one run still syncs in the next run, started with another identity secret.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppsSubgraph } from '../services/apps/server.js';
import { buildChartRepo, serveChartRepo, type BuiltChartRepo, type ChartRepoServer } from './harness/charts.js';
import { IDENTITY_HEADER, identityKey, signIdentity } from '../services/common/identity.js';
import { gql, setDefaultHeaders } from './harness/graphql.js';
import { startTestSandbox, type TestSandbox } from './harness/sandbox.js';
import { quietLogger } from './harness/stack.js';

const auth = { username: 'charts', password: 'a-repository-password-1' };

describe('apps subgraph on an embedded database, restarted with a new identity secret', () => {
  let cluster: TestSandbox;
  let built: BuiltChartRepo;
  let repo: ChartRepoServer;
  let dataDir: string;

  beforeAll(async () => {
    cluster = await startTestSandbox({ seed: { kind: 'empty' } });
    built = await buildChartRepo([{ name: 'webapp', version: '1.0.0', description: 'A web app' }]);
    repo = await serveChartRepo(built.dir, { auth });
    dataDir = mkdtempSync(join(tmpdir(), 'kubegraph-apps-data-'));
  });
  afterAll(async () => {
    await repo?.close();
    built?.cleanup();
    await cluster?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  // Each run with its own identity secret, as npm start makes one; requests signed as its gateway would sign them.
  const start = async (identitySecret: string) => {
    const apps = await startAppsSubgraph({
      port: 0,
      log: quietLogger,
      kubeConfig: cluster.kc,
      identitySecret,
      repositories: { dataDir, syncIntervalMs: 0 },
    });
    const admin = { username: 'admin', platformRole: 'platform-admin' };
    setDefaultHeaders(apps.url, { [IDENTITY_HEADER]: await signIdentity(identityKey(identitySecret), admin, 600) });
    return apps;
  };

  it('still reads the stored credentials', async () => {
    const first = await start('first-run-identity-secret-1234');
    try {
      const added = await gql<{ addHelmRepository: { name: string; syncError: string | null } }>(
        first.url,
        'mutation($i: HelmRepositoryInput!) { addHelmRepository(input: $i) { name syncError } }',
        { i: { name: 'private', url: repo.url, username: auth.username, password: auth.password } },
      );
      expect(added.errors).toBeUndefined();
      expect(added.data?.addHelmRepository.syncError).toBeNull();
    } finally {
      await first.close();
    }
    expect(statSync(join(dataDir, 'credentials.key')).mode & 0o777).toBe(0o600);

    const second = await start('second-run-identity-secret-5678');
    try {
      const before = repo.requests.length;
      const synced = await gql<{
        syncHelmRepository: { syncError: string | null; charts: { edges: { node: { name: string } }[] } };
      }>(
        second.url,
        'mutation { syncHelmRepository(name: "private") { syncError charts { edges { node { name } } } } }',
      );
      expect(synced.errors).toBeUndefined();
      expect(synced.data?.syncHelmRepository.syncError).toBeNull();
      expect(synced.data?.syncHelmRepository.charts.edges.map((e) => e.node.name)).toContain('webapp');
      // The second run did ask the repository, with the stored credentials.
      const asked = repo.requests.slice(before);
      expect(asked.some((r) => r.status === 200 || r.status === 304)).toBe(true);
      expect(asked.every((r) => r.status !== 401)).toBe(true);
    } finally {
      await second.close();
    }
  });
});
