// The monitoring model: the one API resolvers call. A session per GraphQL request holds the viewer, the request's
// evaluation time and the DataLoaders that turn every metric field of a response into one Prometheus query per
// (level, metric, time or range). Every entity and root field is authorized through services/common/authz.ts.
import DataLoader from 'dataloader';
import type { Viewer } from '../../common/authz.js';
import { authorize, authorizeList, authorizeWorkspaceScope, visibleNamespaces } from '../../common/authz.js';
import { badUserInput, forbiddenError } from '../../common/errors.js';
import type { QueryResult } from '../clients/prometheus.js';
import { listAlertingRules, listAlerts, type AlertArgs, type AlertingRuleView, type AlertView } from './alerts.js';
import {
  LEVEL_KEYS,
  metricDef,
  type ContainerTarget,
  type Level,
  type NodeTarget,
  type PodTarget,
  type ProjectTarget,
  type QueryEnv,
  type TargetOf,
  type Unit,
  type WorkloadKindName,
  type WorkloadTarget,
  type WorkspaceTarget,
} from './metrics.js';
import { PrometheusAccess } from './prometheus-access.js';
import { matcher, parseRange, rangeSteps, sampleValue, validName, type TimeRange } from './promql.js';

export type { Viewer } from '../../common/authz.js';
export { DEV_VIEWER } from '../../common/authz.js';
export { PrometheusAccess, SERVICE, NOT_CONFIGURED } from './prometheus-access.js';
export type { AlertView, AlertingRuleView } from './alerts.js';

/** One metric of one object: what a `Metric` field resolves from. */
export interface MetricHandle<L extends Level = Level> {
  level: L;
  name: string;
  target: TargetOf[L];
  unit: Unit;
}

/** The parent of a `<Level>Metrics` object: the object the metrics are about. */
export interface MetricsOf<L extends Level = Level> {
  level: L;
  target: TargetOf[L];
}

export interface SampleView {
  timestamp: string;
  value: number | null;
}

export interface RankView<L extends Level> {
  target: TargetOf[L];
  value: number;
}

export interface PromSeriesView {
  labels: Record<string, string>;
  samples: SampleView[];
}

export interface PromQueryResultView {
  resultType: string;
  series: PromSeriesView[];
}

export type Direction = 'ASC' | 'DESC';

export interface RankArgs {
  by: string;
  first?: number | null;
  namespace?: string | null;
  workspace?: string | null;
  node?: string | null;
  kind?: WorkloadKindName | null;
  direction?: Direction | null;
}

export interface MonitoringModelOptions {
  access: PrometheusAccess;
  /** The rate window of rate() expressions (a PromQL duration). */
  rateWindow: string;
}

/** Rankings answer at most this many objects. */
export const MAX_RANK = 500;

const RANK_ENUM_TO_FIELD = (name: string) =>
  name.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const toIso = (unixSeconds: number) => new Date(Math.round(unixSeconds * 1000)).toISOString();

export type MonitoringModel = ReturnType<typeof createMonitoringModel>;

export function createMonitoringModel(opts: MonitoringModelOptions) {
  return {
    access: opts.access,
    /** A session for one GraphQL request. */
    session: (viewer: Viewer) => new MonitoringSession(opts, viewer),
  };
}

export class MonitoringSession {
  /** The evaluation time of the request's current values (unix seconds), one for all its fields. */
  readonly now = Math.floor(Date.now()) / 1000;
  private readonly loaders = new Map<string, DataLoader<unknown, unknown>>();
  private readonly visible: 'all' | ReadonlySet<string>;

  constructor(
    private readonly opts: MonitoringModelOptions,
    readonly viewer: Viewer,
  ) {
    this.visible = visibleNamespaces(viewer);
  }

  // ---------------------------------------------------------------- the objects metrics are about (authorized)

  pod(ref: { namespace: unknown; name: unknown }): MetricsOf<'pod'> {
    const namespace = validName('namespace', ref.namespace);
    const pod = validName('pod', ref.name);
    authorize(this.viewer, 'read', namespace);
    return { level: 'pod', target: { namespace, pod } };
  }

  container(pod: PodTarget, name: unknown): MetricsOf<'container'> & { name: string } {
    const container = validName('container', name);
    return { level: 'container', target: { ...pod, container }, name: container };
  }

