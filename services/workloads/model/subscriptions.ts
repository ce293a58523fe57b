// The subscriptions of the workloads subgraph: arguments to filters over the live change feeds (live.ts), with the
// same validation and authorization as the list queries.
import { authorizeList, authorizeWorkspaceScope, type Viewer } from '../../common/authz.js';
import { badUserInput } from '../../common/errors.js';
import { FieldSelectorSyntaxError, fieldMatcher, parseFieldSelector } from '../../common/field-selector.js';
import type { StoredObject } from '../../common/k8s/object.js';
import type { KindName } from '../clients/kinds.js';
import { allOf, cacheOf, namespacesOfWorkspace, type ModelDeps } from './common.js';
import type { LiveChanges, LiveEvent, LiveFilter } from './live.js';
import { labelsMatch, parseLabelSelector } from './selectors.js';
import { WORKLOAD_KINDS, type WorkloadKindEnum } from './workloads.js';

/** The kinds with change feeds. */
export const LIVE_KINDS: readonly KindName[] = [
  'Pod',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'Event',
];

export interface LiveDeps extends ModelDeps {
  live: LiveChanges;
}

export interface PodSubscriptionArgs {
  namespace?: string | null;
  workspace?: string | null;
  labelSelector?: string | null;
  fieldSelector?: string | null;
  resumeToken?: string | null;
}

export interface WorkloadSubscriptionArgs {
  namespace?: string | null;
  kind: WorkloadKindEnum;
  name?: string | null;
  resumeToken?: string | null;
}

export interface EventSubscriptionArgs {
  namespace?: string | null;
  involvedObject?: { kind?: string | null; name?: string | null; uid?: string | null } | null;
  resumeToken?: string | null;
}

/** The fields pods can be selected by, as on the API server. */
const POD_FIELDS: Record<string, (o: StoredObject) => string | undefined> = {
  'spec.nodeName': (o) => (o.spec?.nodeName as string | undefined) ?? '',
  'status.phase': (o) => (o.status?.phase as string | undefined) ?? '',
  'spec.restartPolicy': (o) => o.spec?.restartPolicy as string | undefined,
  'spec.schedulerName': (o) => o.spec?.schedulerName as string | undefined,
  'spec.serviceAccountName': (o) => o.spec?.serviceAccountName as string | undefined,
  'status.podIP': (o) => o.status?.podIP as string | undefined,
};

function fieldFilter(
  selector: string | null | undefined,
  fields: Record<string, (o: StoredObject) => string | undefined>,
): ((o: StoredObject) => boolean) | undefined {
  if (selector === null || selector === undefined || !selector.trim()) return undefined;
  try {
    return fieldMatcher(parseFieldSelector(selector), fields);
  } catch (e) {
    if (e instanceof FieldSelectorSyntaxError)
      throw badUserInput(`invalid fieldSelector ${JSON.stringify(selector)}: ${e.message}`, {
        argument: 'fieldSelector',
      });
    throw e;
  }
}

/** namespace / workspace arguments as a filter part; authorization of the namespace asked for. */
function scope(
  deps: ModelDeps,
  viewer: Viewer,
  namespace: string | null | undefined,
  workspace: string | null | undefined,
): Pick<LiveFilter, 'namespace' | 'namespaces'> {
  authorizeList(viewer, namespace);
  const out: Pick<LiveFilter, 'namespace' | 'namespaces'> = {};
  if (namespace !== null && namespace !== undefined) out.namespace = namespace;
  // A workspace's namespaces as of now: a project added to the workspace later needs a new subscription.
  if (workspace !== null && workspace !== undefined) {
    authorizeWorkspaceScope(viewer, workspace);
    out.namespaces = new Set(namespacesOfWorkspace(deps, workspace));
  }
  return out;
}

const inScope = (s: Pick<LiveFilter, 'namespace' | 'namespaces'>) => (o: StoredObject) => {
  const ns = o.metadata.namespace ?? '';
  return (s.namespace === undefined || ns === s.namespace) && (s.namespaces === undefined || s.namespaces.has(ns));
};

export function subscribePods(
  deps: LiveDeps,
  viewer: Viewer,
  args: PodSubscriptionArgs,
): AsyncIterableIterator<LiveEvent> {
  cacheOf(deps, 'Pod'); // not synced yet: UPSTREAM_UNAVAILABLE (a resubscribing gateway retries)
  const s = scope(deps, viewer, args.namespace, args.workspace);
  const labels = args.labelSelector ? parseLabelSelector(args.labelSelector) : undefined;
  const fields = fieldFilter(args.fieldSelector, POD_FIELDS);
  const matches = allOf(inScope(s), labels ? (o) => labelsMatch(labels, o.metadata.labels) : undefined, fields)!;
  return deps.live.stream(
    viewer,
    'Pod',
    { ...s, labelSelector: args.labelSelector ?? undefined, fieldSelector: args.fieldSelector ?? undefined, matches },
    args.resumeToken,
  );
}

export function subscribeWorkloads(
  deps: LiveDeps,
  viewer: Viewer,
  args: WorkloadSubscriptionArgs,
): AsyncIterableIterator<LiveEvent> {
  const k = WORKLOAD_KINDS[args.kind];
  if (!k) throw badUserInput(`unknown workload kind ${JSON.stringify(args.kind)}`, { argument: 'kind' });
  cacheOf(deps, k.kind);
  const s = scope(deps, viewer, args.namespace, undefined);
  const name = args.name ?? undefined;
  const matches = allOf(inScope(s), name !== undefined ? (o) => o.metadata.name === name : undefined)!;
  return deps.live.stream(
    viewer,
    k.kind,
    { ...s, fieldSelector: name !== undefined ? `metadata.name=${name}` : undefined, matches },
    args.resumeToken,
  );
}

const involvedOf = (e: StoredObject) =>
  (e.involvedObject ?? e.regarding ?? {}) as { kind?: string; name?: string; uid?: string };

export function subscribeEvents(
  deps: LiveDeps,
  viewer: Viewer,
  args: EventSubscriptionArgs,
): AsyncIterableIterator<LiveEvent> {
  cacheOf(deps, 'Event');
  const s = scope(deps, viewer, args.namespace, undefined);
  const io = args.involvedObject ?? {};
  const selector: string[] = [];
  const parts: ((o: StoredObject) => boolean)[] = [inScope(s)];
  // The API server selects core/v1 Events by involvedObject.kind/name/uid; the same fields are checked here.
  for (const field of ['kind', 'name', 'uid'] as const) {
    const want = io[field];
    if (want === null || want === undefined) continue;
    if (/[,=!\\]/.test(want))
      throw badUserInput(`involvedObject.${field} ${JSON.stringify(want)} is not a valid value`, {
        argument: 'involvedObject',
      });
    selector.push(`involvedObject.${field}=${want}`);
    parts.push((o) => involvedOf(o)[field] === want);
  }
  const matches = allOf(...parts)!;
  return deps.live.stream(
    viewer,
    'Event',
    { ...s, fieldSelector: selector.join(',') || undefined, matches },
    args.resumeToken,
  );
}
