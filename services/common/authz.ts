// Who is asking, and what they may do: the one authorization module every subgraph's model uses (DESIGN.md
// "Identity and authorization"). The accounts issue plugs real identities (from the gateway's signed header) and
// KubeSphere's role checks in here; every root field and every entity lookup already goes through `authorize`.
import { forbiddenError } from './errors.js';

export interface Viewer {
  username: string;
  /** platform-admin | platform-regular (KubeSphere platform roles). */
  platformRole: string;
}

/** The development identity the request context hands out until the gateway forwards real ones. */
export const DEV_VIEWER: Viewer = Object.freeze({ username: 'admin', platformRole: 'platform-admin' });

export type Action = 'read' | 'create' | 'update' | 'delete';

/**
 * The one authorization seam of every subgraph's model. For now it allows the platform administrator (which the
 * development identity is) and refuses everyone else; workspace and project roles come with the accounts issue,
 * which replaces the body of this function (and `visibleNamespaces`) without touching the callers.
 */
export function authorize(viewer: Viewer, action: Action, namespace?: string): void {
  if (viewer.platformRole === 'platform-admin') return;
  throw forbiddenError(`${viewer.username} may not ${action} ${namespace ? `in namespace ${namespace}` : 'cluster resources'}`);
}

/** The namespaces whose objects a viewer may list ('all' for no restriction). Lists filter through it. */
export function visibleNamespaces(viewer: Viewer): 'all' | Set<string> {
  return viewer.platformRole === 'platform-admin' ? 'all' : new Set();
}
