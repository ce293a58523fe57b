// When each namespace that exists now was created, from one watch on namespaces (common/k8s/informer.ts): a search
// shows a namespace's lines from its creation on, so a namespace deleted and created again under the same name does
// not show the old one's lines (as KubeSphere filters each namespace from its creation time). Tenancy (which
// workspace a namespace is in) is common/tenancy.ts's; this view keeps only the creation times it does not hold.
import * as k8s from '@kubernetes/client-node';
import { Informer, StoppableWatch } from '../../common/k8s/informer.js';
import type { Logger } from '../../common/log.js';

export interface NamespaceCreationTimes {
  /** The creation time (ms since the epoch) of the namespace under this name now; undefined: none or not known. */
  createdAt(namespace: string): number | undefined;
  /** Every namespace known, with its creation time. */
  entries(): Iterable<[string, number]>;
}

export class NamespaceCreationWatch implements NamespaceCreationTimes {
  private readonly created = new Map<string, { uid: string; at: number }>();
  private readonly watch: StoppableWatch;
  private readonly informer: Informer<k8s.V1Namespace>;

  constructor(kc: k8s.KubeConfig, log: Logger) {
    const api = kc.makeApiClient(k8s.CoreV1Api);
    this.watch = new StoppableWatch(kc);
    this.informer = new Informer<k8s.V1Namespace>({
      path: '/api/v1/namespaces',
      watch: this.watch,
      list: () => api.listNamespace(),
      onChange: (type, ns) => {
        const name = ns.metadata?.name;
        const uid = ns.metadata?.uid;
        if (!name || !uid) return;
        if (type === 'DELETED') {
          if (this.created.get(name)?.uid === uid) this.created.delete(name);
          return;
        }
        const created = ns.metadata?.creationTimestamp as Date | string | undefined;
        const at = created instanceof Date ? created.getTime() : Date.parse(String(created ?? ''));
        if (!Number.isNaN(at)) this.created.set(name, { uid, at });
      },
      onError: (err, attempt, delayMs) =>
        log.warn('namespace creation watch failed; restarting', {
          attempt,
          delayMs,
          error: String((err as Error)?.message ?? err),
        }),
      backoff: { initialMs: 1_000 },
    });
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  async stop(): Promise<void> {
    await this.informer.stop();
    this.watch.stop();
  }

  createdAt(namespace: string): number | undefined {
    return this.created.get(namespace)?.at;
  }

  *entries(): Iterable<[string, number]> {
    for (const [name, { at }] of this.created) yield [name, at];
  }
}
