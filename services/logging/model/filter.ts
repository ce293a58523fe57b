// A LogFilter checked and authorized: names validated, times parsed, and the namespaces the search may cover decided
// from the caller's rights (services/common/authz.ts), before anything is sent to Elasticsearch. A filter naming a
// namespace, workspace or workload the caller may not read is FORBIDDEN, never a silently empty answer.
import type { Viewer } from '../../common/authz.js';
import { authorize, authorizeList, authorizeWorkspaceScope, visibleNamespaces } from '../../common/authz.js';
import { badUserInput } from '../../common/errors.js';
import { validateName, validateNamespace } from '../../common/k8s/names.js';

export type WorkloadKindName = 'DEPLOYMENT' | 'STATEFUL_SET' | 'DAEMON_SET' | 'JOB' | 'CRON_JOB';
export const WORKLOAD_KINDS: readonly WorkloadKindName[] = [
  'DEPLOYMENT',
  'STATEFUL_SET',
  'DAEMON_SET',
  'JOB',
  'CRON_JOB',
];
export type LogStreamName = 'STDOUT' | 'STDERR';

/** The GraphQL input, as resolvers pass it (and the export endpoint builds it). */
export interface LogFilterInput {
  workspaces?: readonly string[] | null;
  namespaces?: readonly string[] | null;
  workloads?: readonly { namespace: string; kind: string; name: string }[] | null;
  pods?: readonly string[] | null;
  containers?: readonly string[] | null;
  nodes?: readonly string[] | null;
  streams?: readonly string[] | null;
  contains?: readonly string[] | null;
  excludes?: readonly string[] | null;
  start?: string | null;
  end?: string | null;
}

export interface WorkloadTarget {
  namespace: string;
  kind: WorkloadKindName;
  name: string;
}

/** What a search covers, checked and authorized. */
export interface LogScope {
  /** The namespaces the lines may come from; 'all' (platform admins without a namespace filter): no restriction. */
  namespaces: 'all' | string[];
  workloads: WorkloadTarget[];
  pods: string[];
  containers: string[];
  nodes: string[];
  streams: ('stdout' | 'stderr')[];
  contains: string[];
  excludes: string[];
  /** ms since the epoch; undefined: from the oldest line. */
  start?: number;
  /** ms since the epoch (inclusive); undefined: up to now. */
  end?: number;
}

/** Per list; one `terms` clause carries any number of namespaces, but a caller's list stays reasonable. */
const MAX_VALUES = 1000;
/** `contains` / `excludes`: each string up to 16 kB (a keyword term holds at most 32 kB of UTF-8). */
const MAX_TEXT_VALUES = 20;
export const MAX_TEXT_LENGTH = 16_384;

function list(name: string, values: readonly string[] | null | undefined, max = MAX_VALUES): string[] {
  if (!values) return [];
  if (values.length > max) throw badUserInput(`filter.${name} has more than ${max} values`, { argument: name });
  return [...new Set(values)];
}

export function parseTime(name: string, value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw badUserInput(`${name} ${JSON.stringify(value)} is not an ISO-8601 time`, { argument: name });
  return t;
}

/**
 * Checks and authorizes a filter for `viewer`. FORBIDDEN (or UNAUTHENTICATED) when it names a namespace, workspace
 * or workload the viewer may not read; an empty `namespaces` in the result means nothing readable is asked.
 */
export function scopeOf(
  viewer: Viewer,
  filter: LogFilterInput | null | undefined,
  workspaceNamespaces: (workspace: string) => readonly string[],
): LogScope {
  const f = filter ?? {};
  authorizeList(viewer);
  const namespaces = list('namespaces', f.namespaces);
  for (const ns of namespaces) validateNamespace(ns, 'filter.namespaces');
  const workspaces = list('workspaces', f.workspaces);
  for (const ws of workspaces) validateName('dns1123-label', ws, 'filter.workspaces', 'workspace');
  const workloads: WorkloadTarget[] = list(
    'workloads',
    (f.workloads ?? []).map((w) => JSON.stringify([w.namespace, w.kind, w.name])),
  ).map((key) => {
    const [namespace, kind, name] = JSON.parse(key) as [string, string, string];
    validateNamespace(namespace, 'filter.workloads.namespace');
    validateName('dns1123-subdomain', name, 'filter.workloads.name');
    if (!(WORKLOAD_KINDS as readonly string[]).includes(kind))
      throw badUserInput(`filter.workloads.kind ${JSON.stringify(kind)} is not a workload kind`, {
        argument: 'filter.workloads.kind',
      });
    return { namespace, kind: kind as WorkloadKindName, name };
  });
  const pods = list('pods', f.pods);
  for (const p of pods) validateName('dns1123-subdomain', p, 'filter.pods', 'pod');
  const containers = list('containers', f.containers);
  for (const c of containers) validateName('dns1123-label', c, 'filter.containers', 'container');
  const nodes = list('nodes', f.nodes);
  for (const n of nodes) validateName('dns1123-subdomain', n, 'filter.nodes', 'node');
  const streams = list('streams', f.streams).map((s) => {
    if (s !== 'STDOUT' && s !== 'STDERR')
      throw badUserInput(`filter.streams ${JSON.stringify(s)} is not STDOUT or STDERR`, { argument: 'filter.streams' });
    return s === 'STDOUT' ? ('stdout' as const) : ('stderr' as const);
  });
  const text = (name: 'contains' | 'excludes') => {
    const values = list(name, f[name], MAX_TEXT_VALUES);
    for (const v of values) {
      if (v.length === 0) throw badUserInput(`filter.${name} has an empty string`, { argument: name });
      if (v.length > MAX_TEXT_LENGTH)
        throw badUserInput(`filter.${name} has a string longer than ${MAX_TEXT_LENGTH} characters`, { argument: name });
    }
    return values;
  };
  const contains = text('contains');
  const excludes = text('excludes');
  const start = parseTime('filter.start', f.start);
  const end = parseTime('filter.end', f.end);
  if (start !== undefined && end !== undefined && start > end)
    throw badUserInput('filter.start is after filter.end', { argument: 'filter.start' });

  // Authorization, from the identity and the namespace view alone: no upstream call before it.
  for (const ns of namespaces) authorize(viewer, 'read', ns);
  for (const ws of workspaces) authorizeWorkspaceScope(viewer, ws);
  for (const w of workloads) authorize(viewer, 'read', w.namespace);

  const visible = visibleNamespaces(viewer);
  let covered: 'all' | Set<string> = visible;
  const narrow = (to: Iterable<string>) => {
    const next = new Set<string>();
    for (const ns of to) if (covered === 'all' || covered.has(ns)) next.add(ns);
    covered = next;
  };
  if (namespaces.length) narrow(namespaces);
  if (workspaces.length) narrow(workspaces.flatMap((ws) => workspaceNamespaces(ws)));
  if (workloads.length) narrow(workloads.map((w) => w.namespace));
  return {
    namespaces: covered === 'all' ? 'all' : [...covered].sort(),
    workloads,
    pods,
    containers,
    nodes,
    streams,
    contains,
    excludes,
    start,
    end,
  };
}

/** Whether the scope can match nothing without asking (no readable namespace is covered). */
export const coversNothing = (scope: LogScope): boolean => scope.namespaces !== 'all' && scope.namespaces.length === 0;
