// Helpers for table-driven list tests through the gateway: walking a Relay connection to its end with checks on every
// page, the expected order of ground-truth objects (read from the cluster with client-node), and the status rules the
// schema documents, written here from the schema and kubectl's printer rather than taken from the workloads model.
import { Kind, parse, print, type DocumentNode } from 'graphql';
import { podStatusText } from '../../services/common/kubectl-printing.js';
import type { GraphQLResult } from './graphql.js';

export type Vars = Record<string, unknown>;
/** A Kubernetes object as client-node hands it back (typed models or plain JSON, timestamps as Date or string). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- objects of every kind are read defensively
export type AnyObject = any;

export interface Conn {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: Record<string, unknown> }[];
}

export interface WalkResult {
  /** The identities of the walked nodes, in order. */
  keys: string[];
  totalCount: number;
  pages: number;
  /** Violations of the connection contract seen while walking (empty when fine). */
  problems: string[];
}

/**
 * Walks a connection page by page (`first` each, following endCursor) until hasNextPage is false. Records every
 * contract violation instead of throwing: totalCount must stay the same on every page and equal the number of nodes
 * walked, a page before the last must be full, endCursor must be the last edge's cursor, and no node may come twice.
 */
export async function walkConnection(
  run: (vars: Vars) => Promise<GraphQLResult>,
  extract: (data: AnyObject) => Conn,
  vars: Vars,
  first: number,
  keyOf: (node: AnyObject) => string,
  maxPages = 500,
): Promise<WalkResult> {
  const keys: string[] = [];
  const problems: string[] = [];
  let totalCount = -1;
  let after: string | null = null;
  for (let page = 1; page <= maxPages; page++) {
    const r = await run({ ...vars, first, after });
    if (r.errors?.length) throw new Error(`GraphQL errors on page ${page}: ${JSON.stringify(r.errors)}`);
    const conn = extract(r.data);
    if (totalCount === -1) totalCount = conn.totalCount;
    else if (conn.totalCount !== totalCount)
      problems.push(`page ${page}: totalCount ${conn.totalCount}, was ${totalCount}`);
    if (conn.edges.length > first) problems.push(`page ${page}: ${conn.edges.length} edges for first: ${first}`);
    keys.push(...conn.edges.map((e) => keyOf(e.node)));
    const last = conn.edges[conn.edges.length - 1];
    if (conn.pageInfo.endCursor !== (last?.cursor ?? null))
      problems.push(`page ${page}: endCursor ${conn.pageInfo.endCursor} is not the last edge's cursor ${last?.cursor}`);
    if (!conn.pageInfo.hasNextPage) {
      if (keys.length !== totalCount) problems.push(`walked ${keys.length} nodes, totalCount ${totalCount}`);
      const seen = new Set<string>();
      for (const k of keys) {
        if (seen.has(k)) problems.push(`duplicate ${k}`);
        seen.add(k);
      }
      return { keys, totalCount, pages: page, problems };
    }
    if (conn.edges.length !== first)
      problems.push(`page ${page}: ${conn.edges.length} edges before the last page (first: ${first})`);
    after = conn.pageInfo.endCursor;
  }
  throw new Error(`paging did not end within ${maxPages} pages`);
}

export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The parts of a ground-truth object every list sorts and filters on. */
export interface Truth {
  /** The identity the test compares (namespace/name, kind-qualified for workloads of several kinds). */
  key: string;
  namespace: string;
  name: string;
  /** metadata.creationTimestamp, RFC 3339 in seconds as the API server writes it. */
  createdAt: string;
  labels: Record<string, string>;
}

/**
 * The expected order of a list: by the sort key, ties by name, then namespace (the rule of every list: the cursor is
 * (sort key, namespace, name) and services/workloads/model/query.ts compares key, then name, then namespace); DESC is
 * the exact reverse. `tie` replaces the name-then-namespace rule where a list documents another one.
 */
export function expectedOrder<T extends Truth>(
  items: T[],
  sortKey: (t: T) => string,
  direction: 'ASC' | 'DESC',
  tie: (a: T, b: T) => number = byNameThenNamespace,
): string[] {
  const sorted = [...items].sort((a, b) => cmp(sortKey(a), sortKey(b)) || tie(a, b));
  if (direction === 'DESC') sorted.reverse();
  return sorted.map((t) => t.key);
}

