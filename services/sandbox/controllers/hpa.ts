// The horizontal pod autoscaler controller (autoscaling/v2): every sync period (15 s, scaled by the sandbox's
// speed) it reads the target's scale, the usage of its ready pods from the simulated metrics (metrics.ts, what
// metrics-server would serve), computes the desired replicas as kube-controller-manager does (ratio to the target,
// 10 % tolerance, min/max, a scale-up limit and a 5-minute scale-down stabilization window), scales the target and
// fills status.currentReplicas / desiredReplicas / currentMetrics / conditions. Resource metrics (cpu, memory) only.
import { intValueOf, milliValueOf } from '../../common/k8s/quantity.js';
import { podUsage } from '../metrics.js';
import { jsonPathValue, type ResourceType } from '../registry.js';
import { formatLabelSelector, labelsMatch, parseLabelSelector } from '../selectors.js';
import { setPath } from '../server/requests.js';
import type { StoreEvent } from '../store.js';
import { timestamp } from '../store.js';
import type { Condition, KObject, KPod } from '../types.js';
import { Controller, keyOf, splitKey, type ControllerContext } from './base.js';
import { isPodReady } from './endpoints.js';

const TOLERANCE = 0.1;

interface ResourceTarget {
  type?: string;
  averageUtilization?: number;
  averageValue?: string;
}

interface MetricSpec {
  type: string;
  resource?: { name: string; target?: ResourceTarget };
}

interface Evaluation {
  replicas: number;
  current: object;
  error?: string;
  name: string;
  utilization: boolean;
}

export class HorizontalPodAutoscalerController extends Controller {
  /** Recent recommendations per HPA, for the scale-down stabilization window. */
  private readonly recommendations = new Map<string, { at: number; replicas: number }[]>();
  private readonly timers = new Set<string>();

  constructor(ctx: ControllerContext) {
    super(ctx);
  }

  private get hpaType(): ResourceType {
    return this.store.type('autoscaling', 'horizontalpodautoscalers');
  }

  protected override initialKeys(): string[] {
    return this.keysOfAll(this.hpaType);
  }

  protected keysFor(ev: StoreEvent): string[] {
    if (ev.rt.group !== 'autoscaling' || ev.rt.kind !== 'HorizontalPodAutoscaler') return [];
    if (ev.type === 'DELETED') {
      this.recommendations.delete(keyOf(ev.object));
      return [];
    }
    // Our own status writes do not call for a new evaluation; spec changes do.
    if (ev.type === 'MODIFIED' && ev.old && JSON.stringify(ev.old.spec) === JSON.stringify(ev.object.spec)) return [];
    return [keyOf(ev.object)];
  }