  node(ref: { name: unknown }): MetricsOf<'node'> {
    const node = validName('node', ref.name);
    authorize(this.viewer, 'read');
    return { level: 'node', target: { node } };
  }

  project(ref: { name: unknown }): MetricsOf<'project'> {
    const namespace = validName('namespace', ref.name);
    authorize(this.viewer, 'read', namespace);
    return { level: 'project', target: { namespace } };
  }

  /** A workspace's metrics cover its projects the viewer may see; one who may see none of them is refused. */
  workspace(ref: { name: unknown }): MetricsOf<'workspace'> {
    const workspace = validName('workspace', ref.name);
    // Members of the workspace (or of one of its projects) only; the metrics cover the projects they may see in it.
    authorizeWorkspaceScope(this.viewer, workspace);
    return { level: 'workspace', target: { workspace } };
  }

  workload(ref: { namespace: unknown; kind: unknown; name: unknown }): MetricsOf<'workload'> {
    const namespace = validName('namespace', ref.namespace);
    const name = validName('workload', ref.name);
    const kind = String(ref.kind) as WorkloadKindName;
    if (!LEVEL_KINDS.has(kind)) throw badUserInput(`unknown workload kind ${JSON.stringify(ref.kind)}`);
    authorize(this.viewer, 'read', namespace);
    return { level: 'workload', target: { namespace, kind, name } };
  }

  cluster(): MetricsOf<'cluster'> {
    authorize(this.viewer, 'read');
    return { level: 'cluster', target: {} };
  }

  metric<L extends Level>(of: MetricsOf<L>, name: string): MetricHandle<L> {
    const def = metricDef(of.level, name);
    if (!def) throw new Error(`no ${of.level} metric ${name}`);
    return { level: of.level, name, target: of.target, unit: def.unit };
  }

  // ---------------------------------------------------------------- values and series, batched

  /** The metric's value at `at` (ISO time; the request's time when absent), batched with every same metric asked. */
  async value(h: MetricHandle, at?: string | null): Promise<number | null> {
    let time = this.now;
    if (at != null) {
      const t = Date.parse(at);
      if (Number.isNaN(t)) throw badUserInput(`at ${JSON.stringify(at)} is not an ISO-8601 time`, { argument: 'at' });
      time = t / 1000;
    }
    const loader = this.loader(`${h.level}|${h.name}|at|${time}`, h.level, (targets) =>
      this.instant(h.level, h.name, targets, time),
    );
    return (await loader.load(h.target)) as number | null;
  }

  /** The metric from start to end, one sample per step (null where Prometheus has none), batched as value is. */
  async series(h: MetricHandle, start: string, end: string, step: string): Promise<SampleView[]> {
    const range = parseRange(start, end, step);
    const loader = this.loader(
      `${h.level}|${h.name}|range|${range.start}|${range.end}|${range.step}`,
      h.level,
      (targets) => this.range(h.level, h.name, targets, range),
    );
    return (await loader.load(h.target)) as SampleView[];
  }

  private loader<L extends Level>(
    key: string,
    level: L,
    batch: (targets: TargetOf[L][]) => Promise<unknown[]>,
  ): DataLoader<TargetOf[L], unknown> {
    let l = this.loaders.get(key) as DataLoader<TargetOf[L], unknown> | undefined;
    if (!l) {
      const keyOf = LEVEL_KEYS[level].keyOf as (t: TargetOf[L]) => string;
      // No batch size limit: one query per field however many objects (its matchers grow, not the request count).
      l = new DataLoader<TargetOf[L], unknown, string>((targets) => batch([...targets]), { cacheKeyFn: keyOf });
      this.loaders.set(key, l as DataLoader<unknown, unknown>);
    }
    return l;
  }

  private env(): QueryEnv {
    return { window: this.opts.rateWindow, rules: this.opts.access.recordingRules(), namespaces: this.visible };
  }

  /** A viewer who may see no namespace at all gets no values, without asking Prometheus (a matcher needs values). */
  private seesNothing(level: Level): boolean {
    return level !== 'node' && level !== 'cluster' && this.visible !== 'all' && this.visible.size === 0;
  }

