// Kubernetes label selectors: the full syntax of the API server (=, ==, !=, in, notin, exists, !key, gt, lt) and its
// error texts, and the names that go with them. Shared by the sandbox (which answers a bad selector with 400) and the
// workloads subgraph (BAD_USER_INPUT); each wraps LabelSelectorSyntaxError its own way.

import { isDns1123Label, isDns1123Subdomain, isLabelValue, isQualifiedName } from './k8s/names.js';

/** A selector that does not parse; the message is the API server's ("unable to parse requirement: ..."). */
export class LabelSelectorSyntaxError extends Error {}

export type LabelOp = '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';
export interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

/** A qualified name: `[prefix/]name`, the prefix a DNS-1123 subdomain (services/common/k8s/names.ts). */
export const isValidLabelKey = (key: string): boolean => isQualifiedName(key);

export const isValidLabelValue = (value: string): boolean => isLabelValue(value);

// Object names have their own module; re-exported for the callers that took them from here.
export { isDns1123Label, isDns1123Subdomain };

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`; bad syntax is a 400 BadRequest. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  const reqs: LabelRequirement[] = [];
  let i = 0;
  const s = selector;
  const fail = (why: string): never => {
    throw new LabelSelectorSyntaxError(`unable to parse requirement: ${why}`);
  };
  const skipWs = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const readToken = () => {
    skipWs();
    const start = i;
    while (i < s.length && !/[\s,=!()<>]/.test(s[i])) i++;
    return s.slice(start, i);
  };
  skipWs();
  if (i >= s.length) return reqs;
  for (;;) {
    skipWs();
    let negated = false;
    if (s[i] === '!') {
      negated = true;
      i++;
    }
    const key = readToken();
    if (!key) fail(`found '${s[i] ?? ''}', expected: identifier`);
    if (!isValidLabelKey(key))
      fail(`invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.'`);
    skipWs();
    if (negated) {
      reqs.push({ key, op: '!', values: [] });
    } else if (i >= s.length || s[i] === ',') {
      reqs.push({ key, op: 'exists', values: [] });
    } else if (s.startsWith('==', i) || s[i] === '=' || s.startsWith('!=', i)) {
      const op = s.startsWith('!=', i) ? '!=' : '=';
      i += s.startsWith('==', i) || op === '!=' ? 2 : 1;
      const value = readToken();
      if (!isValidLabelValue(value)) fail(`invalid label value: "${value}"`);
      reqs.push({ key, op, values: [value] });
    } else if (s[i] === '>' || s[i] === '<') {
      const op = s[i] === '>' ? 'gt' : 'lt';
      i++;
      const value = readToken();
      if (!/^-?\d+$/.test(value)) fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
      reqs.push({ key, op, values: [value] });
    } else {
      const word = readToken();
      if (word !== 'in' && word !== 'notin') fail(`found '${word}', expected: '=', '!=', '==', 'in', notin'`);
      skipWs();
      if (s[i] !== '(') fail(`found '${s[i] ?? ''}', expected: '('`);
      i++;
      const values: string[] = [];
      for (;;) {
        const v = readToken();
        if (!isValidLabelValue(v)) fail(`invalid label value: "${v}"`);
        values.push(v);
        skipWs();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === ')') {
          i++;
          break;
        }
        fail(`found '${s[i] ?? ''}', expected: ',', ')' or identifier`);
      }
      if (word === 'in' && values.length === 1 && values[0] === '')
        fail(`for 'in', 'notin' operators, values set can't be empty`);
      reqs.push({ key, op: word as LabelOp, values });
    }
    skipWs();
    if (i >= s.length) break;
    if (s[i] !== ',') fail(`found '${s[i]}', expected: ',' or 'end of string'`);
    i++;
  }
  return reqs;
}

export function labelsMatch(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  for (const r of reqs) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = has ? labels![r.key] : undefined;
    switch (r.op) {
      case '=':
        if (v !== r.values[0]) return false;
        break;
      case '!=':
        if (v === r.values[0]) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(v!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(v!)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case 'gt':
        if (!has || !(Number(v) > Number(r.values[0]))) return false;
        break;
      case 'lt':
        if (!has || !(Number(v) < Number(r.values[0]))) return false;
        break;
    }
  }
  return true;
}

/** A label selector as an object's spec.selector (matchLabels + matchExpressions) turned into requirements. */
export function requirementsOfLabelSelector(
  sel:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key: string; operator: string; values?: string[] }[];
      }
    | undefined,
): LabelRequirement[] {
  const reqs: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(sel?.matchLabels ?? {})) reqs.push({ key, op: '=', values: [value] });
  for (const e of sel?.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as const)[e.operator as 'In'];
    if (op) reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return reqs;
}

/** Formats spec.selector the way `status.selector` and the scale subresource show it. */
export function formatLabelSelector(sel: Parameters<typeof requirementsOfLabelSelector>[0]): string {
  return requirementsOfLabelSelector(sel)
    .map((r) => {
      switch (r.op) {
        case '=':
          return `${r.key}=${r.values[0]}`;
        case '!=':
          return `${r.key}!=${r.values[0]}`;
        case 'in':
          return `${r.key} in (${r.values.join(',')})`;
        case 'notin':
          return `${r.key} notin (${r.values.join(',')})`;
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        default:
          return '';
      }
    })
    .join(',');
}
