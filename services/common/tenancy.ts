// Namespace ↔ workspace for subgraphs that hold no namespace cache of their own (monitoring, accounts): one watch on
// namespaces, kept in memory, answering the Tenancy questions of services/common/authz.ts. Each namespace is known
// with its uid, so that what was granted on one namespace is never taken for a later one of the same name.
import * as k8s from '@kubernetes/client-node';
import type { Tenancy } from './authz.js';
import type { Logger } from './log.js';
import { Informer, StoppableWatch, warnOnRestart } from './k8s/informer.js';
import { WORKSPACE_LABEL } from './k8s/labels.js';

// Defined with the rest of the Kubernetes vocabulary; re-exported for the subgraphs that import them from here.
export { CREATOR_ANNOTATION, WORKSPACE_LABEL } from './k8s/labels.js';

/** A namespace as tenancy sees it: its uid and the workspace its label names (none: platform admins only). */
export interface NamespaceEntry {
  name: string;
  uid: string;
  workspace?: string;
  /** Its creationTimestamp (ms since the epoch), when the API server gave one. */
  createdAt?: number;
}

export const entryOf = (ns: k8s.V1Namespace): NamespaceEntry | undefined => {
  const name = ns.metadata?.name;
  const uid = ns.metadata?.uid;
  if (!name || !uid) return undefined;
  const entry: NamespaceEntry = { name, uid };
  const workspace = ns.metadata?.labels?.[WORKSPACE_LABEL];
  if (workspace) entry.workspace = workspace;
  const created = ns.metadata?.creationTimestamp as Date | string | undefined;
  const at = created instanceof Date ? created.getTime() : Date.parse(String(created ?? ''));
  if (!Number.isNaN(at)) entry.createdAt = at;
  return entry;
};

/** When each namespace that exists now was created (a search shows a namespace's lines from its creation on). */
export interface NamespaceCreationTimes {
  /** The creation time (ms since the epoch) of the namespace under this name now; undefined: none or not known. */
  createdAt(namespace: string): number | undefined;
  /** Every namespace known, with its creation time. */
  entries(): Iterable<[string, number]>;
}

export class NamespaceTenancy implements Tenancy, NamespaceCreationTimes {
  private readonly namespaces = new Map<string, NamespaceEntry>();
  private readonly watch: StoppableWatch;
  private readonly informer: Informer<k8s.V1Namespace>;
  private readonly api: k8s.CoreV1Api;
  private readonly deletedListeners: ((entry: NamespaceEntry) => void)[] = [];
  private readonly listedListeners: (() => void)[] = [];

  constructor(kc: k8s.KubeConfig, log: Logger) {
    this.api = kc.makeApiClient(k8s.CoreV1Api);
    this.watch = new StoppableWatch(kc);
    const set = (ns: k8s.V1Namespace) => {
      const entry = entryOf(ns);
      if (!entry) return;
      const before = this.namespaces.get(entry.name);
      // A new uid under a known name: the old namespace is gone even if its DELETED event was missed.
      if (before && before.uid !== entry.uid) this.deleted(before);
      this.namespaces.set(entry.name, entry);
    };
    const remove = (ns: k8s.V1Namespace) => {
      const entry = entryOf(ns);
      if (!entry) return;
      if (this.namespaces.get(entry.name)?.uid === entry.uid) this.namespaces.delete(entry.name);
      this.deleted(entry);
    };
    this.informer = new Informer<k8s.V1Namespace>({
      path: '/api/v1/namespaces',
      watch: this.watch,
      list: () => this.api.listNamespace(),
      onChange: (type, ns) => (type === 'DELETED' ? remove(ns) : set(ns)),
      onListed: () => {
        for (const l of this.listedListeners) l();
      },
      onError: warnOnRestart(log, 'namespace watch failed; restarting'),
      backoff: { initialMs: 1_000 },
    });
  }

  /** Resolves once the first attempt has ended: the first list is in, or it failed and is being retried. */
  async start(): Promise<void> {
    await this.informer.start();
  }

  async stop(): Promise<void> {
    await this.informer.stop();
    this.watch.stop();
  }

  isSynced(): boolean {
    return this.informer.isSynced();
  }

  /** Called after every (re)list: what happened while the watch was down shows only there. */
  onListed(listener: () => void): void {
    this.listedListeners.push(listener);
  }

  unavailableReason(): string {
    return 'the namespaces of the cluster are not known yet (the namespace watch has not listed them)';
  }

  /** Called for every namespace that is deleted (or replaced by one of the same name). */
  onDeleted(listener: (entry: NamespaceEntry) => void): void {
    this.deletedListeners.push(listener);
  }

  private deleted(entry: NamespaceEntry): void {
    for (const l of this.deletedListeners) l(entry);
  }

  workspaceOf(namespace: string): string | undefined {
    return this.namespaces.get(namespace)?.workspace;
  }

  uidOf(namespace: string): string | undefined {
    return this.namespaces.get(namespace)?.uid;
  }

  namespacesOf(workspace: string): string[] {
    const out: string[] = [];
    for (const e of this.namespaces.values()) if (e.workspace === workspace) out.push(e.name);
    return out;
  }

  createdAt(namespace: string): number | undefined {
    return this.namespaces.get(namespace)?.createdAt;
  }

  *entries(): Iterable<[string, number]> {
    for (const e of this.namespaces.values()) if (e.createdAt !== undefined) yield [e.name, e.createdAt];
  }

  /** Every namespace the watch knows. */
  all(): NamespaceEntry[] {
    return [...this.namespaces.values()];
  }

  /**
   * The namespace as the API server says it now (undefined: there is none), for decisions that grant rights: a
   * label changed a moment ago must count, whatever the watch has delivered.
   */
  async fresh(name: string): Promise<NamespaceEntry | undefined> {
    try {
      const ns = await this.api.readNamespace({ name });
      return entryOf(ns);
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  }
}

/**
 * The namespace watch of a subgraph whose workspace roles need the cluster (logging, monitoring): none without a
 * cluster; a first LIST that fails is logged and retried in the background, and workspace roles count once it is in.
 */
export async function startOptionalTenancy(
  kubeConfig: k8s.KubeConfig | undefined,
  log: Logger,
): Promise<NamespaceTenancy | undefined> {
  if (!kubeConfig) return undefined;
  const tenancy = new NamespaceTenancy(kubeConfig, log);
  await tenancy
    .start()
    .catch((e: unknown) =>
      log.warn('namespace watch not started; workspace roles do not count until it is', { error: String(e) }),
    );
  return tenancy;
}
