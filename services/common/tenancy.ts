// Namespace ↔ workspace for subgraphs that hold no namespace cache of their own (monitoring): one watch on
// namespaces, kept in memory, answering the Tenancy questions of services/common/authz.ts.
import * as k8s from '@kubernetes/client-node';
import type { Tenancy } from './authz.js';
import type { Logger } from './log.js';

export const WORKSPACE_LABEL = 'kubesphere.io/workspace';

export class NamespaceTenancy implements Tenancy {
  private readonly workspaces = new Map<string, string>();
  private readonly informer: k8s.Informer<k8s.V1Namespace> & k8s.ObjectCache<k8s.V1Namespace>;
  private stopped = false;

  constructor(kc: k8s.KubeConfig, log: Logger) {
    const api = kc.makeApiClient(k8s.CoreV1Api);
    this.informer = k8s.makeInformer(kc, '/api/v1/namespaces', () => api.listNamespace());
    const set = (ns: k8s.V1Namespace) => {
      const name = ns.metadata?.name;
      if (!name) return;
      const ws = ns.metadata?.labels?.[WORKSPACE_LABEL];
      if (ws) this.workspaces.set(name, ws);
      else this.workspaces.delete(name);
    };
    this.informer.on('add', set);
    this.informer.on('update', set);
    this.informer.on('delete', (ns) => ns.metadata?.name && this.workspaces.delete(ns.metadata.name));
    this.informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      log.warn('namespace watch failed; restarting', { error: String((err as Error)?.message ?? err) });
      setTimeout(() => void (this.stopped ? undefined : this.informer.start().catch(() => undefined)), 1_000);
    });
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
  }

  workspaceOf(namespace: string): string | undefined {
    return this.workspaces.get(namespace);
  }

  namespacesOf(workspace: string): string[] {
    const out: string[] = [];
    for (const [ns, ws] of this.workspaces) if (ws === workspace) out.push(ns);
    return out;
  }
}
