// Every list of the workloads subgraph, end to end through the gateway against the sandbox: each root connection of
// Query and each nested one (Project.pods, Project.workloads, Node.pods, Workload.pods of every kind, Service.pods), with
// every filter it accepts (one case each, plus a combined one), every orderBy field in both directions, and an invalid
// label selector. Every case pages to the end with a small page size, following endCursor, and checks the connection
// (totalCount on every page equal to the nodes walked, no duplicates, full pages before the last, endCursor) and that
// the nodes in their order equal what the test computes from the ground truth: the objects read from the sandbox with
// client-node right before the walk, filtered and sorted by the rules the schema documents (kubectl's STATUS column
// from services/common/kubectl-printing.ts for pods). The demo cluster keeps moving, so a case that disagrees reads the
// ground truth and walks again until the two agree or time runs out, and then reports the last disagreement.
//
// The table follows the served schema (schema/supergraph.graphql): each list's arguments and filter fields must have a
// case, and each value of its orderBy enum a sort key, or the coverage test of that field fails; a case that needs an
// argument, filter field or order the schema does not have (yet) is skipped and says so.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cmp,
  controllerRef,
  expectedOrder,
  indexSchema,
  nameHas,
  namedType,
  podStatusOf,
  selectorMatches,
  truthOf,
  walkConnection,
  workloadStatusOf,
  type AnyObject,
  type Conn,
  type Truth,
  type Vars,
} from './harness/lists.js';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';