export const byNameThenNamespace = (a: Truth, b: Truth): number => cmp(a.name, b.name) || cmp(a.namespace, b.namespace);

/** RFC 3339 in seconds (client-node gives Dates; the API server's text has no fraction). */
export function rfc3339(t: unknown): string {
  if (t === undefined || t === null || t === '') return '';
  return new Date(t as string | Date).toISOString().replace(/\.\d+Z$/, 'Z');
}

export function truthOf(o: AnyObject, key?: string): Truth {
  const namespace: string = o.metadata?.namespace ?? '';
  const name: string = o.metadata.name;
  return {
    key: key ?? `${namespace}/${name}`,
    namespace,
    name,
    createdAt: rfc3339(o.metadata.creationTimestamp),
    labels: { ...(o.metadata.labels ?? {}) },
  };
}

/** A case-insensitive name substring, as the filters' `name` does for lowercase Kubernetes names. */
export const nameHas =
  (needle: string) =>
  (t: Truth): boolean =>
    t.name.toLowerCase().includes(needle.toLowerCase());

/**
 * kubectl's STATUS text (services/common/kubectl-printing.ts, the spec kubectl follows) onto the PodStatus enum as the
 * schema describes it. A text this table does not know throws, so a case retries until the pod settles or fails loud.
 */
export function podStatusOf(pod: AnyObject): { text: string; status: string } {
  const text = podStatusText(pod);
  const direct: Record<string, string> = {
    Running: 'RUNNING',
    Pending: 'PENDING',
    ContainerCreating: 'CONTAINER_CREATING',
    PodInitializing: 'CONTAINER_CREATING',
    Succeeded: 'SUCCEEDED',
    Completed: 'COMPLETED',
    Failed: 'FAILED',
    Error: 'ERROR',
    CrashLoopBackOff: 'CRASH_LOOP_BACK_OFF',
    ImagePullBackOff: 'IMAGE_PULL_BACK_OFF',
    ErrImagePull: 'IMAGE_PULL_BACK_OFF',
    Terminating: 'TERMINATING',
    Unknown: 'UNKNOWN',
  };
  if (direct[text]) return { text, status: direct[text] };
  if (/^Init:\d+\/\d+$/.test(text)) return { text, status: 'PENDING' };
  throw new Error(`a pod status text this test does not map: ${text}`);
}

/**
 * RUNNING / UPDATING / STOPPED as schema/workloads.graphql documents WorkloadStatus: RUNNING when every desired replica
 * is ready and up to date (Jobs: running; CronJobs: scheduling); UPDATING while a rollout is in progress or replicas
 * are not ready; STOPPED when scaled to zero, suspended, or (Jobs) finished.
 */
export function workloadStatusOf(kind: string, o: AnyObject): string {
  const s = o.status ?? {};
  const rolling = (o.metadata.generation ?? 0) > (s.observedGeneration ?? 0);
  switch (kind) {
    case 'DEPLOYMENT':
    case 'STATEFUL_SET': {
      const desired = o.spec?.replicas ?? 1;
      if (desired === 0 && !((s.replicas ?? 0) > 0)) return 'STOPPED';
      const ready =
        !rolling &&
        (s.updatedReplicas ?? 0) >= desired &&
        (s.readyReplicas ?? 0) >= desired &&
        (s.replicas ?? 0) <= desired;
      return ready ? 'RUNNING' : 'UPDATING';
    }
    case 'DAEMON_SET': {
      const desired = s.desiredNumberScheduled ?? 0;
      if (desired === 0) return 'STOPPED';
      return !rolling && (s.updatedNumberScheduled ?? 0) >= desired && (s.numberReady ?? 0) >= desired
        ? 'RUNNING'
        : 'UPDATING';
    }
    case 'JOB': {
      const finished = ((s.conditions ?? []) as { type: string; status: string }[]).some(
        (c) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True',
      );
      return finished || o.spec?.suspend ? 'STOPPED' : 'RUNNING';
    }
    case 'CRON_JOB':
      return o.spec?.suspend ? 'STOPPED' : 'RUNNING';
  }
  throw new Error(`unknown workload kind ${kind}`);
}

/**
 * A label selector matched the way the API server documents it (=, ==, !=, in, notin, exists, !key; requirements
 * joined by commas, all must hold; != and notin match objects without the key). Written here so that the expected sets
 * do not come from the parser the product and the sandbox share.
 */