  protected reconcile(key: string): void {
    const [ns, name] = splitKey(key);
    const hpa = this.store.get(this.hpaType, ns, name);
    if (!hpa) return;
    this.resync(key);
    const ref = (hpa.spec?.scaleTargetRef ?? {}) as { apiVersion?: string; kind?: string; name?: string };
    const rt = ref.apiVersion && ref.kind ? this.store.registry.byKind(ref.apiVersion, ref.kind) : undefined;
    const target = rt?.scale && ref.name ? this.store.get(rt, ns, ref.name) : undefined;
    if (!rt?.scale || !target) {
      return this.writeStatus(hpa, {
        currentReplicas: hpa.status?.currentReplicas ?? 0,
        desiredReplicas: hpa.status?.desiredReplicas ?? 0,
        conditions: [
          cond(
            'AbleToScale',
            'False',
            'FailedGetScale',
            `the HPA controller was unable to get the target's current scale: ${rt ? `${rt.plural}.${rt.group}` : String(ref.kind ?? '').toLowerCase()} "${ref.name ?? ''}" not found`,
          ),
        ],
      });
    }
    const currentReplicas = Number(jsonPathValue(target, rt.scale.specReplicasPath) ?? 1);
    const min = Number(hpa.spec?.minReplicas ?? 1);
    const max = Number(hpa.spec?.maxReplicas ?? 1);
    const selector = rt.scale.labelSelectorPath ? jsonPathValue(target, rt.scale.labelSelectorPath) : undefined;
    const reqs = parseLabelSelector(typeof selector === 'string' ? selector : formatLabelSelector(selector as never));
    const pods = this.store
      .list(this.store.type('', 'pods'), ns)
      .filter((p) => labelsMatch(reqs, p.metadata.labels) && !p.metadata.deletionTimestamp) as KPod[];
    const ready = pods.filter((p) => p.status?.phase === 'Running' && isPodReady(p));
    const metrics = ((hpa.spec?.metrics ?? []) as MetricSpec[]).filter((m) => m.type === 'Resource' && m.resource);
    const evaluations = metrics.map((m) => this.evaluate(m, ready, currentReplicas));
    const failed = evaluations.find((e) => e.error);
    if (currentReplicas === 0) {
      // Scaled to zero by hand: autoscaling is off until it is scaled up again.
      return this.writeStatus(hpa, {
        currentReplicas: 0,
        desiredReplicas: 0,
        conditions: [
          cond(
            'AbleToScale',
            'True',
            'SucceededGetScale',
            "the HPA controller was able to get the target's current scale",
          ),
          cond(
            'ScalingActive',
            'False',
            'ScalingDisabled',
            'scaling is disabled since the replica count of the target is zero',
          ),
        ],
      });
    }
    const proposal = evaluations.length && !failed ? Math.max(...evaluations.map((e) => e.replicas)) : currentReplicas;
    // Stabilization: scaling down goes no lower than the highest recommendation of the window.
    const now = Date.now();
    const window = this.ctx.clock.delay('hpaDownscaleStabilization', 300_000);
    // A new HPA starts from the current size, as the real controller seeds its recommendations.
    const recs = (this.recommendations.get(key) ?? [{ at: now, replicas: currentReplicas }]).filter(
      (r) => r.at > now - window,
    );
    recs.push({ at: now, replicas: proposal });
    this.recommendations.set(key, recs);
    let desired =
      proposal < currentReplicas ? Math.min(currentReplicas, Math.max(...recs.map((r) => r.replicas))) : proposal;
    // The default scale-up policy: at most double, or four more, per period.
    desired = Math.min(desired, Math.max(2 * currentReplicas, currentReplicas + 4));
    let limited = cond(
      'ScalingLimited',
      'False',
      'DesiredWithinRange',
      'the desired count is within the acceptable range',
    );
    // behavior.scaleUp/scaleDown.selectPolicy: Disabled turns that direction off (the status is still kept).
    const behavior = (hpa.spec?.behavior ?? {}) as Record<string, { selectPolicy?: string } | undefined>;
    if (desired > currentReplicas && behavior.scaleUp?.selectPolicy === 'Disabled') {
      desired = currentReplicas;
      limited = cond(
        'ScalingLimited',
        'True',
        'ScaleUpLimit',
        'the desired replica count is increasing faster than the maximum scale rate',
      );
    } else if (desired < currentReplicas && behavior.scaleDown?.selectPolicy === 'Disabled') {
      desired = currentReplicas;
      limited = cond(
        'ScalingLimited',
        'True',
        'ScaleDownLimit',
        'the desired replica count is decreasing faster than the maximum scale rate',
      );
    }
    if (desired > max) {
      desired = max;
      limited = cond(
        'ScalingLimited',
        'True',
        'TooManyReplicas',
        'the desired replica count is more than the maximum replica count',
      );
    } else if (desired < min) {
      desired = min;
      limited = cond(
        'ScalingLimited',
        'True',
        'TooFewReplicas',
        'the desired replica count is less than the minimum replica count',
      );
    }
    let able = cond('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');
    let lastScaleTime = hpa.status?.lastScaleTime;
    if (desired !== currentReplicas) {
      const next = structuredClone(target);
      setPath(next, rt.scale.specReplicasPath, desired);
      this.store.update(rt, next);
      lastScaleTime = timestamp();
      able = cond(
        'AbleToScale',
        'True',
        'SucceededRescale',
        `the HPA controller was able to update the target scale to ${desired}`,
      );
    }
    const first = evaluations[0];
    const active = failed
      ? cond(
          'ScalingActive',
          'False',
          'FailedGetResourceMetric',
          `the HPA was unable to compute the replica count: ${failed.error}`,
        )
      : first
        ? cond(
            'ScalingActive',
            'True',
            'ValidMetricFound',
            `the HPA was able to successfully calculate a replica count from ${first.name} resource${first.utilization ? ' utilization (percentage of request)' : ''}`,
          )
        : cond(
            'ScalingActive',
            'False',
            'InvalidMetricSourceType',
            'the HPA was unable to compute the replica count: no resource metrics to scale on',
          );
    this.writeStatus(hpa, {
      ...(lastScaleTime ? { lastScaleTime } : {}),
      currentReplicas: Number(jsonPathValue(target, rt.scale.statusReplicasPath) ?? pods.length),
      desiredReplicas: desired,
      ...(evaluations.some((e) => !e.error)
        ? { currentMetrics: evaluations.filter((e) => !e.error).map((e) => e.current) }
        : {}),
      conditions: [able, active, limited],
    });
  }

