// The cluster a service started on its own talks to: KUBECONFIG, or the pod's service account (client-node's
// loadFromDefault), read once at start; or one given as kubeconfig YAML (npm start's sandbox).
import * as k8s from '@kubernetes/client-node';

export function clusterFromEnv(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  return kc;
}

export function clusterFromKubeconfig(yaml: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}
