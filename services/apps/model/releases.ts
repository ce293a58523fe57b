// Reading releases: lists and lookups from the release index (no API call), authorized per namespace before anything
// else; the workloads a release created and the release of a workload; the live feed of release changes.
import { asyncQueue } from '../../common/async-queue.js';
import type { Viewer } from '../../common/authz.js';
import { allowed, authorize, authorizeList, authorizeWorkspaceScope, visibleNamespaces } from '../../common/authz.js';
import { badUserInput } from '../../common/errors.js';
import { validateNamespace } from '../../common/k8s/names.js';
import { resourceVersionValue } from '../../common/k8s/resource-version.js';
import { parseAllDocuments } from 'yaml';
import type { AppsKubeClient } from '../clients/kube.js';
import type { ReleaseRecord } from '../clients/release-secrets.js';
import {
  WORKLOAD_KINDS,
  type ManifestWorkload,
  type Release,
  type ReleaseChange,
  type ReleaseIndex,
  type WorkloadKindName,
} from './release-index.js';

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;
const RELEASE_NAME_ANNOTATION = 'meta.helm.sh/release-name';
const RELEASE_NAMESPACE_ANNOTATION = 'meta.helm.sh/release-namespace';

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

export interface WorkloadReference {
  namespace: string;
  kind: string;
  name: string;
}

/** What a helmReleaseChanged subscriber receives (key/type/resumeToken: see common/subscriptions.ts). */
export interface ReleaseEventPayload {
  key: string;
  type: ReleaseChange['type'];
  resumeToken: string;
  release: Release;
  snapshot: boolean;
}

const encodeCursor = (r: Release) => Buffer.from(JSON.stringify([r.namespace, r.name])).toString('base64url');
function decodeCursor(after: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw badUserInput('after is not a cursor of this list', { argument: 'after' });
}

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE)
    throw badUserInput(`first must be between 0 and ${MAX_PAGE}`, { argument: 'first' });
  return first;
}

const byNamespaceAndName = (a: Release, b: Release) =>
  a.namespace === b.namespace ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.namespace < b.namespace ? -1 : 1;

export class ReleasesModel {
  constructor(
    private readonly index: ReleaseIndex,
    private readonly kube: AppsKubeClient,
  ) {}

  /** The namespaces a scope covers, authorized (FORBIDDEN for a foreign project or workspace). */
  private scope(viewer: Viewer, namespace?: string | null, workspace?: string | null): (ns: string) => boolean {
    if (namespace !== null && namespace !== undefined) validateNamespace(namespace);
    authorizeList(viewer, namespace);
    let inWorkspace: ((ns: string) => boolean) | undefined;
    if (workspace !== null && workspace !== undefined) {
      authorizeWorkspaceScope(viewer, workspace);
      inWorkspace = (ns) => viewer.tenancy?.workspaceOf(ns) === workspace;
    }
    const visible = visibleNamespaces(viewer);
    return (ns) =>
      (namespace === null || namespace === undefined || ns === namespace) &&
      (inWorkspace === undefined || inWorkspace(ns)) &&
      (visible === 'all' || visible.has(ns));
  }

  list(
    viewer: Viewer,
    args: { namespace?: string | null; workspace?: string | null; first?: number | null; after?: string | null },
  ): Page<Release> {
    const inScope = this.scope(viewer, args.namespace, args.workspace);
    const size = pageSize(args.first);
    const all = this.index
      .all()
      .filter((r) => inScope(r.namespace))
      .sort(byNamespaceAndName);
    let start = 0;
    if (args.after) {
      const [ns, name] = decodeCursor(args.after);
      const pivot = { namespace: ns, name } as Release;
      start = all.findIndex((r) => byNamespaceAndName(r, pivot) > 0);
      if (start < 0) start = all.length;
    }
    const slice = all.slice(start, start + size);
    const edges = slice.map((node) => ({ cursor: encodeCursor(node), node }));
    return {
      edges,
      pageInfo: { hasNextPage: start + size < all.length, endCursor: edges.at(-1)?.cursor ?? null },
      totalCount: all.length,
    };
  }

  get(viewer: Viewer, namespace: string, name: string): Release | null {
    validateNamespace(namespace);
    authorize(viewer, 'read', namespace);
    return this.index.get(namespace, name) ?? null;
  }

  /**
   * The manifest as the viewer may see it: Secrets' values only for those who may read Secret values in the project
   * (project admins, as the workloads subgraph decides for Secret data); others see the keys with values redacted.
   */
  manifest(viewer: Viewer, record: ReleaseRecord): string {
    if (allowed(viewer, 'admin', record.namespace)) return record.manifest;
    return redactSecrets(record.manifest);
  }

