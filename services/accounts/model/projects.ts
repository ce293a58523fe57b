// The cluster's namespaces as accounts needs them: a project's workspace is the namespace's kubesphere.io/workspace
// label, read at the moment of a check, and a membership belongs to the namespace (uid) it was granted on. Served by
// a namespace watch (services/common/tenancy.ts); without a cluster, project memberships cannot be managed at all.
import type { NamespaceEntry } from '../../common/tenancy.js';

export interface ProjectDirectory {
  /** Whether the namespaces have been listed: before that, nothing about projects can be decided. */
  isSynced(): boolean;
  /** Why project decisions cannot be made now (for the UPSTREAM_UNAVAILABLE error). */
  unavailableReason(): string;
  uidOf(namespace: string): string | undefined;
  workspaceOf(namespace: string): string | undefined;
  namespacesOf(workspace: string): readonly string[];
  /** The namespace as the API server says it at this moment (undefined: there is none). */
  fresh(name: string): Promise<NamespaceEntry | undefined>;
}

/** accounts started without a cluster (KUBECONFIG unset and not in a pod). */
export const NO_CLUSTER: ProjectDirectory = {
  isSynced: () => false,
  unavailableReason: () =>
    'accounts has no cluster configured (KUBECONFIG): projects and their members cannot be read or changed',
  uidOf: () => undefined,
  workspaceOf: () => undefined,
  namespacesOf: () => [],
  fresh: async () => undefined,
};