  private async instant<L extends Level>(
    level: L,
    name: string,
    targets: TargetOf[L][],
    time: number,
  ): Promise<(number | null)[]> {
    if (this.seesNothing(level)) return targets.map(() => null);
    const promql = metricDef(level, name)!.query(targets, this.env());
    const result = await this.opts.access.run((c) => c.query(promql, time));
    const byKey = new Map<string, number | null>();
    const keys = LEVEL_KEYS[level];
    for (const s of vectorOf(result)) {
      const t = keys.targetOf(s.metric);
      if (t) byKey.set((keys.keyOf as (t: TargetOf[L]) => string)(t as TargetOf[L]), sampleValue(s.value[1]));
    }
    const keyOf = keys.keyOf as (t: TargetOf[L]) => string;
    return targets.map((t) => byKey.get(keyOf(t)) ?? null);
  }

  private async range<L extends Level>(
    level: L,
    name: string,
    targets: TargetOf[L][],
    r: TimeRange,
  ): Promise<SampleView[][]> {
    if (this.seesNothing(level))
      return targets.map(() => rangeSteps(r).map((ts) => ({ timestamp: toIso(ts), value: null })));
    const promql = metricDef(level, name)!.query(targets, this.env());
    const result = await this.opts.access.run((c) => c.queryRange(promql, r.start, r.end, r.step));
    const keys = LEVEL_KEYS[level];
    const keyOf = keys.keyOf as (t: TargetOf[L]) => string;
    const byKey = new Map<string, Map<number, number | null>>();
    if (result.resultType === 'matrix') {
      for (const s of result.result) {
        const t = keys.targetOf(s.metric);
        if (!t) continue;
        byKey.set(keyOf(t as TargetOf[L]), new Map(s.values.map(([ts, v]) => [Math.round(ts * 1000), sampleValue(v)])));
      }
    }
    const steps = rangeSteps(r);
    return targets.map((t) => {
      const values = byKey.get(keyOf(t));
      return steps.map((ts) => ({ timestamp: toIso(ts), value: values?.get(Math.round(ts * 1000)) ?? null }));
    });
  }

  // ---------------------------------------------------------------- rankings

  /** The first N objects of a level by a metric, among what the viewer may see, highest first (or lowest with ASC). */
  async top<L extends 'pod' | 'workload' | 'project' | 'node'>(level: L, args: RankArgs): Promise<RankView<L>[]> {
    const name = RANK_ENUM_TO_FIELD(args.by);
    const def = metricDef(level, name);
    if (!def) throw badUserInput(`no ${level} metric ${args.by}`, { argument: 'by' });
    const first = args.first ?? 10;
    if (!Number.isInteger(first) || first < 0 || first > MAX_RANK)
      throw badUserInput(`first must be between 0 and ${MAX_RANK}`, { argument: 'first' });
    if (first === 0) return [];

    let namespaces = this.visible;
    // Rankings need a signed-in viewer; they cover what it may see (nodes: platform admins only).
    authorizeList(this.viewer);
    if (args.workspace != null) authorizeWorkspaceScope(this.viewer, validName('workspace', args.workspace));
    if (level === 'node') authorize(this.viewer, 'read');
    if (args.namespace != null) {
      const ns = validName('namespace', args.namespace);
      authorize(this.viewer, 'read', ns);
      namespaces = new Set([ns]);
    }
    if (namespaces !== 'all' && namespaces.size === 0) return [];
    const env: QueryEnv = { ...this.env(), namespaces };

    if (level === 'workload' && args.kind != null) {
      if (!LEVEL_KINDS.has(args.kind))
        throw badUserInput(`unknown workload kind ${JSON.stringify(args.kind)}`, { argument: 'kind' });
      env.kinds = [args.kind];
    }
    let expr = def.query(undefined, env);
    const filters: string[] = [];
    if (args.workspace != null) {
      const ws = validName('workspace', args.workspace);
      filters.push(`on (namespace) kube_namespace_labels{${matcher('label_kubesphere_io_workspace', [ws])}}`);
    }
    if (args.node != null) {
      const node = validName('node', args.node);
      filters.push(`on (namespace, pod) kube_pod_info{${matcher('node', [node])}}`);
    }
    for (const f of filters) expr = `(${expr}) and ${f}`;
    const fn = args.direction === 'ASC' ? 'bottomk' : 'topk';
    const promql = `${fn}(${first}, ${expr})`;
    const result = await this.opts.access.run((c) => c.query(promql, this.now));
    const keys = LEVEL_KEYS[level];
    const ranked: RankView<L>[] = [];
    for (const s of vectorOf(result)) {
      const target = keys.targetOf(s.metric) as TargetOf[L] | undefined;
      const value = sampleValue(s.value[1]);
      if (target && value !== null) ranked.push({ target, value });
    }
    const keyOf = keys.keyOf as (t: TargetOf[L]) => string;
    const sign = args.direction === 'ASC' ? 1 : -1;
    ranked.sort((a, b) => sign * (a.value - b.value) || keyOf(a.target).localeCompare(keyOf(b.target)));
    return ranked.slice(0, first);
  }

