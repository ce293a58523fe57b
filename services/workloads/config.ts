// The workloads subgraph's environment variables, validated once at start (README "Configuration"). The cluster
// itself comes from KUBECONFIG (or the pod's service account) through KubeConfig.loadFromDefault().
import { envInt, envString } from '../common/config.js';

export function workloadsOptionsFromEnv(): { port: number; host: string } {
  return {
    port: envInt('WORKLOADS_PORT', 4002, { min: 0, max: 65535 }),
    host: envString('WORKLOADS_HOST', '127.0.0.1')!,
  };
}