export function selectorMatches(selector: string, labels: Record<string, string>): boolean {
  const requirements: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      requirements.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) requirements.push(current.trim());
  return requirements.every((r) => {
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(r))) {
      const values = m[3].split(',').map((v) => v.trim());
      const has = m[1] in labels && values.includes(labels[m[1]]);
      return m[2] === 'in' ? has : !has;
    }
    if ((m = /^(\S+?)\s*!=\s*(\S*)$/.exec(r))) return labels[m[1]] !== m[2];
    if ((m = /^(\S+?)\s*==?\s*(\S*)$/.exec(r))) return m[1] in labels && labels[m[1]] === m[2];
    if ((m = /^!\s*(\S+)$/.exec(r))) return !(m[1] in labels);
    if (/^\S+$/.test(r)) return r in labels;
    throw new Error(`a selector this test does not read: ${r}`);
  });
}

/** The controller ownerReference of an object (else its first one). */
export function controllerRef(o: AnyObject): { kind: string; name: string; uid: string } | undefined {
  const refs: { kind: string; name: string; uid: string; controller?: boolean }[] = o.metadata?.ownerReferences ?? [];
  return refs.find((r) => r.controller) ?? refs[0];
}

/** What a test reads of the served schema: arguments of fields, fields of inputs, values of enums (in order). */
export interface SchemaIndex {
  /** The arguments of a field (name → printed type), or undefined when the type or field is absent. */
  args(type: string, field: string): Map<string, string> | undefined;
  /** The fields of an object or interface type (name → printed return type). */
  fields(type: string): Map<string, string>;
  /** The interfaces an object type implements. */
  interfaces(type: string): string[];
  /** The names of the object and interface types. */
  types(): string[];
  inputFields(input: string): Map<string, string>;
  enumValues(name: string): string[];
}

/** The named type of a printed type reference (`[PodStatus!]!` → `PodStatus`). */
export const namedType = (t: string): string => t.replace(/[[\]!]/g, '');

/** Indexes an SDL document (the composed supergraph the gateway serves) without building a schema from it. */
export function indexSchema(sdl: string): SchemaIndex {
  const doc: DocumentNode = parse(sdl);

  const fields = new Map<string, Map<string, Map<string, string>>>();
  const returns = new Map<string, Map<string, string>>();
  const implemented = new Map<string, string[]>();
  const inputs = new Map<string, Map<string, string>>();
  const enums = new Map<string, string[]>();
  for (const d of doc.definitions) {
    if (
      d.kind === Kind.OBJECT_TYPE_DEFINITION ||
      d.kind === Kind.INTERFACE_TYPE_DEFINITION ||
      d.kind === Kind.OBJECT_TYPE_EXTENSION ||
      d.kind === Kind.INTERFACE_TYPE_EXTENSION
    ) {
      const byField = fields.get(d.name.value) ?? new Map<string, Map<string, string>>();
      const byReturn = returns.get(d.name.value) ?? new Map<string, string>();
      for (const f of d.fields ?? []) {
        byField.set(f.name.value, new Map((f.arguments ?? []).map((a) => [a.name.value, print(a.type)])));
        byReturn.set(f.name.value, print(f.type));
      }
      fields.set(d.name.value, byField);
      returns.set(d.name.value, byReturn);
      implemented.set(d.name.value, [
        ...(implemented.get(d.name.value) ?? []),
        ...(d.interfaces ?? []).map((i) => i.name.value),
      ]);
    } else if (d.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION || d.kind === Kind.INPUT_OBJECT_TYPE_EXTENSION) {
      const m = inputs.get(d.name.value) ?? new Map<string, string>();
      for (const f of d.fields ?? []) m.set(f.name.value, print(f.type));
      inputs.set(d.name.value, m);
    } else if (d.kind === Kind.ENUM_TYPE_DEFINITION || d.kind === Kind.ENUM_TYPE_EXTENSION) {
      enums.set(d.name.value, [...(enums.get(d.name.value) ?? []), ...(d.values ?? []).map((v) => v.name.value)]);
    }
  }
  return {
    args: (type, field) => fields.get(type)?.get(field),
    fields: (type) => returns.get(type) ?? new Map(),
    interfaces: (type) => implemented.get(type) ?? [],
    types: () => [...returns.keys()],
    inputFields: (input) => inputs.get(input) ?? new Map(),
    enumValues: (name) => enums.get(name) ?? [],
  };
}
