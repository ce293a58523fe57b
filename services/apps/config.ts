// The apps subgraph's environment variables, validated once at start (README "Configuration"). The cluster itself
// comes from KUBECONFIG (or the pod's service account), handed over as a KubeConfig.
import { accessSync, constants } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, envInt, envString } from '../common/config.js';

/** The Helm 4 binary `npm run tools` unpacks (in production the image ships one and HELM_BIN names it). */
export const DEFAULT_HELM_BIN = resolve(import.meta.dirname, '../../.tools/bin/helm');

export interface AppsEnvOptions {
  port: number;
  host: string;
  helmBin: string;
  helmTimeoutSeconds: number;
}

export function appsOptionsFromEnv(): AppsEnvOptions {
  const raw = envString('HELM_BIN');
  const helmBin = raw === undefined ? DEFAULT_HELM_BIN : isAbsolute(raw) ? raw : resolve(raw);
  try {
    accessSync(helmBin, constants.X_OK);
  } catch {
    throw new ConfigError(
      raw === undefined
        ? `HELM_BIN is unset and ${helmBin} is not an executable: run npm run tools, or set HELM_BIN to a helm binary`
        : `HELM_BIN=${JSON.stringify(raw)} is not a valid value: expected the path of an executable helm binary`,
    );
  }
  return {
    port: envInt('APPS_PORT', 4005, { min: 0, max: 65535 }),
    host: envString('APPS_HOST', '127.0.0.1')!,
    helmBin,
    helmTimeoutSeconds: envInt('HELM_TIMEOUT_SECONDS', 300, { min: 1, max: 3600 }),
  };
}
