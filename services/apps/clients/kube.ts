// What the apps subgraph asks the Kubernetes API directly (beside the release Secret informer): whether a kind is
// namespaced (discovery, for the rules on a chart's objects), a role's rules (for role bindings in a chart), and a
// workload's metadata (does the workload a release's manifest names exist, and is it the release's).
import * as k8s from '@kubernetes/client-node';
import { upstreamUnavailable } from '../../common/errors.js';

/** KubernetesObjectApi with its discovery lookup made public. */
class ObjectApi extends k8s.KubernetesObjectApi {
  kindResource(apiVersion: string, kind: string): Promise<k8s.V1APIResource | undefined> {
    return this.resource(apiVersion, kind);
  }
}

const statusOf = (e: unknown): number | undefined => {
  const err = e as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } };
  const code = [err?.code, err?.statusCode, err?.response?.statusCode].find((c) => typeof c === 'number');
  return code as number | undefined;
};

export interface ObjectMetadata {
  name: string;
  namespace?: string;
  annotations: Record<string, string>;
}

export class AppsKubeClient {
  constructor(private readonly kubeConfig: k8s.KubeConfig) {}

  /** A discovery session: kinds resolved once per apiVersion for its lifetime (one operation's checks). */
  discovery(): { namespaced(apiVersion: string, kind: string): Promise<boolean | undefined> } {
    const api = this.kubeConfig.makeApiClient(ObjectApi);
    return {
      namespaced: async (apiVersion, kind) => {
        try {
          const r = await api.kindResource(apiVersion, kind);
          return r === undefined ? undefined : r.namespaced;
        } catch (e) {
          // An apiVersion the cluster does not serve: discovery answers 404.
          if (statusOf(e) === 404) return undefined;
          throw upstreamUnavailable('apps', `Kubernetes API unreachable (discovery of ${apiVersion}): ${message(e)}`);
        }
      },
    };
  }

  /** An object's metadata, or undefined when there is none of that name (404). */
  async metadata(apiVersion: string, kind: string, namespace: string | undefined, name: string) {
    const api = k8s.KubernetesObjectApi.makeApiClient(this.kubeConfig);
    try {
      const o = await api.read({ apiVersion, kind, metadata: { name, namespace } });
      return {
        name,
        namespace,
        annotations: (o.metadata?.annotations ?? {}) as Record<string, string>,
        rules: (o as { rules?: unknown }).rules,
      };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw upstreamUnavailable('apps', `Kubernetes API unreachable (reading ${kind} ${name}): ${message(e)}`);
    }
  }
}

/** What went wrong, without the API server's address (a connection error's message names it). */
const message = (e: unknown) => {
  const code = statusOf(e);
  if (typeof code === 'number') return `HTTP ${code}`;
  const sys =
    (e as { code?: unknown; cause?: { code?: unknown } })?.code ?? (e as { cause?: { code?: unknown } })?.cause?.code;
  return typeof sys === 'string' ? sys : 'no answer';
};
