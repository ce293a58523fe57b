// The accounts database: migrations (a failing one leaves the database as it was), concurrent membership changes,
// the embedded PGlite in a data folder across restarts, replicas starting together, and a signing key from the
// environment.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../services/accounts/clients/db.js';
import { migrate, MIGRATIONS, type Migration } from '../services/accounts/clients/migrations.js';
import {
  ADMIN_PASSWORD,
  dropSchema,
  newSchemaName,
  quietLogger,
  startTestAccounts,
  TEST_DATABASE_URL,
  type Backend,
} from './harness/accounts.js';
import { gql } from './harness/graphql.js';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

async function testDb(backend: Backend): Promise<Db> {
  if (backend === 'pglite') {
    const db = await openDb({});
    cleanup.push(() => db.close());
    return db;
  }
  const schema = newSchemaName('accounts_mig');
  const db = await openDb({ url: TEST_DATABASE_URL, schema });
  cleanup.push(async () => {
    await db.close();
    await dropSchema(schema);
  });
  return db;
}

const tableExists = async (db: Db, name: string) =>
  (await db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name])).rows[0].t !== null;

describe.each<Backend>(['postgres', 'pglite'])('migrations on %s', (backend) => {
  it('applies each migration once, in a transaction; a failing one leaves the database as it was', async () => {
    const db = await testDb(backend);
    // Every migration there is, then a failing one after them, then that one fixed.
    const all = MIGRATIONS.map((m) => m.version);
    const last = Math.max(...all);
    const next = last + 1;
    expect(await migrate(db)).toEqual({ applied: all, current: last });
    expect(await migrate(db)).toEqual({ applied: [], current: last });
    await db.query(`INSERT INTO users (username, provider) VALUES ('keep', 'local')`);

    const failing: Migration = {
      version: next,
      name: 'fails halfway',
      sql: `CREATE TABLE extra (id integer PRIMARY KEY);
            ALTER TABLE users ADD COLUMN nickname text;
            INSERT INTO users (username, provider) VALUES ('added', 'local');
            UPDATE users SET state = 'NOT-A-STATE' WHERE username = 'keep';`,
    };
    await expect(migrate(db, [...MIGRATIONS, failing])).rejects.toThrow(
      new RegExp(`migration ${next} \\(fails halfway\\) failed`),
    );
    expect(await tableExists(db, 'extra')).toBe(false);
    const cols = await db.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'users' AND table_schema = current_schema() AND column_name = 'nickname'`,
    );
    expect(cols.rows).toEqual([]);
    expect(
      (await db.query<{ username: string; state: string }>('SELECT username, state FROM users ORDER BY username')).rows,
    ).toEqual([{ username: 'keep', state: 'ACTIVE' }]);
    expect(
      (await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows,
    ).toEqual(all.map((version) => ({ version })));

    // Fixed, it applies.
    const fixed: Migration = {
      version: next,
      name: 'fixed',
      sql: `CREATE TABLE extra (id integer PRIMARY KEY);\nALTER TABLE users ADD COLUMN nickname text;`,
    };
    expect(await migrate(db, [...MIGRATIONS, fixed])).toEqual({ applied: [next], current: next });
    expect(await tableExists(db, 'extra')).toBe(true);
  });

  it('a failing first migration leaves an empty database, and the subgraph does not start', async () => {
    const db = await testDb(backend);
    const broken: Migration = {
      version: 1,
      name: 'broken',
      sql: `CREATE TABLE users (username text PRIMARY KEY);\nSELECT no_such_function();`,
    };
    await expect(migrate(db, [broken])).rejects.toThrow(/no_such_function/);
    expect(await tableExists(db, 'users')).toBe(false);
    const { startAccountsSubgraph } = await import('../services/accounts/server.js');
    await expect(startAccountsSubgraph({ port: 0, db, migrations: [broken], log: quietLogger })).rejects.toThrow(
      /migration 1/,
    );
  });
});

describe.each<Backend>(['postgres', 'pglite'])('concurrency on %s', (backend) => {
  it('100 membership changes in parallel lose none', async () => {
    const a = await startTestAccounts(backend);
    cleanup.push(() => a.close());
    const admin = (await a.login('admin', ADMIN_PASSWORD)).accessToken;
    await a.gql(`mutation { createWorkspace(name: "crowd") { name } }`, {}, admin);
    const names = Array.from({ length: 100 }, (_, i) => `user-${String(i).padStart(3, '0')}`);
    const created = await Promise.all(
      names.map((u) =>
        a.gql(
          `mutation($u: String!) { createUser(input: { username: $u, password: "password-123" }) { username } }`,
          { u },
          admin,
        ),
      ),
    );
    expect(created.filter((r) => r.errors)).toEqual([]);
    const rev0 = (await (await fetch(`${a.sub.baseUrl}/internal/bindings-revision`)).json()) as { revision: number };

    const ADD = `mutation($u: String!, $r: String!) { addWorkspaceMember(workspace: "crowd", username: $u, role: $r) { name } }`;
    const added = await Promise.all(
      names.map((u, i) => a.gql(ADD, { u, r: i % 2 ? 'workspace-viewer' : 'workspace-regular' }, admin)),
    );
    expect(added.filter((r) => r.errors)).toEqual([]);
    const members = async () =>
      (
        await a.gql<{ workspace: { members: { user: { username: string }; role: string }[] } }>(
          `{ workspace(name: "crowd") { members { user { username } role } } }`,
          {},
          admin,
        )
      ).data!.workspace.members;
    expect((await members()).map((m) => m.user.username)).toEqual(names);

    // Then 50 removals and 50 role changes at once.
    const mixed = await Promise.all(
      names.map((u, i) =>
        i < 50
          ? a.gql(
              `mutation($u: String!) { removeWorkspaceMember(workspace: "crowd", username: $u) { name } }`,
              { u },
              admin,
            )
          : a.gql(ADD, { u, r: 'workspace-admin' }, admin),
      ),
    );
    expect(mixed.filter((r) => r.errors)).toEqual([]);
    const after = await members();
    expect(after.map((m) => m.user.username)).toEqual(names.slice(50));
    expect(after.every((m) => m.role === 'workspace-admin')).toBe(true);
    // Every change bumped the bindings revision exactly once.
    const rev1 = (await (await fetch(`${a.sub.baseUrl}/internal/bindings-revision`)).json()) as { revision: number };
    expect(rev1.revision - rev0.revision).toBe(200);
  });
});

describe('embedded PGlite in a data folder', () => {
  it('persists across restarts; the bootstrap admin is created and its generated password printed only on the first start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubegraph-accounts-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const printed: string[] = [];
    const first = await startTestAccounts('pglite', {
      dataDir: join(dir, 'data'),
      adminPassword: undefined,
      onGeneratedAdminPassword: (pw) => printed.push(pw),
    });
    try {
      expect(printed).toHaveLength(1);
      expect(printed[0].length).toBeGreaterThanOrEqual(16);
      const admin = (await first.login('admin', printed[0])).accessToken;
      await first.gql(
        `mutation { createUser(input: { username: "kept", password: "kept-password" }) { username } }`,
        {},
        admin,
      );
    } finally {
      await first.close();
    }
    const second = await startTestAccounts('pglite', {
      dataDir: join(dir, 'data'),
      adminPassword: undefined,
      onGeneratedAdminPassword: (pw) => printed.push(pw),
    });
    try {
      expect(printed).toHaveLength(1);
      await second.login('admin', printed[0]);
      await second.login('kept', 'kept-password');
    } finally {
      await second.close();
    }
  });
});

describe('replicas and keys', () => {
  it('two replicas starting together on one PostgreSQL schema migrate once, share one signing key and one bootstrap admin', async () => {
    const schema = newSchemaName('accounts_rep');
    cleanup.push(() => dropSchema(schema));
    const printed: string[] = [];
    const [r1, r2] = await Promise.all(
      [1, 2].map(() =>
        startTestAccounts('postgres', {
          dbSchema: schema,
          adminPassword: undefined,
          onGeneratedAdminPassword: (pw) => printed.push(pw),
        }),
      ),
    );
    cleanup.push(
      () => r1.close(),
      () => r2.close(),
    );
    expect(printed).toHaveLength(1);
    const t = (await r1.login('admin', printed[0])).accessToken;
    // A token from one replica is good at the other: one key, published by both.
    expect((await r2.gql(`{ me { username } }`, {}, t)).data).toEqual({ me: { username: 'admin' } });
    const k1 = (await (await fetch(`${r1.sub.baseUrl}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    const k2 = (await (await fetch(`${r2.sub.baseUrl}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(k1.keys.map((k) => k.kid)).toEqual(k2.keys.map((k) => k.kid));
    expect(k1.keys).toHaveLength(1);
  });

  it('signs with a key from the environment (EdDSA PEM) and publishes it under its kid', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const a = await startTestAccounts('pglite', {
      settings: { signingKeyPem: pem, signingKeyKid: 'env-key-1', signingAlg: 'EdDSA' },
    });
    cleanup.push(() => a.close());
    const t = (await a.login('admin', ADMIN_PASSWORD)).accessToken;
    expect(decodeProtectedHeader(t)).toMatchObject({ alg: 'EdDSA', kid: 'env-key-1' });
    const { payload } = await jwtVerify(t, createRemoteJWKSet(new URL(`${a.sub.baseUrl}/.well-known/jwks.json`)));
    expect(payload.sub).toBe('admin');
    const r = await gql(a.sub.url, `mutation { rotateSigningKey }`, {}, { authorization: `Bearer ${t}` });
    expect(r.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});