  // ---------------------------------------------------------------- alerts and rules

  async alerts(args: AlertArgs): Promise<AlertView[]> {
    if (args.namespace != null) authorize(this.viewer, 'read', validName('namespace', args.namespace));
    return listAlerts(this.opts.access, this.visible, args);
  }

  async alertingRules(args: AlertArgs): Promise<AlertingRuleView[]> {
    if (args.namespace != null) authorize(this.viewer, 'read', validName('namespace', args.namespace));
    else authorize(this.viewer, 'read');
    return listAlertingRules(this.opts.access, this.visible, args);
  }

  // ---------------------------------------------------------------- PromQL for integrations

  async promQuery(query: string, time?: string | null): Promise<PromQueryResultView> {
    this.requirePlatformAdmin();
    let t: number | undefined;
    if (time != null) {
      const ms = Date.parse(time);
      if (Number.isNaN(ms))
        throw badUserInput(`time ${JSON.stringify(time)} is not an ISO-8601 time`, { argument: 'time' });
      t = ms / 1000;
    }
    if (!query.trim()) throw badUserInput('query is empty', { argument: 'query' });
    return resultView(await this.opts.access.runUserQuery((c) => c.query(query, t ?? this.now)));
  }

  async promQueryRange(query: string, start: string, end: string, step: string): Promise<PromQueryResultView> {
    this.requirePlatformAdmin();
    const r = parseRange(start, end, step);
    if (!query.trim()) throw badUserInput('query is empty', { argument: 'query' });
    return resultView(await this.opts.access.runUserQuery((c) => c.queryRange(query, r.start, r.end, r.step)));
  }

  /** Arbitrary PromQL reads every namespace's data: platform administrators only, whatever else may read. */
  private requirePlatformAdmin(): void {
    authorize(this.viewer, 'read');
    if (this.viewer.platformRole !== 'platform-admin')
      throw forbiddenError(`${this.viewer.username} may not run PromQL: platform administrators only`);
  }
}

const LEVEL_KINDS = new Set<string>(['DEPLOYMENT', 'STATEFUL_SET', 'DAEMON_SET', 'JOB', 'CRON_JOB']);

function vectorOf(result: QueryResult) {
  if (result.resultType === 'vector') return result.result;
  if (result.resultType === 'scalar') return [{ metric: {}, value: result.result }];
  return [];
}

function resultView(result: QueryResult): PromQueryResultView {
  const sample = (ts: number, v: string): SampleView => ({ timestamp: toIso(ts), value: sampleValue(v) });
  switch (result.resultType) {
    case 'vector':
      return {
        resultType: 'vector',
        series: result.result.map((s) => ({ labels: s.metric, samples: [sample(s.value[0], s.value[1])] })),
      };
    case 'matrix':
      return {
        resultType: 'matrix',
        series: result.result.map((s) => ({ labels: s.metric, samples: s.values.map(([ts, v]) => sample(ts, v)) })),
      };
    case 'scalar':
      return { resultType: 'scalar', series: [{ labels: {}, samples: [sample(result.result[0], result.result[1])] }] };
    default:
      return {
        resultType: result.resultType,
        series: [
          { labels: { value: result.result[1] }, samples: [{ timestamp: toIso(result.result[0]), value: null }] },
        ],
      };
  }
}

export type { PodTarget, NodeTarget, ProjectTarget, WorkspaceTarget, WorkloadTarget, ContainerTarget, Level };
