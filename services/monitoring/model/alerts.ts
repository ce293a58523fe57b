// Alerts (Prometheus /api/v1/alerts) and alerting rules (/api/v1/rules?type=alert): filtered by project, severity
// and state here (nothing of the filters reaches PromQL), limited to the namespaces the viewer may see, and linked to
// the pods and nodes their labels name.
import { badUserInput } from '../../common/errors.js';
import type { PromAlert, PromRule } from '../clients/prometheus.js';
import type { PrometheusAccess } from './prometheus-access.js';
import { sampleValue } from './promql.js';

export interface AlertArgs {
  namespace?: string | null;
  severity?: string | null;
  state?: string | null;
}

export interface AlertView {
  name: string;
  state: string;
  severity: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  activeAt: string | null;
  value: number | null;
  namespace: string | null;
  /** Entity references for the gateway. */
  pod: { namespace: string; name: string } | null;
  node: { name: string } | null;
}

export interface AlertingRuleView {
  name: string;
  group: string;
  query: string;
  durationSeconds: number;
  severity: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  health: string;
  lastError: string | null;
  alerts: AlertView[];
}

const STATES = new Set(['firing', 'pending']);

function alertView(a: PromAlert): AlertView {
  const labels = a.labels ?? {};
  return {
    name: labels.alertname ?? '',
    state: a.state,
    severity: labels.severity ?? null,
    labels,
    annotations: a.annotations ?? {},
    // Prometheus reports 0001-01-01 for alerts that never became active.
    activeAt: a.activeAt && !a.activeAt.startsWith('0001-') ? a.activeAt : null,
    value: a.value !== undefined ? sampleValue(a.value) : null,
    namespace: labels.namespace ?? null,
    pod: labels.namespace && labels.pod ? { namespace: labels.namespace, name: labels.pod } : null,
    node: labels.node ? { name: labels.node } : null,
  };
}

/** The alert filter of the arguments and the viewer's visibility (alerts without a namespace: cluster-wide viewers). */
function alertFilter(visible: 'all' | ReadonlySet<string>, args: AlertArgs): (a: AlertView) => boolean {
  if (args.state != null && !STATES.has(args.state))
    throw badUserInput(`state must be firing or pending, not ${JSON.stringify(args.state)}`, { argument: 'state' });
  return (a) =>
    (visible === 'all' || (a.namespace !== null && visible.has(a.namespace))) &&
    (args.namespace == null || a.namespace === args.namespace) &&
    (args.severity == null || a.severity === args.severity) &&
    (args.state == null || a.state === args.state);
}

const byName = (a: AlertView, b: AlertView) =>
  a.name.localeCompare(b.name) || JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels));

export async function listAlerts(
  access: PrometheusAccess,
  visible: 'all' | ReadonlySet<string>,
  args: AlertArgs,
): Promise<AlertView[]> {
  const keep = alertFilter(visible, args);
  if (visible !== 'all' && visible.size === 0) return [];
  const alerts = await access.run((c) => c.alerts());
  return alerts.map(alertView).filter(keep).sort(byName);
}

export async function listAlertingRules(
  access: PrometheusAccess,
  visible: 'all' | ReadonlySet<string>,
  args: AlertArgs,
): Promise<AlertingRuleView[]> {
  const keep = alertFilter(visible, { ...args, state: undefined });
  const groups = await access.run((c) => c.rules('alert'));
  const out: AlertingRuleView[] = [];
  for (const g of groups) {
    for (const r of g.rules as PromRule[]) {
      if (r.type !== 'alerting') continue;
      const labels = r.labels ?? {};
      const severity = labels.severity ?? null;
      if (args.severity != null && severity !== args.severity) continue;
      const alerts = (r.alerts ?? []).map(alertView).filter(keep).sort(byName);
      // With a project: the rules about it (a namespace label) or with alerts in it.
      if (args.namespace != null && labels.namespace !== args.namespace && alerts.length === 0) continue;
      out.push({
        name: r.name,
        group: g.name,
        query: r.query,
        durationSeconds: r.duration ?? 0,
        severity,
        labels,
        annotations: r.annotations ?? {},
        state: r.state ?? 'inactive',
        health: r.health,
        lastError: r.lastError || null,
        alerts,
      });
    }
  }
  return out;
}