const SCHEMA = indexSchema(readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'));

let stack: TestStack;

const A = 'lists-a';
const B = 'lists-b';
const C = 'lists-c';
const GONE = 'lists-gone';
const WS = 'lists-ws';
/** Page size of every walk. */
const FIRST = 3;
const KINDS = ['DEPLOYMENT', 'STATEFUL_SET', 'DAEMON_SET', 'JOB', 'CRON_JOB'] as const;
type WorkloadKind = (typeof KINDS)[number];
const KIND_API: Record<WorkloadKind, [apiVersion: string, kind: string]> = {
  DEPLOYMENT: ['apps/v1', 'Deployment'],
  STATEFUL_SET: ['apps/v1', 'StatefulSet'],
  DAEMON_SET: ['apps/v1', 'DaemonSet'],
  JOB: ['batch/v1', 'Job'],
  CRON_JOB: ['batch/v1', 'CronJob'],
};
const KIND_OF: Record<string, WorkloadKind> = Object.fromEntries(KINDS.map((k) => [KIND_API[k][1], k]));

// ---------------------------------------------------------------------------------------------------- ground truth

const list = async (apiVersion: string, kind: string): Promise<AnyObject[]> =>
  (await stack.cluster.objects.list(apiVersion, kind)).items as AnyObject[];

/** Namespaces by workspace label, read once the seed is in (no test changes them). */
let workspaces = new Map<string, Set<string>>();
const inWorkspace = (ws: string) => (t: Truth) => workspaces.get(ws)?.has(t.namespace) ?? false;

interface PodTruth extends Truth {
  node: string;
  status: string;
  /** The workloads the pod belongs to, as `KIND:namespace/name` (a CronJob's pods belong to their Job and to it). */
  owners: string[];
}

async function podTruth(): Promise<PodTruth[]> {
  const [pods, replicaSets, jobs] = await Promise.all([
    list('v1', 'Pod'),
    list('apps/v1', 'ReplicaSet'),
    list('batch/v1', 'Job'),
  ]);
  const byUid = new Map<string, AnyObject>([...replicaSets, ...jobs].map((o) => [o.metadata.uid, o]));
  return pods.map((p) => {
    const ns = p.metadata.namespace;
    const owners: string[] = [];
    const ref = controllerRef(p);
    if (ref?.kind === 'ReplicaSet') {
      const d = controllerRef(byUid.get(ref.uid) ?? {});
      if (d?.kind === 'Deployment') owners.push(`DEPLOYMENT:${ns}/${d.name}`);
    } else if (ref && KIND_OF[ref.kind]) {
      owners.push(`${KIND_OF[ref.kind]}:${ns}/${ref.name}`);
      const cron = ref.kind === 'Job' ? controllerRef(byUid.get(ref.uid) ?? {}) : undefined;
      if (cron?.kind === 'CronJob') owners.push(`CRON_JOB:${ns}/${cron.name}`);
    }
    return { ...truthOf(p), node: p.spec?.nodeName ?? '', status: podStatusOf(p).status, owners };
  });
}

interface WorkloadTruth extends Truth {
  kind: WorkloadKind;
  status: string;
  /** The workloads that own it (ownerReferences by uid), as `KIND:namespace/name`. */
  ownedBy: string[];
}

async function workloadTruth(kinds: readonly WorkloadKind[] = KINDS): Promise<WorkloadTruth[]> {
  const all = (await Promise.all(KINDS.map(async (k) => (await list(...KIND_API[k])).map((o) => ({ k, o }))))).flat();
  const keyByUid = new Map(
    all.map(({ k, o }) => [o.metadata.uid as string, `${k}:${o.metadata.namespace}/${o.metadata.name}`]),
  );
  return all
    .filter(({ k }) => kinds.includes(k))
    .map(({ k, o }) => ({
      ...truthOf(o, `${k}:${o.metadata.namespace}/${o.metadata.name}`),
      kind: k,
      status: workloadStatusOf(k, o),
      ownedBy: ((o.metadata.ownerReferences ?? []) as { uid: string }[])
        .map((r) => keyByUid.get(r.uid))
        .filter((x): x is string => Boolean(x)),
    }));
}

interface ResourceTruth extends Truth {
  /** status.phase, upper-cased as the phase enums spell it (Pending when unset). */
  phase: string;
  /** The Deployments that own it (ownerReferences by uid) as `DEPLOYMENT:namespace/name`; read for ReplicaSets only. */
  ownedBy: string[];
  /** Events: involvedObject.kind and .name, and type. */
  involvedKind: string;
  involvedName: string;
  type: string;
}

async function resourceTruth(apiVersion: string, kind: string): Promise<ResourceTruth[]> {
  const items = await list(apiVersion, kind);
  const deployments = kind === 'ReplicaSet' ? await list('apps/v1', 'Deployment') : [];
  const deploymentByUid = new Map(
    deployments.map((d) => [d.metadata.uid as string, `DEPLOYMENT:${d.metadata.namespace}/${d.metadata.name}`]),
  );
  return items.map((o) => ({
    ...truthOf(o),
    phase: String(o.status?.phase ?? 'Pending').toUpperCase(),
    ownedBy: ((o.metadata.ownerReferences ?? []) as { uid: string }[])
      .map((r) => deploymentByUid.get(r.uid))
      .filter((x): x is string => Boolean(x)),
    involvedKind: o.involvedObject?.kind ?? '',
    involvedName: o.involvedObject?.name ?? '',
    type: o.type ?? '',
  }));
}

interface ProjectTruth extends Truth {
  status: string;
}

async function projectTruth(): Promise<ProjectTruth[]> {
  return (await list('v1', 'Namespace')).map((n) => ({
    ...truthOf(n),
    status: n.metadata.deletionTimestamp || n.status?.phase === 'Terminating' ? 'TERMINATING' : 'ACTIVE',
  }));
}

interface NodeTruth extends Truth {
  ready: boolean;
  statusText: string;
}

async function nodeTruth(): Promise<NodeTruth[]> {
  return (await list('v1', 'Node')).map((n) => {
    const ready = ((n.status?.conditions ?? []) as { type: string; status: string }[]).find((c) => c.type === 'Ready');
    const text = ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown';
    return {
      ...truthOf(n),
      ready: ready?.status === 'True',
      statusText: n.spec?.unschedulable ? `${text},SchedulingDisabled` : text,
    };
  });
}

// ---------------------------------------------------------------------------------------------------- sort keys

/** The PodStatus enum in its declared order: the STATUS order of pods (ASC). */
const POD_STATUS_ORDER = SCHEMA.enumValues('PodStatus');
/** WorkloadOrderField.STATUS: "RUNNING, then UPDATING, then STOPPED (ASC)". */
const WORKLOAD_STATUS_ORDER = ['RUNNING', 'UPDATING', 'STOPPED'];
/** NodeOrderField.STATUS: by statusText, healthiest first. */
const NODE_STATUS_ORDER = [
  'Ready',
  'Ready,SchedulingDisabled',
  'NotReady',
  'NotReady,SchedulingDisabled',
  'Unknown',
  'Unknown,SchedulingDisabled',
];
const rank = (order: string[], value: string) => {
  const i = order.indexOf(value);
  if (i < 0) throw new Error(`${value} is not in ${order.join(', ')}`);
  return String(i).padStart(2, '0');
};

const byName = (t: Truth) => t.name;
const byCreated = (t: Truth) => t.createdAt;
const NAMED_ORDERS = { NAME: byName, CREATED_AT: byCreated };
const POD_ORDERS = { ...NAMED_ORDERS, STATUS: (t: PodTruth) => rank(POD_STATUS_ORDER, t.status) };
const WORKLOAD_ORDERS = { ...NAMED_ORDERS, STATUS: (t: WorkloadTruth) => rank(WORKLOAD_STATUS_ORDER, t.status) };
const NODE_ORDERS = { ...NAMED_ORDERS, STATUS: (t: NodeTruth) => rank(NODE_STATUS_ORDER, t.statusText) };

/**
 * Ties of a list of several workload kinds, as WorkloadOrderField.STATUS documents them for every order: name, then
 * namespace, then kind.
 */
const workloadTie = (a: WorkloadTruth, b: WorkloadTruth) =>
  cmp(a.name, b.name) || cmp(a.namespace, b.namespace) || cmp(a.kind, b.kind);

// ---------------------------------------------------------------------------------------------------- the table

interface Case<T> {
  title: string;
  /** The arguments (root arguments and `filter`); a function of the ground truth for values only it knows. */
  vars: Vars | ((scope: T[]) => Vars);
  /** Whether a ground-truth object belongs in the result, given the arguments. */
  keep: (t: T, vars: Vars) => boolean;
  /** The order to walk in (default NAME ASC). */
  order?: [field: string, direction: 'ASC' | 'DESC'];
  /** The expected result is empty (otherwise it must not be, so that the case shows something). */
  empty?: boolean;
  /** The expected result must be smaller than the unfiltered list (the filter does filter). */
  narrows?: boolean;
}

interface ListSpec<T extends Truth> {
  title: string;
  /** The field listed: [type, field] as in the schema (`Workload` for the interface's pods). */
  field: [string, string];
  /** For nested lists: the variables of the parent and the selection around the list field. */
  parent?: {
    defs: Record<string, string>;
    vars: Vars;
    open: string;
    close: string;
    extract: (data: AnyObject) => Conn;
  };
  /** Root arguments fixed for the whole spec (e.g. the kind of a workloads list). */
  fixed?: Vars;
  nodeFields: string;
  keyOf: (node: AnyObject) => string;
  /** Every object the unfiltered list must hold, read from the cluster. */
  truth: () => Promise<T[]>;
  cases: Case<T>[];
  orders: Record<string, (t: T) => string>;
  tie?: (a: T, b: T) => number;
  /** The unfiltered list holds at least this many (so that paging is meaningful). */
  atLeast: number;
}

const nsKey = (n: AnyObject) => `${n.namespace ?? ''}/${n.name}`;
const workloadKey = (n: AnyObject) => `${n.kind}:${n.namespace}/${n.name}`;
const filter = (f: Vars): Vars => ({ filter: f });
const f = (vars: Vars) => (vars.filter ?? {}) as Record<string, AnyObject>;

/** The cases every namespaced kind has: namespace, workspace, name, labelSelector, and all of them together. */
function namespacedCases<T extends Truth>(name: string, selector: string): Case<T>[] {
  return [
    { title: `namespace ${A}`, vars: { namespace: A }, keep: (t) => t.namespace === A, narrows: true },
    { title: `workspace ${WS}`, vars: { workspace: WS }, keep: inWorkspace(WS), narrows: true },
    {
      title: 'a namespace outside the workspace',
      vars: { namespace: 'shop', workspace: WS },
      keep: () => false,
      empty: true,
    },
    { title: `name ~ "${name}"`, vars: filter({ name }), keep: nameHas(name), narrows: true },
    {
      title: `labelSelector "${selector}"`,
      vars: filter({ labelSelector: selector }),
      keep: (t) => selectorMatches(selector, t.labels),
      narrows: true,
    },
    {
      title: 'namespace + workspace + name + labelSelector',
      vars: { namespace: B, workspace: WS, filter: { name: 'lists', labelSelector: 'lists/color in (red, blue)' } },
      keep: (t) => t.namespace === B && nameHas('lists')(t) && selectorMatches('lists/color in (red, blue)', t.labels),
      order: ['CREATED_AT', 'DESC'],
    },
  ];
}

function clusterCases<T extends Truth>(name: string, selector: string): Case<T>[] {
  return [
    { title: `name ~ "${name}"`, vars: filter({ name }), keep: nameHas(name), narrows: true },
    {
      title: `labelSelector "${selector}"`,
      vars: filter({ labelSelector: selector }),
      keep: (t) => selectorMatches(selector, t.labels),
      narrows: true,
    },
    {
      title: 'name + labelSelector',
      vars: filter({ name: 'lists', labelSelector: 'lists/color notin (green)' }),
      keep: (t) => nameHas('lists')(t) && selectorMatches('lists/color notin (green)', t.labels),
      order: ['CREATED_AT', 'DESC'],
    },
  ];
}

function resourceSpec(
  title: string,
  field: string,
  apiVersion: string,
  kind: string,
  namespaced: boolean,
  name: string,
  selector: string,
  extra: Case<ResourceTruth>[] = [],
): ListSpec<ResourceTruth> {
  return {
    title,
    field: ['Query', field],
    nodeFields: namespaced ? 'namespace name' : 'name',
    keyOf: nsKey,
    truth: () => resourceTruth(apiVersion, kind),
    cases: [
      ...(namespaced ? namespacedCases<ResourceTruth>(name, selector) : clusterCases<ResourceTruth>(name, selector)),
      ...extra,
    ],
    orders: NAMED_ORDERS,
    atLeast: 5,
  };
}

/** The PodFilter cases of a nested pods list: values picked from the pods of its scope. */
function nestedPodCases(
  labelSelector: string,
  owner: { namespace: string; kind: WorkloadKind; name: string },
): Case<PodTruth>[] {
  // The last pod by name (a StatefulSet's highest ordinal): the one the label selectors below keep.
  const pick = (scope: PodTruth[]) => [...scope].sort((a, b) => cmp(b.name, a.name))[0];
  const ownerKey = `${owner.kind}:${owner.namespace}/${owner.name}`;
  return [
    {
      title: 'name (a suffix of one of its pods)',
      vars: (s) => filter({ name: pick(s)?.name.slice(-5) ?? 'none' }),
      keep: (t, v) => nameHas(f(v).name)(t),
    },
    {
      title: `labelSelector "${labelSelector}"`,
      vars: filter({ labelSelector }),
      keep: (t) => selectorMatches(labelSelector, t.labels),
    },
    {
      title: 'status (of one of its pods)',
      vars: (s) => filter({ status: [pick(s)?.status ?? 'RUNNING'] }),
      keep: (t, v) => f(v).status.includes(t.status),
    },
    {
      title: 'node (of one of its pods)',
      vars: (s) => filter({ node: pick(s)?.node ?? 'node-1' }),
      keep: (t, v) => t.node === f(v).node,
    },
    { title: `owner ${ownerKey}`, vars: filter({ owner }), keep: (t) => t.owners.includes(ownerKey) },
    {
      title: 'name + labelSelector + status + node + owner',
      vars: (s) =>
        filter({
          name: pick(s)?.name.slice(-5) ?? 'none',
          labelSelector,
          status: [pick(s)?.status ?? 'RUNNING'],
          node: pick(s)?.node ?? 'node-1',
          owner,
        }),
      keep: (t, v) =>
        nameHas(f(v).name)(t) &&
        selectorMatches(labelSelector, t.labels) &&
        f(v).status.includes(t.status) &&
        t.node === f(v).node &&
        t.owners.includes(ownerKey),
      order: ['CREATED_AT', 'DESC'],
    },
  ];
}

function podsSpec(
  title: string,
  field: [string, string],
  parent: ListSpec<PodTruth>['parent'],
  scope: (t: PodTruth) => boolean,
  cases: Case<PodTruth>[],
  atLeast = 5,
): ListSpec<PodTruth> {
  return {
    title,
    field,
    parent,
    nodeFields: 'namespace name',
    keyOf: nsKey,
    truth: async () => (await podTruth()).filter(scope),
    cases,
    orders: POD_ORDERS,
    atLeast,
  };
}

const projectParent = (name: string): ListSpec<PodTruth>['parent'] => ({
  defs: { pname: 'String!' },
  vars: { pname: name },
  open: 'project(name: $pname) {',
  close: '}',
  extract: (d) => d.project.pods,
});

/** The workloads lists: root (each kind, and no kind) and nested in a project. */
function workloadCases(kind: WorkloadKind | undefined): Case<WorkloadTruth>[] {
  const sel = 'lists/color in (red, green)';
  const stopped = kind === 'JOB' ? ['RUNNING'] : ['STOPPED'];
  const cases: Case<WorkloadTruth>[] = [
    { title: `namespace ${A}`, vars: { namespace: A }, keep: (t) => t.namespace === A, narrows: true },
    { title: `workspace ${WS}`, vars: { workspace: WS }, keep: inWorkspace(WS), narrows: true },
    { title: 'a workspace without projects', vars: { workspace: 'no-such-workspace' }, keep: () => false, empty: true },
    { title: 'name ~ "lists"', vars: filter({ name: 'lists' }), keep: nameHas('lists'), narrows: true },
    {
      title: `labelSelector "${sel}"`,
      vars: filter({ labelSelector: sel }),
      keep: (t) => selectorMatches(sel, t.labels),
      narrows: true,
    },
    {
      title: `status ${stopped}`,
      vars: filter({ status: stopped }),
      keep: (t) => stopped.includes(t.status),
      narrows: true,
    },
    {
      title: 'owner: the Jobs of CronJob lists-a/lists-cron',
      vars: filter({ owner: { namespace: A, kind: 'CRON_JOB', name: 'lists-cron' } }),
      keep: (t) => t.ownedBy.includes(`CRON_JOB:${A}/lists-cron`),
      empty: kind !== undefined && kind !== 'JOB',
    },
    {
      title: 'owner: a Deployment owns no workloads',
      vars: filter({ owner: { namespace: A, kind: 'DEPLOYMENT', name: 'lists-web' } }),
      keep: () => false,
      empty: true,
    },
    {
      title: 'namespace + workspace + name + labelSelector + status',
      vars: {
        namespace: A,
        workspace: WS,
        filter: { name: 'lists', labelSelector: 'lists/color', status: ['STOPPED', 'UPDATING'] },
      },
      keep: (t) =>
        t.namespace === A &&
        nameHas('lists')(t) &&
        'lists/color' in t.labels &&
        ['STOPPED', 'UPDATING'].includes(t.status),
      order: ['CREATED_AT', 'DESC'],
    },
  ];
  return cases;
}

function workloadsSpec(kind: WorkloadKind | undefined): ListSpec<WorkloadTruth> {
  return {
    title: `Query.workloads(kind: ${kind ?? 'none'})`,
    field: ['Query', 'workloads'],
    fixed: kind ? { kind } : {},
    nodeFields: 'namespace name kind',
    keyOf: workloadKey,
    truth: () => workloadTruth(kind ? [kind] : KINDS),
    cases: [
      ...workloadCases(kind),
      ...(kind
        ? []
        : ([
            { title: 'kind omitted: every kind', vars: {}, keep: () => true },
            // Deployments named frontend in shop and shop-staging: a name tie decided by the namespace (shop first), as
            // in the list of one kind; the kind comes after.
            {
              title: 'name ~ "frontend" (a name in two projects)',
              vars: filter({ name: 'frontend' }),
              keep: nameHas('frontend'),
              narrows: true,
            },
          ] satisfies Case<WorkloadTruth>[])),
    ],
    orders: WORKLOAD_ORDERS,
    tie: kind ? undefined : workloadTie,
    atLeast: 5,
  };
}

function workloadPodsSpec(kind: WorkloadKind, name: string, labelSelector: string): ListSpec<PodTruth> {
  const owner = { namespace: A, kind, name };
  return podsSpec(
    `${kind} ${A}/${name}.pods`,
    ['Workload', 'pods'],
    {
      defs: { pns: 'String!', pkind: 'WorkloadKind!', pname: 'String!' },
      vars: { pns: A, pkind: kind, pname: name },
      open: 'workload(namespace: $pns, kind: $pkind, name: $pname) {',
      close: '}',
      extract: (d) => d.workload.pods,
    },
    (t) => t.owners.includes(`${kind}:${A}/${name}`),
    nestedPodCases(labelSelector, owner),
  );
}

const SPECS: ListSpec<AnyObject>[] = [
  {
    title: 'Query.projects',
    field: ['Query', 'projects'],
    nodeFields: 'name',
    keyOf: nsKey,
    truth: projectTruth,
    cases: [
      {
        title: `workspace ${WS}`,
        vars: { workspace: WS },
        keep: (t: ProjectTruth) => t.labels['kubesphere.io/workspace'] === WS,
        narrows: true,
      },
      { title: 'name ~ "kube"', vars: filter({ name: 'kube' }), keep: nameHas('kube'), narrows: true },
      {
        title: 'labelSelector "lists/tier in (gold, gone)"',
        vars: filter({ labelSelector: 'lists/tier in (gold, gone)' }),
        keep: (t: ProjectTruth) => selectorMatches('lists/tier in (gold, gone)', t.labels),
        narrows: true,
      },
      {
        title: 'status TERMINATING',
        vars: filter({ status: ['TERMINATING'] }),
        keep: (t: ProjectTruth) => t.status === 'TERMINATING',
        narrows: true,
      },
      {
        title: 'status ACTIVE',
        vars: filter({ status: ['ACTIVE'] }),
        keep: (t: ProjectTruth) => t.status === 'ACTIVE',
        narrows: true,
      },
      { title: 'status [] matches none', vars: filter({ status: [] }), keep: () => false, empty: true },
      {
        title: 'workspace + name + labelSelector + status',
        vars: { workspace: WS, filter: { name: 'lists', labelSelector: 'lists/tier', status: ['ACTIVE'] } },
        keep: (t: ProjectTruth) =>
          t.labels['kubesphere.io/workspace'] === WS &&
          nameHas('lists')(t) &&
          'lists/tier' in t.labels &&
          t.status === 'ACTIVE',
        order: ['CREATED_AT', 'DESC'],
      },
    ],
    orders: NAMED_ORDERS,
    atLeast: 5,
  },
  {
    title: 'Query.nodes',
    field: ['Query', 'nodes'],
    nodeFields: 'name',
    keyOf: nsKey,
    truth: nodeTruth,
    cases: [
      { title: 'name ~ "lists"', vars: filter({ name: 'lists' }), keep: nameHas('lists'), narrows: true },
      {
        title: 'labelSelector "lists/pool=blue"',
        vars: filter({ labelSelector: 'lists/pool=blue' }),
        keep: (t: NodeTruth) => t.labels['lists/pool'] === 'blue',
        narrows: true,
      },
      { title: 'ready: true', vars: filter({ ready: true }), keep: (t: NodeTruth) => t.ready, narrows: true },
      { title: 'ready: false', vars: filter({ ready: false }), keep: (t: NodeTruth) => !t.ready, narrows: true },
      {
        title: 'name + labelSelector + ready',
        vars: filter({ name: 'node', labelSelector: 'kubernetes.io/os=linux', ready: true }),
        keep: (t: NodeTruth) => nameHas('node')(t) && t.labels['kubernetes.io/os'] === 'linux' && t.ready,
        order: ['CREATED_AT', 'DESC'],
      },
    ],
    orders: NODE_ORDERS,
    atLeast: 5,
  },
  {
    title: 'Query.pods',
    field: ['Query', 'pods'],
    nodeFields: 'namespace name',
    keyOf: nsKey,
    truth: podTruth,
    cases: [
      { title: `namespace ${A}`, vars: { namespace: A }, keep: (t) => t.namespace === A, narrows: true },
      { title: `workspace ${WS}`, vars: { workspace: WS }, keep: inWorkspace(WS), narrows: true },
      {
        title: 'a namespace outside the workspace',
        vars: { namespace: 'shop', workspace: WS },
        keep: () => false,
        empty: true,
      },
      { title: 'name ~ "lists-web"', vars: filter({ name: 'lists-web' }), keep: nameHas('lists-web'), narrows: true },
      {
        title: 'labelSelector "app in (lists-db, lists-batch)"',
        vars: filter({ labelSelector: 'app in (lists-db, lists-batch)' }),
        keep: (t) => selectorMatches('app in (lists-db, lists-batch)', t.labels),
        narrows: true,
      },
      {
        title: 'status RUNNING',
        vars: filter({ status: ['RUNNING'] }),
        keep: (t: PodTruth) => t.status === 'RUNNING',
        narrows: true,
      },
      {
        title: 'status COMPLETED, ERROR, PENDING',
        vars: filter({ status: ['COMPLETED', 'ERROR', 'PENDING'] }),
        keep: (t: PodTruth) => ['COMPLETED', 'ERROR', 'PENDING'].includes(t.status),
        narrows: true,
      },
      {
        title: 'node node-2',
        vars: filter({ node: 'node-2' }),
        keep: (t: PodTruth) => t.node === 'node-2',
        narrows: true,
      },
      ...KINDS.map((k): Case<PodTruth> => {
        const name = {
          DEPLOYMENT: 'lists-web',
          STATEFUL_SET: 'lists-db',
          DAEMON_SET: 'lists-agent',
          JOB: 'lists-batch',
          CRON_JOB: 'lists-cron',
        }[k];
        return {
          title: `owner ${k} ${A}/${name}`,
          vars: filter({ owner: { namespace: A, kind: k, name } }),
          keep: (t) => t.owners.includes(`${k}:${A}/${name}`),
          narrows: true,
        };
      }),
      {
        title: 'owner that does not exist',
        vars: filter({ owner: { namespace: A, kind: 'DEPLOYMENT', name: 'nope' } }),
        keep: () => false,
        empty: true,
      },
      {
        title: 'namespace + workspace + name + labelSelector + status',
        vars: {
          namespace: A,
          workspace: WS,
          filter: { name: 'lists', labelSelector: 'app notin (lists-agent)', status: ['RUNNING', 'COMPLETED'] },
        },
        keep: (t: PodTruth) =>
          t.namespace === A &&
          nameHas('lists')(t) &&
          selectorMatches('app notin (lists-agent)', t.labels) &&
          ['RUNNING', 'COMPLETED'].includes(t.status),
        order: ['CREATED_AT', 'DESC'],
      },
      {
        title: 'owner + node + status',
        vars: filter({
          owner: { namespace: 'kube-system', kind: 'DAEMON_SET', name: 'kube-proxy' },
          node: 'node-2',
          status: ['RUNNING'],
        }),
        keep: (t: PodTruth) =>
          t.owners.includes('DAEMON_SET:kube-system/kube-proxy') && t.node === 'node-2' && t.status === 'RUNNING',
        order: ['STATUS', 'DESC'],
      },
    ],
    orders: POD_ORDERS,
    atLeast: 5,
  },
  workloadsSpec(undefined),
  ...KINDS.map((k) => workloadsSpec(k)),
  resourceSpec('Query.replicaSets', 'replicaSets', 'apps/v1', 'ReplicaSet', true, 'lists-web', 'app=lists-web', [
    {
      title: `owner DEPLOYMENT ${A}/lists-web`,
      vars: filter({ owner: { namespace: A, kind: 'DEPLOYMENT', name: 'lists-web' } }),
      keep: (t) => t.ownedBy.includes(`DEPLOYMENT:${A}/lists-web`),
      narrows: true,
    },
    {
      title: 'owner: a StatefulSet owns no ReplicaSets',
      vars: filter({ owner: { namespace: A, kind: 'STATEFUL_SET', name: 'lists-db' } }),
      keep: () => false,
      empty: true,
    },
  ]),
  resourceSpec('Query.services', 'services', 'v1', 'Service', true, 'lists-w', 'lists/color=red'),
  resourceSpec(
    'Query.ingresses',
    'ingresses',
    'networking.k8s.io/v1',
    'Ingress',
    true,
    'lists-t',
    'lists/color in (red,green)',
  ),
  resourceSpec('Query.configMaps', 'configMaps', 'v1', 'ConfigMap', true, 'config', 'lists/color notin (red)'),
  resourceSpec('Query.secrets', 'secrets', 'v1', 'Secret', true, 'lists-o', 'lists/color!=blue'),
  resourceSpec('Query.serviceAccounts', 'serviceAccounts', 'v1', 'ServiceAccount', true, 'default', '!lists/color'),
  resourceSpec(
    'Query.persistentVolumeClaims',
    'persistentVolumeClaims',
    'v1',
    'PersistentVolumeClaim',
    true,
    'data',
    'lists/color',
    [
      { title: 'phase BOUND', vars: filter({ phase: ['BOUND'] }), keep: (t) => t.phase === 'BOUND', narrows: true },
      {
        title: 'phase PENDING, LOST',
        vars: filter({ phase: ['PENDING', 'LOST'] }),
        keep: (t) => ['PENDING', 'LOST'].includes(t.phase),
        narrows: true,
      },
      { title: 'phase [] matches none', vars: filter({ phase: [] }), keep: () => false, empty: true },
    ],
  ),
  resourceSpec(
    'Query.persistentVolumes',
    'persistentVolumes',
    'v1',
    'PersistentVolume',
    false,
    'pv-2',
    'lists/color notin (green),lists/color',
    [
      {
        title: 'phase AVAILABLE',
        vars: filter({ phase: ['AVAILABLE'] }),
        keep: (t) => t.phase === 'AVAILABLE',
        narrows: true,
      },
      {
        title: 'phase BOUND, RELEASED',
        vars: filter({ phase: ['BOUND', 'RELEASED'] }),
        keep: (t) => ['BOUND', 'RELEASED'].includes(t.phase),
        narrows: true,
      },
      { title: 'phase [] matches none', vars: filter({ phase: [] }), keep: () => false, empty: true },
    ],
  ),
  resourceSpec(
    'Query.storageClasses',
    'storageClasses',
    'storage.k8s.io/v1',
    'StorageClass',
    false,
    'lists-sc',
    '!lists/color',
  ),
  resourceSpec(
    'Query.horizontalPodAutoscalers',
    'horizontalPodAutoscalers',
    'autoscaling/v2',
    'HorizontalPodAutoscaler',
    true,
    'lists-f',
    'lists/color==blue',
  ),
  resourceSpec(
    'Query.networkPolicies',
    'networkPolicies',
    'networking.k8s.io/v1',
    'NetworkPolicy',
    true,
    'lists-s',
    'lists/color in (blue),lists/set',
  ),
  resourceSpec(
    'Query.customResourceDefinitions',
    'customResourceDefinitions',
    'apiextensions.k8s.io/v1',
    'CustomResourceDefinition',
    false,
    'bravo',
    'lists/color in (red, blue)',
  ),
  resourceSpec('Query.events', 'events', 'v1', 'Event', true, 'lists-ev', 'lists/color=red', [
    {
      title: 'involvedKind Deployment',
      vars: { involvedKind: 'Deployment' },
      keep: (t) => t.involvedKind === 'Deployment',
      narrows: true,
    },
    {
      title: 'involvedName lists-web',
      vars: { involvedName: 'lists-web' },
      keep: (t) => t.involvedName === 'lists-web',
      narrows: true,
    },
    { title: 'type Warning', vars: { type: 'Warning' }, keep: (t) => t.type === 'Warning', narrows: true },
    {
      title: 'namespace + workspace + involvedKind + involvedName + type + name + labelSelector',
      vars: {
        namespace: A,
        workspace: WS,
        involvedKind: 'Pod',
        involvedName: 'lists-pending',
        type: 'Warning',
        filter: { name: 'lists', labelSelector: 'lists/color' },
      },
      keep: (t) =>
        t.namespace === A &&
        t.involvedKind === 'Pod' &&
        t.involvedName === 'lists-pending' &&
        t.type === 'Warning' &&
        nameHas('lists')(t) &&
        'lists/color' in t.labels,
      order: ['CREATED_AT', 'DESC'],
    },
  ]),
  // ---- nested
  podsSpec(`Project ${A}.pods`, ['Project', 'pods'], projectParent(A), (t) => t.namespace === A, [
    { title: 'name ~ "lists-web"', vars: filter({ name: 'lists-web' }), keep: nameHas('lists-web'), narrows: true },
    {
      title: 'labelSelector "app in (lists-db, lists-batch)"',
      vars: filter({ labelSelector: 'app in (lists-db, lists-batch)' }),
      keep: (t) => selectorMatches('app in (lists-db, lists-batch)', t.labels),
      narrows: true,
    },
    {
      title: 'status COMPLETED, ERROR, PENDING',
      vars: filter({ status: ['COMPLETED', 'ERROR', 'PENDING'] }),
      keep: (t) => ['COMPLETED', 'ERROR', 'PENDING'].includes(t.status),
      narrows: true,
    },
    { title: 'node node-2', vars: filter({ node: 'node-2' }), keep: (t) => t.node === 'node-2', narrows: true },
    {
      title: `owner CRON_JOB ${A}/lists-cron`,
      vars: filter({ owner: { namespace: A, kind: 'CRON_JOB', name: 'lists-cron' } }),
      keep: (t) => t.owners.includes(`CRON_JOB:${A}/lists-cron`),
      narrows: true,
    },
    {
      title: 'owner in another project',
      vars: filter({ owner: { namespace: B, kind: 'DEPLOYMENT', name: 'lists-web' } }),
      keep: () => false,
      empty: true,
    },
    {
      title: 'name + labelSelector + status + owner',
      vars: filter({
        name: 'lists',
        labelSelector: 'app=lists-web',
        status: ['RUNNING'],
        owner: { namespace: A, kind: 'DEPLOYMENT', name: 'lists-web' },
      }),
      keep: (t) =>
        nameHas('lists')(t) &&
        t.labels.app === 'lists-web' &&
        t.status === 'RUNNING' &&
        t.owners.includes(`DEPLOYMENT:${A}/lists-web`),
      order: ['CREATED_AT', 'DESC'],
    },
  ]),
  {
    title: `Project ${A}.workloads`,
    field: ['Project', 'workloads'],
    parent: {
      defs: { pname: 'String!' },
      vars: { pname: A },
      open: 'project(name: $pname) {',
      close: '}',
      extract: (d) => d.project.workloads,
    },
    nodeFields: 'namespace name kind',
    keyOf: workloadKey,
    truth: async () => (await workloadTruth()).filter((t) => t.namespace === A),
    cases: [
      {
        title: 'kind CRON_JOB',
        vars: { kind: 'CRON_JOB' },
        keep: (t: WorkloadTruth) => t.kind === 'CRON_JOB',
        narrows: true,
      },
      { title: 'name ~ "lists-c"', vars: filter({ name: 'lists-c' }), keep: nameHas('lists-c'), narrows: true },
      {
        title: 'labelSelector "lists/color=blue"',
        vars: filter({ labelSelector: 'lists/color=blue' }),
        keep: (t) => t.labels['lists/color'] === 'blue',
        narrows: true,
      },
      {
        title: 'status STOPPED',
        vars: filter({ status: ['STOPPED'] }),
        keep: (t: WorkloadTruth) => t.status === 'STOPPED',
        narrows: true,
      },
      {
        title: `owner CRON_JOB ${A}/lists-cron`,
        vars: filter({ owner: { namespace: A, kind: 'CRON_JOB', name: 'lists-cron' } }),
        keep: (t: WorkloadTruth) => t.ownedBy.includes(`CRON_JOB:${A}/lists-cron`),
        narrows: true,
      },
      {
        title: 'kind + name + labelSelector + status + owner',
        vars: {
          kind: 'JOB',
          filter: {
            name: 'cron',
            labelSelector: 'app=lists-cron',
            status: ['STOPPED'],
            owner: { namespace: A, kind: 'CRON_JOB', name: 'lists-cron' },
          },
        },
        keep: (t: WorkloadTruth) =>
          t.kind === 'JOB' &&
          nameHas('cron')(t) &&
          t.labels.app === 'lists-cron' &&
          t.status === 'STOPPED' &&
          t.ownedBy.includes(`CRON_JOB:${A}/lists-cron`),
        order: ['CREATED_AT', 'DESC'],
      },
    ],
    orders: WORKLOAD_ORDERS,
    tie: workloadTie,
    atLeast: 5,
  },
  podsSpec(
    'Node node-2.pods',
    ['Node', 'pods'],
    {
      defs: { pname: 'String!' },
      vars: { pname: 'node-2' },
      open: 'nodes(first: 10, filter: { name: $pname }) { edges { node { name',
      close: '} } }',
      extract: (d) => {
        const edges = (d.nodes.edges as { node: { name: string; pods: Conn } }[]).filter(
          (e) => e.node.name === 'node-2',
        );
        if (edges.length !== 1) throw new Error(`node-2 listed ${edges.length} times`);
        return edges[0].node.pods;
      },
    },
    (t) => t.node === 'node-2',
    [
      { title: 'name ~ "lists"', vars: filter({ name: 'lists' }), keep: nameHas('lists'), narrows: true },
      {
        title: 'labelSelector "k8s-app"',
        vars: filter({ labelSelector: 'k8s-app' }),
        keep: (t) => 'k8s-app' in t.labels,
        narrows: true,
      },
      { title: 'status RUNNING', vars: filter({ status: ['RUNNING'] }), keep: (t) => t.status === 'RUNNING' },
      { title: 'node node-2 (its own)', vars: filter({ node: 'node-2' }), keep: () => true },
      { title: 'node node-1 (another)', vars: filter({ node: 'node-1' }), keep: () => false, empty: true },
      {
        title: 'owner DAEMON_SET kube-system/kube-proxy',
        vars: filter({ owner: { namespace: 'kube-system', kind: 'DAEMON_SET', name: 'kube-proxy' } }),
        keep: (t) => t.owners.includes('DAEMON_SET:kube-system/kube-proxy'),
        narrows: true,
      },
      {
        title: 'name + labelSelector + status + node + owner',
        vars: filter({
          name: 'agent',
          labelSelector: 'app',
          status: ['RUNNING'],
          node: 'node-2',
          owner: { namespace: A, kind: 'DAEMON_SET', name: 'lists-agent' },
        }),
        keep: (t) =>
          nameHas('agent')(t) &&
          'app' in t.labels &&
          t.status === 'RUNNING' &&
          t.owners.includes(`DAEMON_SET:${A}/lists-agent`),
        order: ['CREATED_AT', 'DESC'],
      },
    ],
  ),
  workloadPodsSpec('DEPLOYMENT', 'lists-web', 'app=lists-web'),
  workloadPodsSpec('STATEFUL_SET', 'lists-db', 'statefulset.kubernetes.io/pod-name notin (lists-db-0)'),
  workloadPodsSpec('DAEMON_SET', 'lists-agent', 'app=lists-agent'),
  workloadPodsSpec('JOB', 'lists-batch', 'app in (lists-batch)'),
  workloadPodsSpec('CRON_JOB', 'lists-cron', 'app=lists-cron'),
  {
    title: `Service ${A}/lists-web.pods`,
    field: ['Service', 'pods'],
    parent: {
      defs: { pns: 'String!', pname: 'String!' },
      vars: { pns: A, pname: 'lists-web' },
      open: 'service(namespace: $pns, name: $pname) {',
      close: '}',
      extract: (d) => d.service.pods,
    },
    nodeFields: 'namespace name',
    keyOf: nsKey,
    truth: async () => {
      const svc =
        (await stack.cluster.core.readNamespacedService({ namespace: A, name: 'lists-web' })).spec?.selector ?? {};
      return (await podTruth()).filter(
        (t) => t.namespace === A && Object.entries(svc).every(([k, v]) => t.labels[k] === v),
      );
    },
    cases: [],
    orders: NAMED_ORDERS,
    atLeast: 5,
  },
  {
    title: `Service ${A}/lists-none.pods (no selector)`,
    field: ['Service', 'pods'],
    parent: {
      defs: { pns: 'String!', pname: 'String!' },
      vars: { pns: A, pname: 'lists-none' },
      open: 'service(namespace: $pns, name: $pname) {',
      close: '}',
      extract: (d) => d.service.pods,
    },
    nodeFields: 'namespace name',
    keyOf: nsKey,
    truth: async () => [],
    cases: [],
    orders: NAMED_ORDERS,
    atLeast: 0,
  },
] as ListSpec<AnyObject>[];

// ---------------------------------------------------------------------------------------------------- the runner

/** The query of a spec: every argument the schema gives the list field, as a variable of its type. */
function queryOf(spec: ListSpec<AnyObject>): string {
  const args = SCHEMA.args(...spec.field);
  if (!args) throw new Error(`${spec.field.join('.')} is not in the schema`);
  const defs = [...Object.entries(spec.parent?.defs ?? {}), ...args].map(([n, t]) => `$${n}: ${t}`).join(', ');
  const uses = [...args.keys()].map((n) => `${n}: $${n}`).join(', ');
  const conn = `${spec.field[1]}(${uses}) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${spec.nodeFields} } } }`;
  return `query(${defs}) { ${spec.parent ? `${spec.parent.open} ${conn} ${spec.parent.close}` : conn} }`;
}

const extractOf = (spec: ListSpec<AnyObject>) => spec.parent?.extract ?? ((d: AnyObject) => d[spec.field[1]] as Conn);

/** The arguments and filter fields a case uses, as `arg` or `filter.field`. */
function usesOf(vars: Vars): string[] {
  return Object.entries(vars).flatMap(([k, v]) =>
    k === 'filter' ? Object.keys(v as object).map((x) => `filter.${x}`) : [k],
  );
}

/** What a case needs that the served schema lacks (empty: it can run). */
function missingInSchema(spec: ListSpec<AnyObject>, vars: Vars, order?: string): string[] {
  const args = SCHEMA.args(...spec.field);
  if (!args) return [spec.field.join('.')];
  const missing: string[] = [];
  for (const u of usesOf(vars)) {
    const [arg, sub] = u.split('.');
    if (!args.has(arg)) missing.push(arg);
    else if (sub && !SCHEMA.inputFields(namedType(args.get(arg)!)).has(sub))
      missing.push(`${namedType(args.get(arg)!)}.${sub}`);
  }
  if (order && args.has('orderBy')) {
    const enumName = namedType(SCHEMA.inputFields(namedType(args.get('orderBy')!)).get('field') ?? '');
    if (!SCHEMA.enumValues(enumName).includes(order)) missing.push(`${enumName}.${order}`);
  }
  return missing;
}

interface Outcome {
  got: string[];
  expected: string[];
  problems: string[];
  scope: number;
  pages: number;
}

/**
 * Walks a list and compares it with the ground truth read right before the walk; while the two disagree (the demo
 * cluster moved, or the list is wrong) reads and walks again, up to the deadline. The last outcome is returned.
 */
async function check(
  spec: ListSpec<AnyObject>,
  c: Pick<Case<AnyObject>, 'vars' | 'keep'>,
  field: string,
  direction: 'ASC' | 'DESC',
): Promise<Outcome> {
  const query = queryOf(spec);
  const run = (vars: Vars) => stack.gql(query, vars);
  let last: Outcome | undefined;
  let lastError: unknown;
  await eventually(
    async () => {
      try {
        const scope = await spec.truth();
        const vars = typeof c.vars === 'function' ? c.vars(scope) : c.vars;
        const key = spec.orders[field];
        const expected = expectedOrder(
          scope.filter((t) => c.keep(t, vars)),
          key,
          direction,
          spec.tie,
        );
        const walked = await walkConnection(
          run,
          extractOf(spec),
          { ...spec.parent?.vars, ...spec.fixed, ...vars, orderBy: { field, direction } },
          FIRST,
          spec.keyOf,
        );
        last = { got: walked.keys, expected, problems: walked.problems, scope: scope.length, pages: walked.pages };
        lastError = undefined;
        return walked.problems.length === 0 && JSON.stringify(walked.keys) === JSON.stringify(expected);
      } catch (e) {
        lastError = e;
        return false;
      }
    },
    20_000,
    `${spec.title}: the walk to equal the ground truth`,
  ).catch(() => undefined);
  if (!last) throw lastError instanceof Error ? lastError : new Error(String(lastError));
  expect(last.problems, 'connection contract').toEqual([]);
  expect(last.got, 'the walked list against the ground truth').toEqual(last.expected);
  return last;
}

beforeAll(async () => {
  stack = await startTestStack({ sandbox: { seed: { kind: 'demo' }, speed: 20 } });
  await seed();
  workspaces = new Map();
  for (const n of await list('v1', 'Namespace')) {
    const ws = n.metadata.labels?.['kubesphere.io/workspace'];
    if (ws) workspaces.set(ws, (workspaces.get(ws) ?? new Set()).add(n.metadata.name));
  }
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

for (const spec of SPECS) {
  describe(spec.title, () => {
    const orderEnum = (() => {
      const args = SCHEMA.args(...spec.field);
      const orderBy = args?.get('orderBy');
      return orderBy ? SCHEMA.enumValues(namedType(SCHEMA.inputFields(namedType(orderBy)).get('field') ?? '')) : [];
    })();
    const orders = [...new Set([...orderEnum, ...Object.keys(spec.orders)])];

    for (const field of orders) {
      for (const direction of ['ASC', 'DESC'] as const) {
        const title = `orderBy ${field} ${direction}, paged by ${FIRST} to the end`;
        const missing = missingInSchema(spec, {}, field);
        if (missing.length) it.skip(`${title} — not in the schema yet: ${missing.join(', ')}`, () => {});
        else
          it(title, async () => {
            if (!spec.orders[field])
              throw new Error(`the schema offers ${field} but this table has no expected order for it`);
            const out = await check(spec, { vars: {}, keep: () => true }, field, direction);
            expect(out.scope).toBeGreaterThanOrEqual(spec.atLeast);
            if (spec.atLeast > FIRST) expect(out.pages).toBeGreaterThan(1);
          });
      }
    }

    for (const c of spec.cases) {
      const [field, direction] = c.order ?? ['NAME', 'ASC'];
      const probe = typeof c.vars === 'function' ? c.vars([]) : c.vars;
      const missing = missingInSchema(spec, probe, field);
      const title = `filter ${c.title} (${field} ${direction})`;
      if (missing.length) it.skip(`${title} — not in the schema yet: ${missing.join(', ')}`, () => {});
      else
        it(title, async () => {
          const out = await check(spec, c, field, direction);
          if (c.empty) expect(out.expected).toEqual([]);
          else expect(out.expected.length, 'the case selects something').toBeGreaterThan(0);
          if (c.narrows) expect(out.expected.length, 'the filter leaves some out').toBeLessThan(out.scope);
        });
    }

    const args = SCHEMA.args(...spec.field);
    const filterType = args?.get('filter');
    if (filterType && SCHEMA.inputFields(namedType(filterType)).has('labelSelector')) {
      it('an invalid labelSelector is BAD_USER_INPUT; so is a cursor that is not one', async () => {
        const query = queryOf(spec);
        for (const labelSelector of ['app in (', 'a b', '=x']) {
          const r = await stack.gql(query, {
            ...spec.parent?.vars,
            ...spec.fixed,
            filter: { labelSelector },
            first: FIRST,
          });
          expect(r.errors?.[0]?.extensions?.code, labelSelector).toBe('BAD_USER_INPUT');
        }
        const r = await stack.gql(query, { ...spec.parent?.vars, ...spec.fixed, first: FIRST, after: 'not-a-cursor' });
        expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      });
    } else {
      it('a cursor that is not one is BAD_USER_INPUT', async () => {
        const r = await stack.gql(queryOf(spec), {
          ...spec.parent?.vars,
          ...spec.fixed,
          first: FIRST,
          after: 'not-a-cursor',
        });
        expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      });
    }
  });
}

// Every argument and filter field of each listed field has a case, and every order value a sort key.
describe('coverage of the served schema', () => {
  const fields = [...new Set(SPECS.map((s) => s.field.join('.')))];
  for (const name of fields) {
    it(`${name}: every argument, filter field and order has a case`, () => {
      const specs = SPECS.filter((s) => s.field.join('.') === name);
      const args = SCHEMA.args(...(name.split('.') as [string, string]))!;
      const wanted = [...args.keys()].flatMap((a) => {
        if (a === 'first' || a === 'after' || a === 'orderBy') return [];
        if (a === 'filter') return [...SCHEMA.inputFields(namedType(args.get(a)!)).keys()].map((x) => `filter.${x}`);
        return [a];
      });
      const covered = new Set(
        specs.flatMap((s) => [
          ...usesOf(s.fixed ?? {}),
          ...s.cases.flatMap((c) => usesOf(typeof c.vars === 'function' ? c.vars([]) : c.vars)),
        ]),
      );
      expect(
        wanted.filter((w) => !covered.has(w)),
        'arguments without a case',
      ).toEqual([]);
      const orderBy = args.get('orderBy');
      const values = orderBy
        ? SCHEMA.enumValues(namedType(SCHEMA.inputFields(namedType(orderBy)).get('field') ?? ''))
        : [];
      for (const s of specs)
        expect(
          values.filter((v) => !s.orders[v]),
          `${s.title}: orders without a sort key`,
        ).toEqual([]);
    });
  }
  it('every connection of the workloads subgraph (root and nested) is in the table', () => {
    // The subgraph's own SDL: the supergraph's Query also holds other subgraphs' fields.
    const own = indexSchema(readFileSync(new URL('../schema/workloads.graphql', import.meta.url), 'utf8'));
    const listed = new Set(SPECS.map((s) => s.field.join('.')));
    const connections = own
      .types()
      .flatMap((type) =>
        [...own.fields(type)]
          .filter(([, t]) => /Connection!?$/.test(t))
          .map(([field]) => `${own.interfaces(type).includes('Workload') ? 'Workload' : type}.${field}`),
      );
    expect(connections.length).toBeGreaterThan(20);
    expect(
      [...new Set(connections)].filter((c) => !listed.has(c)),
      'connections without a spec',
    ).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------- seed

const labels = (color: string, extra: Record<string, string> = {}) => ({
  'lists/set': 'yes',
  'lists/color': color,
  ...extra,
});
const COLORS = ['red', 'blue', 'green'];
const container = (name: string, image: string) => ({
  name,
  image,
  resources: { requests: { cpu: '10m', memory: '16Mi' } },
});
const podTemplate = (app: string, color: string, image = 'nginx:1.27', spec: Vars = {}) => ({
  metadata: { labels: { app, 'lists/color': color } },
  spec: { containers: [container('main', image)], ...spec },
});

/**
 * A handful of objects of every kind, in two projects of workspace lists-ws, a project outside any workspace, a demo
 * project and cluster-wide, with distinct labels; and a project stuck Terminating, NotReady and cordoned nodes, pods
 * Pending, Completed and in Error, stopped and running workloads, bound and pending claims, available and bound volumes.
 */
async function seed(): Promise<void> {
  const sb = stack.cluster;
  const create = (body: AnyObject) => sb.objects.create(body) as Promise<AnyObject>;
  for (const [name, pool, extra] of [
    ['lists-node-a', 'blue', {}],
    [
      'lists-node-b',
      'red',
      {
        status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'lists test' }] },
      },
    ],
    ['lists-node-c', 'blue', { spec: { unschedulable: true } }],
  ] as const) {
    await create({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'lists/pool': pool } }, ...extra });
  }
  for (const [name, ws, tier] of [
    [A, WS, 'gold'],
    [B, WS, 'silver'],
    [C, undefined, 'gold'],
    [GONE, undefined, 'gone'],
  ] as const) {
    await create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'lists/tier': tier, ...(ws ? { 'kubesphere.io/workspace': ws } : {}) } },
    });
  }
  // A project stuck Terminating: a ConfigMap in it keeps a finalizer.
  await create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'lists-held', namespace: GONE, finalizers: ['lists.example.com/hold'], labels: labels('green') },
  });
  await sb.core.deleteNamespace({ name: GONE });

  // Workloads: the same names in two projects (ties), every status.
  const deployment = (ns: string, name: string, replicas: number, color: string) =>
    create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, labels: labels(color, { app: name }) },
      spec: { replicas, selector: { matchLabels: { app: name } }, template: podTemplate(name, color) },
    });
  const statefulSet = (ns: string, name: string, replicas: number, color: string) =>
    create({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace: ns, labels: labels(color, { app: name }) },
      spec: {
        serviceName: name,
        replicas,
        selector: { matchLabels: { app: name } },
        template: podTemplate(name, color),
      },
    });
  const daemonSet = (ns: string, name: string, color: string, nodeSelector?: Record<string, string>) =>
    create({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name, namespace: ns, labels: labels(color, { app: name }) },
      spec: {
        selector: { matchLabels: { app: name } },
        template: podTemplate(name, color, 'nginx:1.27', {
          tolerations: [{ operator: 'Exists' }],
          ...(nodeSelector ? { nodeSelector } : {}),
        }),
      },
    });
  const job = (ns: string, name: string, color: string, spec: Vars, owner?: AnyObject, app = name) =>
    create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: ns,
        labels: labels(color, { app }),
        ...(owner
          ? {
              ownerReferences: [
                {
                  apiVersion: 'batch/v1',
                  kind: 'CronJob',
                  name: owner.metadata.name,
                  uid: owner.metadata.uid,
                  controller: true,
                },
              ],
            }
          : {}),
      },
      spec: { template: podTemplate(app, color, 'example/report-job:1.0', { restartPolicy: 'Never' }), ...spec },
    });
  const cronJob = (ns: string, name: string, color: string, suspend: boolean) =>
    create({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name, namespace: ns, labels: labels(color, { app: name }) },
      spec: {
        schedule: '0 0 1 1 *',
        suspend,
        jobTemplate: {
          spec: { template: podTemplate(name, color, 'example/report-job:1.0', { restartPolicy: 'Never' }) },
        },
      },
    });

  await deployment(A, 'lists-web', 5, 'red');
  await deployment(B, 'lists-web', 1, 'blue');
  await deployment(A, 'lists-idle', 0, 'green');
  await statefulSet(A, 'lists-db', 5, 'blue');
  await statefulSet(A, 'lists-cache', 0, 'green');
  await statefulSet(B, 'lists-db', 0, 'red');
  await daemonSet(A, 'lists-agent', 'red');
  await daemonSet(A, 'lists-none', 'green', { 'lists/pool': 'none' });
  await daemonSet(B, 'lists-none', 'blue', { 'lists/pool': 'none' });
  await job(A, 'lists-batch', 'red', { completions: 5, parallelism: 5 });
  await job(A, 'lists-held', 'blue', { suspend: true });
  await job(B, 'lists-held', 'green', { suspend: true });
  await job(A, 'lists-stuck', 'green', {
    template: podTemplate('lists-stuck', 'green', 'example/report-job:1.0', {
      restartPolicy: 'Never',
      nodeSelector: { 'lists/pool': 'none' },
    }),
  });
  const cron = await cronJob(A, 'lists-cron', 'red', true);
  await job(A, 'lists-cron-1', 'red', { completions: 3, parallelism: 3 }, cron, 'lists-cron');
  await job(A, 'lists-cron-2', 'red', { completions: 3, parallelism: 3 }, cron, 'lists-cron');
  await cronJob(A, 'lists-nightly', 'blue', true);
  await cronJob(B, 'lists-cron', 'green', true);
  await cronJob(C, 'lists-weekly', 'blue', false);

  // Bare pods that settle Pending, Completed and in Error.
  const pod = (name: string, image: string, spec: Vars, color: string) =>
    create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: A, labels: labels(color, { app: 'lists-bare' }) },
      spec: { containers: [container('main', image)], ...spec },
    });
  await pod('lists-pending', 'nginx:1.27', { nodeSelector: { 'lists/pool': 'none' } }, 'red');
  await pod('lists-done', 'example/batch-job:1.0', { restartPolicy: 'Never' }, 'blue');
  await pod('lists-failed', 'example/fail-job:1.0', { restartPolicy: 'Never' }, 'green');

  // Services: with a selector (their pods), without one.
  const service = (ns: string, name: string, color: string, selector?: Record<string, string>) =>
    create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, labels: labels(color) },
      spec: { ...(selector ? { selector } : {}), ports: [{ port: 80, targetPort: 80 }] },
    });
  await service(A, 'lists-web', 'red', { app: 'lists-web' });
  await service(A, 'lists-db', 'blue', { app: 'lists-db' });
  await service(A, 'lists-none', 'green');
  await service(B, 'lists-web', 'red', { app: 'lists-web' });
  await service('shop', 'lists-shop', 'blue', { app: 'frontend' });

  // The other namespaced kinds: the same six names and colors each (two names in both lists projects, one in shop).
  const PLACES: [string, string][] = [
    [A, 'lists-one'],
    [A, 'lists-two'],
    [A, 'lists-three'],
    [B, 'lists-one'],
    [B, 'lists-four'],
    ['shop', 'lists-shop'],
  ];
  const bodies: Record<string, (ns: string, name: string, color: string, i: number) => AnyObject> = {
    Ingress: (ns, name, color) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: ns, labels: labels(color) },
      spec: { rules: [{ host: `${name}.${ns}.example.com` }] },
    }),
    ConfigMap: (ns, name, color) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns, labels: labels(color) },
      data: { color },
    }),
    Secret: (ns, name, color) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: ns, labels: labels(color) },
      type: 'Opaque',
      data: { color: Buffer.from(color).toString('base64') },
    }),
    ServiceAccount: (ns, name, color) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace: ns, labels: labels(color) },
    }),
    HorizontalPodAutoscaler: (ns, name, color) => ({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name, namespace: ns, labels: labels(color) },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'lists-web' },
        minReplicas: 1,
        maxReplicas: 5,
      },
    }),
    NetworkPolicy: (ns, name, color) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name, namespace: ns, labels: labels(color) },
      spec: { podSelector: { matchLabels: { app: name } }, policyTypes: ['Ingress'] },
    }),
    // Four claim volumes of class lists-manual (bound), two ask a class nobody serves (pending).
    PersistentVolumeClaim: (ns, name, color, i) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: ns, labels: labels(color) },
      spec: {
        storageClassName: i % 3 === 2 ? 'lists-nobody' : 'lists-manual',
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
      },
    }),
  };
  // The volumes first, so that the claims find them.
  for (let i = 1; i <= 6; i++) {
    await create({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `lists-pv-${i}`, labels: labels(COLORS[i % 3]) },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'lists-manual',
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path: `/data/lists-${i}` },
      },
    });
  }
  for (const [kind, body] of Object.entries(bodies)) {
    for (const [i, [ns, name]] of PLACES.entries()) {
      try {
        await create(body(ns, name, COLORS[i % 3], i));
      } catch (e) {
        throw new Error(`creating ${kind} ${ns}/${name}: ${String((e as { body?: unknown }).body ?? e)}`, { cause: e });
      }
    }
  }
  for (const [i, name] of ['lists-sc-a', 'lists-sc-b', 'lists-sc-c', 'lists-sc-d'].entries()) {
    await create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name, labels: labels(COLORS[i % 3]) },
      provisioner: 'example.com/lists',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
    });
  }
  for (const [i, kind] of ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo'].entries()) {
    const plural = `${kind.toLowerCase()}s`;
    await create({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.lists.example.com`, labels: labels(COLORS[i % 3]) },
      spec: {
        group: 'lists.example.com',
        scope: 'Namespaced',
        names: { plural, singular: plural.slice(0, -1), kind, listKind: `${kind}List` },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    });
  }
  // Events with labels, about several objects, of both types.
  const now = new Date();
  for (const [i, [ns, kind, name, type]] of (
    [
      [A, 'Pod', 'lists-pending', 'Warning'],
      [A, 'Pod', 'lists-pending', 'Normal'],
      [A, 'Deployment', 'lists-web', 'Normal'],
      [A, 'Pod', 'lists-failed', 'Warning'],
      [B, 'Deployment', 'lists-web', 'Warning'],
      [B, 'Pod', 'lists-other', 'Normal'],
    ] as const
  ).entries()) {
    await create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `lists-ev-${i + 1}`, namespace: ns, labels: labels(COLORS[i % 3]) },
      involvedObject: { apiVersion: kind === 'Pod' ? 'v1' : 'apps/v1', kind, namespace: ns, name },
      reason: 'ListsTest',
      message: `event ${i + 1}`,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: 'lists-test' },
    });
  }

  // Settled: the workloads' pods ready or finished, the bare pods in their final state, the claims bound or pending,
  // the project terminating; and the demo's own (its Job completed, its worker crash-looping).
  await eventually(
    async () => {
      const pods = await podTruth();
      const status = (ns: string, name: string) => pods.find((p) => p.namespace === ns && p.name === name)?.status;
      const of = (owner: string) => pods.filter((p) => p.owners.includes(owner));
      const workloads = await workloadTruth();
      const w = (key: string) => workloads.find((x) => x.key === key)?.status;
      const claims = await resourceTruth('v1', 'PersistentVolumeClaim');
      const gone = (await projectTruth()).find((p) => p.name === GONE);
      const waits = {
        web:
          of(`DEPLOYMENT:${A}/lists-web`).filter((p) => p.status === 'RUNNING').length === 5 &&
          w(`DEPLOYMENT:${A}/lists-web`) === 'RUNNING',
        db:
          of(`STATEFUL_SET:${A}/lists-db`).filter((p) => p.status === 'RUNNING').length === 5 &&
          w(`STATEFUL_SET:${A}/lists-db`) === 'RUNNING',
        batch:
          of(`JOB:${A}/lists-batch`).filter((p) => p.status === 'COMPLETED').length === 5 &&
          w(`JOB:${A}/lists-batch`) === 'STOPPED',
        cron: of(`CRON_JOB:${A}/lists-cron`).filter((p) => p.status === 'COMPLETED').length === 6,
        agent: of(`DAEMON_SET:${A}/lists-agent`).length >= 5,
        bare:
          status(A, 'lists-pending') === 'PENDING' &&
          status(A, 'lists-done') === 'COMPLETED' &&
          status(A, 'lists-failed') === 'ERROR',
        claims: claims.filter((c) => c.name.startsWith('lists-') && c.phase === 'BOUND').length === 4,
        gone: gone?.status === 'TERMINATING',
        demo:
          pods.some((p) => p.name.startsWith('nightly-report-') && p.status === 'COMPLETED') &&
          pods.some((p) => p.name.startsWith('payment-worker-') && p.status === 'CRASH_LOOP_BACK_OFF'),
      };
      const pending = Object.entries(waits)
        .filter(([, ok]) => !ok)
        .map(([k]) => k);
      if (pending.length) throw new Error(`still waiting for ${pending.join(', ')}`);
      return true;
    },
    60_000,
    'the seeded cluster to settle',
  );
}