  /** One resource metric: its current value and the replicas it asks for (the controller's usage ratio). */
  private evaluate(m: MetricSpec, pods: KPod[], currentReplicas: number): Evaluation {
    const name = m.resource!.name;
    const target = m.resource!.target ?? {};
    const utilization = target.type === 'Utilization' || target.averageUtilization !== undefined;
    if (!pods.length)
      return {
        name,
        utilization,
        replicas: currentReplicas,
        current: {},
        error: `failed to get ${name} utilization: did not receive metrics for targeted pods (pods might be unready)`,
      };
    let usage = 0;
    let requests = 0;
    for (const p of pods) {
      const u = podUsage(p);
      usage += name === 'cpu' ? u.cpu : u.memory;
      for (const c of p.spec?.containers ?? []) {
        const req = c.resources?.requests?.[name];
        if (utilization && req === undefined)
          return {
            name,
            utilization,
            replicas: currentReplicas,
            current: {},
            error: `failed to get ${name} utilization: missing request for ${name} in container ${c.name} of Pod ${p.metadata.name}`,
          };
        requests += name === 'cpu' ? (milliValueOf(req) ?? 0) / 1000 : (intValueOf(req) ?? 0);
      }
    }
    const average = usage / pods.length;
    const averageValue = name === 'cpu' ? `${Math.round(average * 1000)}m` : String(Math.round(average));
    if (utilization) {
      const percent = Math.round((100 * usage) / requests);
      const ratio = percent / Number(target.averageUtilization ?? 100);
      return {
        name,
        utilization,
        replicas: Math.abs(ratio - 1) <= TOLERANCE ? currentReplicas : Math.ceil(ratio * pods.length),
        current: { type: 'Resource', resource: { name, current: { averageUtilization: percent, averageValue } } },
      };
    }
    const wanted =
      name === 'cpu' ? (milliValueOf(target.averageValue) ?? 0) / 1000 : (intValueOf(target.averageValue) ?? 0);
    const ratio = wanted > 0 ? average / wanted : 1;
    return {
      name,
      utilization,
      replicas: Math.abs(ratio - 1) <= TOLERANCE ? currentReplicas : Math.ceil(ratio * pods.length),
      current: { type: 'Resource', resource: { name, current: { averageValue } } },
    };
  }

  private writeStatus(hpa: KObject, status: Record<string, unknown>): void {
    const old: Condition[] = hpa.status?.conditions ?? [];
    const conditions = (status.conditions as Condition[]).map((c) => {
      const before = old.find((o) => o.type === c.type);
      return before && before.status === c.status ? { ...c, lastTransitionTime: before.lastTransitionTime } : c;
    });
    const next = { ...status, conditions };
    if (JSON.stringify(hpa.status ?? {}) === JSON.stringify(next)) return;
    this.store.update(this.hpaType, { ...hpa, status: next }, { subresource: 'status' });
  }

  /** The controller's sync period: each HPA is evaluated again after it. */
  private resync(key: string): void {
    if (this.timers.has(key)) return;
    this.timers.add(key);
    this.ctx.setTimer(
      () => {
        this.timers.delete(key);
        this.enqueue(key);
      },
      this.ctx.clock.delay('hpaSync', 15_000),
    );
  }
}

const cond = (type: string, status: 'True' | 'False', reason: string, message: string): Condition => ({
  type,
  status,
  lastTransitionTime: timestamp(),
  reason,
  message,
});
