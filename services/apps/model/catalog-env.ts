// The catalog's configuration from the environment, and opening it (for server.ts / main.ts / start.ts):
//   catalogOptionsFromEnv(): CatalogEnvOptions      read and validated once at start (ConfigError names the variable)
//   openCatalog(env, extra?): Promise<Catalog>      the repository store (PostgreSQL or PGlite), then the catalog
//
//   DATABASE_URL             the accounts database; the catalog uses a schema of its own in it (APPS_DB_SCHEMA, `apps`)
//   APPS_DATA_DIR            without DATABASE_URL: the embedded PGlite's folder (default .data/apps)
//   APPS_CREDENTIALS_KEY     the secret repository credentials are sealed with (>= 16 characters); default
//                            KUBEGRAPH_IDENTITY_SECRET; with neither and no DATABASE_URL, a random key kept in
//                            APPS_DATA_DIR/credentials.key (mode 0600), so `npm start`'s per-run identity secret does not
//                            make stored credentials unreadable after a restart. With DATABASE_URL (replicas) a shared
//                            secret must be set.
//   APPS_REPO_SYNC_SECONDS   periodic sync of every repository (default 600; 0: off)
//   APPS_INDEX_MAX_BYTES     largest index.yaml (default 104857600)
//   APPS_CHART_MAX_BYTES     largest chart archive (default 20971520)
//   APPS_CHART_CACHE_BYTES   memory for cached archives (default 67108864)
//   APPS_HTTP_TIMEOUT_SECONDS deadline of one repository request (default 30)
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, envInt, envString } from '../../common/config.js';
import { IDENTITY_SECRET_ENV } from '../../common/identity.js';
import type { Logger } from '../../common/log.js';
import { openRepositoryStore } from '../clients/repository-store.js';
import type { Resolver } from '../clients/url-check.js';
import { Catalog } from './catalog.js';

export interface CatalogEnvOptions {
  databaseUrl?: string;
  dbSchema: string;
  dataDir: string;
  /** Undefined: the key file in dataDir (PGlite only). */
  credentialsSecret?: string;
  syncIntervalMs: number;
  indexMaxBytes: number;
  archiveMaxBytes: number;
  archiveCacheBytes: number;
  timeoutMs: number;
}

export function catalogOptionsFromEnv(): CatalogEnvOptions {
  const databaseUrl = envString('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new ConfigError('DATABASE_URL is not a valid value: expected postgres://user:password@host:port/database');
  const dbSchema = envString('APPS_DB_SCHEMA', 'apps')!;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(dbSchema))
    throw new ConfigError(
      `APPS_DB_SCHEMA=${JSON.stringify(dbSchema)} is not a valid value: expected a lowercase SQL identifier`,
    );
  const credentialsSecret = envString('APPS_CREDENTIALS_KEY') ?? envString(IDENTITY_SECRET_ENV);
  if (credentialsSecret !== undefined && credentialsSecret.length < 16)
    throw new ConfigError('APPS_CREDENTIALS_KEY (or KUBEGRAPH_IDENTITY_SECRET) must be at least 16 characters');
  if (credentialsSecret === undefined && databaseUrl !== undefined)
    throw new ConfigError(
      'APPS_CREDENTIALS_KEY is not set: with DATABASE_URL every apps replica must seal repository credentials with the same secret (or set KUBEGRAPH_IDENTITY_SECRET)',
    );
  return {
    databaseUrl,
    dbSchema,
    dataDir: envString('APPS_DATA_DIR', '.data/apps')!,
    credentialsSecret,
    syncIntervalMs: envInt('APPS_REPO_SYNC_SECONDS', 600, { min: 0, max: 7 * 86400 }) * 1000,
    indexMaxBytes: envInt('APPS_INDEX_MAX_BYTES', 100 << 20, { min: 1024, max: 2 ** 31 }),
    archiveMaxBytes: envInt('APPS_CHART_MAX_BYTES', 20 << 20, { min: 1024, max: 2 ** 31 }),
    archiveCacheBytes: envInt('APPS_CHART_CACHE_BYTES', 64 << 20, { min: 0, max: 2 ** 40 }),
    timeoutMs: envInt('APPS_HTTP_TIMEOUT_SECONDS', 30, { min: 1, max: 3600 }) * 1000,
  };
}

/** The key file of a single embedded installation: made once, kept with the database it protects. */
function localCredentialsKey(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'credentials.key');
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}

export async function openCatalog(
  env: CatalogEnvOptions,
  extra: { log?: Logger; resolver?: Resolver } = {},
): Promise<Catalog> {
  const store = await openRepositoryStore({
    databaseUrl: env.databaseUrl,
    dataDir: env.databaseUrl ? undefined : env.dataDir,
    schema: env.dbSchema,
  });
  try {
    return await Catalog.open({
      store,
      credentialsSecret: env.credentialsSecret ?? localCredentialsKey(env.dataDir),
      syncIntervalMs: env.syncIntervalMs,
      indexMaxBytes: env.indexMaxBytes,
      archiveMaxBytes: env.archiveMaxBytes,
      archiveCacheBytes: env.archiveCacheBytes,
      timeoutMs: env.timeoutMs,
      ...extra,
    });
  } catch (e) {
    await store.close();
    throw e;
  }
}
