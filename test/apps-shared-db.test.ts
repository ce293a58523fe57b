// Apps' repositories in a database it is handed (npm start: accounts' embedded PGlite, one PGlite to open instead of
// two, issue 19 §4): the table in schema `apps` whatever the connection's search_path, the database left open for its
// owner, and an upgrade from an apps database of its own (APPS_DATA_DIR before) losing no repository: copied once,
// credentials still readable with the key beside them, that folder not read again.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../services/accounts/clients/db.js';
import { migrate } from '../services/accounts/clients/migrations.js';
import { MOVED_MARKER, openRepositoryStore } from '../services/apps/clients/repository-store.js';
import { CredentialsCipher, localCredentialsKey } from '../services/apps/model/catalog-credentials.js';

const scratch = mkdtempSync(join(tmpdir(), 'kubegraph-apps-shared-db-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const row = (name: string, credentials: string | null = null) => ({
  name,
  url: `https://charts.example.test/${name}`,
  workspace: null,
  credentials,
  synced_at: null,
  sync_error: null,
});

describe('repositories in a shared database', () => {
  it('keeps its table in schema apps beside accounts tables, and leaves the database open', async () => {
    const db = await openDb({ dataDir: join(scratch, 'shared') });
    await migrate(db);
    const store = await openRepositoryStore({ db });
    expect(await store.insert(row('main'))).toBe(true);
    expect(await store.insert(row('main'))).toBe(false);
    await store.close();
    // Still open for accounts; the table is apps.helm_repositories, none in accounts' search_path.
    const where = await db.query<{ apps: string | null; plain: string | null }>(
      `SELECT to_regclass('apps.helm_repositories')::text AS apps, to_regclass('helm_repositories')::text AS plain`,
    );
    expect(where.rows[0]).toEqual({ apps: 'apps.helm_repositories', plain: null });
    expect((await db.query(`SELECT 1 FROM users LIMIT 1`)).rowCount).toBeGreaterThanOrEqual(0);
    await db.close();
    const reopened = await openDb({ dataDir: join(scratch, 'shared') });
    expect((await (await openRepositoryStore({ db: reopened })).list()).map((r) => r.name)).toEqual(['main']);
    await reopened.close();
  });

  it('copies the repositories of an earlier apps database once, credentials still readable', async () => {
    const appsDir = join(scratch, 'apps');
    const key = localCredentialsKey(appsDir);
    const sealed = new CredentialsCipher(key).encrypt('private', { username: 'u', password: 'p' });
    const earlier = await openRepositoryStore({ dataDir: appsDir });
    await earlier.insert(row('public'));
    await earlier.insert(row('private', sealed));
    await earlier.close();

    const db = await openDb({ dataDir: join(scratch, 'accounts') });
    await migrate(db);
    const store = await openRepositoryStore({ db, dataDir: appsDir });
    const rows = await store.list();
    expect(rows.map((r) => r.name)).toEqual(['private', 'public']);
    expect(new CredentialsCipher(localCredentialsKey(appsDir)).decrypt('private', rows[0]!.credentials!)).toEqual({
      username: 'u',
      password: 'p',
    });
    expect(readFileSync(join(appsDir, MOVED_MARKER), 'utf8')).toContain('(2)');
    // Removed afterwards: not brought back from the earlier database at the next start.
    expect(await store.delete('public')).toBe(true);
    await db.close();
    const again = await openDb({ dataDir: join(scratch, 'accounts') });
    const next = await openRepositoryStore({ db: again, dataDir: appsDir });
    expect((await next.list()).map((r) => r.name)).toEqual(['private']);
    await again.close();
    expect(existsSync(join(appsDir, 'PG_VERSION'))).toBe(true);
  });

  it('takes nothing from a folder that holds only credentials.key (a fresh install)', async () => {
    const appsDir = join(scratch, 'fresh-apps');
    localCredentialsKey(appsDir);
    const db = await openDb({ dataDir: join(scratch, 'fresh-accounts') });
    expect(await (await openRepositoryStore({ db, dataDir: appsDir })).list()).toEqual([]);
    expect(existsSync(join(appsDir, MOVED_MARKER))).toBe(false);
    await db.close();
  });
});
