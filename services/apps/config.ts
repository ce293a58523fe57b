// The apps subgraph's environment variables, validated once at start (README "Configuration"). The cluster itself
// comes from KUBECONFIG (or the pod's service account), handed over as a KubeConfig.
import { accessSync, constants } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, envInt, envString } from '../common/config.js';
import type { AppsRepositoryOptions } from './server.js';

/** The Helm 4 binary `npm run tools` unpacks (in production the image ships one and HELM_BIN names it). */
export const DEFAULT_HELM_BIN = resolve(import.meta.dirname, '../../.tools/bin/helm');

export interface AppsEnvOptions {
  port: number;
  host: string;
  helmBin: string;
  helmTimeoutSeconds: number;
  repositories: AppsRepositoryOptions;
}

export function appsOptionsFromEnv(): AppsEnvOptions {
  const raw = envString('HELM_BIN');
  const helmBin = raw === undefined ? DEFAULT_HELM_BIN : isAbsolute(raw) ? raw : resolve(raw);
  // The default may be missing until `npm run tools` has run: operations then answer UPSTREAM_UNAVAILABLE saying so,
  // and everything else works. A HELM_BIN that was set must be right.
  if (raw !== undefined) {
    try {
      accessSync(helmBin, constants.X_OK);
    } catch {
      throw new ConfigError(
        `HELM_BIN=${JSON.stringify(raw)} is not a valid value: expected the path of an executable helm binary`,
      );
    }
  }
  return {
    port: envInt('APPS_PORT', 4005, { min: 0, max: 65535 }),
    host: envString('APPS_HOST', '127.0.0.1')!,
    helmBin,
    helmTimeoutSeconds: envInt('HELM_TIMEOUT_SECONDS', 300, { min: 1, max: 3600 }),
    repositories: repositoriesFromEnv(),
  };
}

/** Where repositories are kept: the accounts database (DATABASE_URL) in a schema of its own, else an embedded PGlite. */
function repositoriesFromEnv(): AppsRepositoryOptions {
  const databaseUrl = envString('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new ConfigError('DATABASE_URL is not a valid value: expected postgres://user:password@host:port/db');
  const schema = envString('APPS_DB_SCHEMA', 'apps')!;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new ConfigError(
      `APPS_DB_SCHEMA=${JSON.stringify(schema)} is not a valid value: expected a lowercase SQL name`,
    );
  const credentialsSecret = envString('APPS_CREDENTIALS_KEY') ?? envString('KUBEGRAPH_IDENTITY_SECRET');
  if (credentialsSecret !== undefined && credentialsSecret.length < 16)
    throw new ConfigError('APPS_CREDENTIALS_KEY must be at least 16 characters');
  return {
    databaseUrl,
    dataDir: databaseUrl ? undefined : envString('APPS_DATA_DIR', '.data/apps'),
    schema,
    credentialsSecret,
    syncIntervalMs: envInt('APPS_SYNC_INTERVAL_MS', 600_000, { min: 0, max: 86_400_000 }),
  };
}
