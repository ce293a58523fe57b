// The sandbox's environment variables (see README "Configuration").
import { resolve } from 'node:path';
import { envBool, envInt, envNumber, envString } from '../common/config.js';
import type { SandboxOptions } from './sandbox.js';

export const DEFAULT_SANDBOX_KUBECONFIG = '.sandbox/kubeconfig';

export function sandboxOptionsFromEnv(): SandboxOptions {
  const pods = envInt('SANDBOX_PODS', 0, { min: 0, max: 200_000 });
  const nodes = envInt('SANDBOX_NODES', pods ? Math.max(3, Math.ceil(pods / 100)) : 3, { min: 1, max: 5_000 });
  return {
    port: envInt('SANDBOX_PORT', 6443, { min: 0, max: 65535 }),
    host: envString('SANDBOX_HOST', '127.0.0.1'),
    tls: envBool('SANDBOX_TLS', true),
    kubeconfigPath: resolve(envString('SANDBOX_KUBECONFIG', DEFAULT_SANDBOX_KUBECONFIG)!),
    seed: pods ? { kind: 'scale', pods, nodes } : { kind: 'demo' },
    speed: envNumber('SANDBOX_SPEED', 1, { min: 0.01, max: 1000 }),
  };
}
