// What goes into PromQL: Kubernetes names are validated (anything else is BAD_USER_INPUT before a query is built),
// and every value is escaped as a PromQL string literal (and, inside =~ matchers, as an RE2 literal) anyway, so a
// value can never change the shape of a query. Durations and time ranges are parsed and bounded here too.
import { badUserInput } from '../../common/errors.js';
import { isDns1123Label, isDns1123Subdomain } from '../../common/k8s/names.js';

export type NameKind = 'namespace' | 'pod' | 'container' | 'node' | 'workload' | 'workspace';

// Namespaces, containers and workspaces (KubeSphere names them like namespaces) are DNS-1123 labels; pods, workloads
// and nodes DNS-1123 subdomains (services/common/k8s/names.ts).
const LABEL = { valid: isDns1123Label, what: 'a DNS-1123 label' };
const SUBDOMAIN = { valid: isDns1123Subdomain, what: 'a DNS-1123 subdomain' };
const RULES: Record<NameKind, { valid: (s: string) => boolean; what: string }> = {
  namespace: LABEL,
  container: LABEL,
  workspace: LABEL,
  pod: SUBDOMAIN,
  node: SUBDOMAIN,
  workload: SUBDOMAIN,
};

/** Returns the name when it is a valid Kubernetes name of its kind; BAD_USER_INPUT otherwise. */
export function validName(kind: NameKind, value: unknown): string {
  const rule = RULES[kind];
  if (typeof value !== 'string' || !rule.valid(value)) {
    throw badUserInput(`${kind} name ${JSON.stringify(String(value)).slice(0, 300)} is not ${rule.what}`, {
      argument: kind,
    });
  }
  return value;
}

/**
 * A PromQL double-quoted string literal of `value`, matching it exactly. PromQL strings use Go's escapes; every
 * character outside printable ASCII is written as \uXXXX (or \UXXXXXXXX), so quotes, backslashes and newlines can
 * never end the literal.
 */
export function promString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return out + '"';
}

/** `value` as an RE2 pattern matching exactly that text (metacharacters escaped). */
export function regexLiteral(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** A label matcher: `label="v"` for one value, `label=~"v1|v2"` (each an exact literal) for several. */
export function matcher(label: string, values: Iterable<string>): string {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label)) throw new Error(`invalid label name ${label}`);
  const list = [...new Set(values)].sort();
  if (list.length === 0) throw new Error(`matcher on ${label} without values`);
  if (list.length === 1) return `${label}=${promString(list[0])}`;
  return `${label}=~${promString(list.map(regexLiteral).join('|'))}`;
}

/** A regex alternation of exact names, for patterns that put names next to other pattern parts. */
export function alternation(values: Iterable<string>): string {
  return `(?:${[...new Set(values)].sort().map(regexLiteral).join('|')})`;
}

// ------------------------------------------------------------------ durations and ranges

const UNIT_SECONDS: Record<string, number> = {
  y: 365 * 86400,
  w: 7 * 86400,
  d: 86400,
  h: 3600,
  m: 60,
  s: 1,
  ms: 0.001,
};
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** A Prometheus duration (`30s`, `1m30s`, `1h`) or a number of seconds, in seconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const m = DURATION.exec(t);
  if (!m || t === '') return undefined;
  const units = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  let total = 0;
  units.forEach((u, i) => {
    if (m[i + 1] !== undefined) total += Number(m[i + 1]) * UNIT_SECONDS[u];
  });
  return total;
}

/** Prometheus refuses range queries of more than 11,000 points per series. */
export const MAX_POINTS = 11_000;

export interface TimeRange {
  /** Unix seconds. */
  start: number;
  end: number;
  step: number;
}

/** Validates a series range: parseable times, start <= end, a positive step, at most MAX_POINTS samples. */
export function parseRange(start: string, end: string, step: string): TimeRange {
  const s = Date.parse(start);
  const e = Date.parse(end);
  if (Number.isNaN(s))
    throw badUserInput(`start ${JSON.stringify(start)} is not an ISO-8601 time`, { argument: 'start' });
  if (Number.isNaN(e)) throw badUserInput(`end ${JSON.stringify(end)} is not an ISO-8601 time`, { argument: 'end' });
  if (e < s) throw badUserInput('end is before start', { argument: 'end' });
  const stepSeconds = parseDuration(step);
  if (stepSeconds === undefined || !(stepSeconds > 0)) {
    throw badUserInput(
      `step ${JSON.stringify(step)} is not a positive Prometheus duration (30s, 5m, 1h) or number of seconds`,
      { argument: 'step' },
    );
  }
  const points = Math.floor((e - s) / 1000 / stepSeconds) + 1;
  if (points > MAX_POINTS) {
    throw badUserInput(`start to end at step ${step} is ${points} samples; at most ${MAX_POINTS} (use a larger step)`, {
      argument: 'step',
    });
  }
  return { start: s / 1000, end: e / 1000, step: stepSeconds };
}

/** The timestamps (unix seconds) of a range: start, start + step, ... up to end, as Prometheus evaluates them. */
export function rangeSteps(r: TimeRange): number[] {
  const out: number[] = [];
  const n = Math.floor((r.end - r.start) / r.step + 1e-9);
  for (let i = 0; i <= n; i++) out.push(Math.round((r.start + i * r.step) * 1000) / 1000);
  return out;
}

/** A Prometheus sample value ("1.5", "NaN", "+Inf") as a finite number, or null. */
export function sampleValue(raw: string): number | null {
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}