  /**
   * The workloads the release's manifest created that exist now and are the release's (the workloads subgraph's
   * entities; one that was deleted since, or belongs to another release now, is left out: a reference to a missing
   * workload would fail the whole list). One GET per workload: asked only when a client selects this field.
   */
  async workloads(viewer: Viewer, release: Release): Promise<WorkloadReference[]> {
    authorize(viewer, 'read', release.namespace);
    const listed = this.index.workloadsOf(release).filter((w) => allowed(viewer, 'read', w.namespace));
    const checked = await Promise.all(listed.map((w) => this.stillOurs(release, w)));
    return listed
      .filter((_, i) => checked[i])
      .map((w) => ({ namespace: w.namespace, kind: WORKLOAD_KINDS[w.kind].enumValue, name: w.name }));
  }

  private async stillOurs(release: Release, w: ManifestWorkload): Promise<boolean> {
    const meta = await this.kube.metadata(w.apiVersion, w.kind, w.namespace, w.name);
    if (!meta) return false;
    const name = meta.annotations[RELEASE_NAME_ANNOTATION];
    const ns = meta.annotations[RELEASE_NAMESPACE_ANNOTATION];
    // Helm before 3.2 did not annotate what it applied: no annotation is not a denial.
    return (name === undefined || name === release.name) && (ns === undefined || ns === release.namespace);
  }

  /** The release that created a workload (from the release manifests), if the viewer may read it. */
  releaseOfWorkload(viewer: Viewer, ref: { namespace: string; kind: string; name: string }): Release | null {
    const kind = (Object.keys(WORKLOAD_KINDS) as WorkloadKindName[]).find(
      (k) => WORKLOAD_KINDS[k].enumValue === ref.kind,
    );
    if (!kind) return null;
    const release = this.index.releaseOfWorkload(ref.namespace, kind, ref.name);
    if (!release || !allowed(viewer, 'read', release.namespace)) return null;
    return release;
  }

  /** A workload reference from the gateway: authorized like the workload itself (read in its project). */
  workloadReference<T extends { namespace: string }>(viewer: Viewer, ref: T): T {
    validateNamespace(ref.namespace);
    authorize(viewer, 'read', ref.namespace);
    return ref;
  }

  /**
   * Every change of a release in scope, whoever made it. With a resumeToken: the changes after it first, or, when it
   * is older than what is kept, every release in scope once (ADDED, snapshot) and the changes from there.
   */
  changes(
    viewer: Viewer,
    args: { namespace?: string | null; workspace?: string | null; resumeToken?: string | null },
    maxPending = 1000,
  ): AsyncIterableIterator<ReleaseEventPayload> {
    const inScope = this.scope(viewer, args.namespace, args.workspace);
    let after: bigint | undefined;
    if (args.resumeToken !== null && args.resumeToken !== undefined) {
      after = resourceVersionValue(args.resumeToken);
      if (after === undefined)
        throw badUserInput('resumeToken is not a token this subscription gave', { argument: 'resumeToken' });
    }
    // The viewer's rights are checked per event too: a namespace moved out of a workspace stops its events.
    const visible = (c: ReleaseChange) => inScope(c.release.namespace) && allowed(viewer, 'read', c.release.namespace);
    const payload = (c: ReleaseChange): ReleaseEventPayload => ({
      key: c.release.key,
      type: c.type,
      resumeToken: c.token.toString(),
      release: c.release,
      snapshot: c.snapshot,
    });
    let detach: () => void = () => {};
    const queue = asyncQueue<ReleaseEventPayload>({
      maxPending,
      onOverflow: () => new Error('the subscriber fell behind; resume from the last resumeToken'),
      onEnd: () => detach(),
    });
    if (after !== undefined) {
      const replay = this.index.changesAfter(after);
      if (replay) for (const c of replay) if (visible(c)) queue.push(payload(c));
      if (!replay) {
        const token = this.index.latestToken;
        for (const release of this.index.all().sort(byNamespaceAndName)) {
          const c: ReleaseChange = { type: 'ADDED', release, token, snapshot: true };
          if (visible(c)) queue.push(payload(c));
        }
      }
    }
    detach = this.index.attach({
      changed: (c) => {
        if (visible(c)) queue.push(payload(c));
      },
    });
    return queue;
  }
}

/** A manifest with the values of its Secrets' data and stringData replaced (the keys stay). */
export function redactSecrets(manifest: string): string {
  const parts = manifest.split(/^---[ \t]*$/m);
  return parts
    .map((part) => {
      if (!/^kind:\s*Secret\s*$/m.test(part)) return part;
      const docs = parseAllDocuments(part);
      if (docs.length !== 1 || docs[0].errors.length) return '\n# (a Secret: its values are hidden)\n';
      const doc = docs[0];
      for (const field of ['data', 'stringData']) {
        const map = doc.get(field, true) as { items?: { value: unknown }[] } | undefined;
        if (map && Array.isArray(map.items)) for (const item of map.items) item.value = doc.createNode('(hidden)');
      }
      return '\n' + doc.toString();
    })
    .join('---');
}
