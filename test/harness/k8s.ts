// Small helpers for tests that talk to the sandbox through @kubernetes/client-node.
import * as k8s from '@kubernetes/client-node';

export interface StatusLike {
  code: number;
  reason?: string;
  message?: string;
  details?: {
    causes?: { field?: string; reason?: string; message?: string }[];
    kind?: string;
    name?: string;
    group?: string;
  };
}

/** The Kubernetes Status a client call failed with. */
export async function statusOf(call: Promise<unknown>): Promise<StatusLike> {
  try {
    await call;
  } catch (e) {
    if (e instanceof k8s.ApiException) {
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      return { ...body, code: e.code };
    }
    throw e;
  }
  throw new Error('expected the call to fail');
}

export interface WatchEvent {
  type: string;
  object: k8s.KubernetesObject & { code?: number; reason?: string };
}

/** Opens a raw watch and collects its events until stopped. */
export async function collectWatch(kc: k8s.KubeConfig, path: string, query: Record<string, string | number | boolean>) {
  const events: WatchEvent[] = [];
  let ended: unknown = undefined;
  let done = false;
  const controller = await new k8s.Watch(kc).watch(
    path,
    query,
    (type, object) => events.push({ type, object }),
    (err) => {
      done = true;
      ended = err;
    },
  );
  return {
    events,
    get done() {
      return done;
    },
    get error() {
      return ended;
    },
    stop: () => controller.abort(),
  };
}

export const configMap = (
  name: string,
  namespace: string,
  labels: Record<string, string> = {},
  data: Record<string, string> = {},
): k8s.V1ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels },
  data,
});
