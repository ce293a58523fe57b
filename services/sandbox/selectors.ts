// Label and field selectors with the syntax and errors of the real API server.
import {
  LabelSelectorSyntaxError,
  parseLabelSelector as parseLabels,
  type LabelRequirement,
} from '../common/label-selector.js';
import { badRequest } from './errors.js';
import type { KObject } from './types.js';

export {
  formatLabelSelector,
  isValidLabelKey,
  isValidLabelValue,
  labelsMatch,
  requirementsOfLabelSelector,
  type LabelOp,
  type LabelRequirement,
} from '../common/label-selector.js';
export type Matcher = (o: KObject) => boolean;

/** Parses a label selector; bad syntax is a 400 BadRequest as on the real server. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  try {
    return parseLabels(selector);
  } catch (e) {
    if (e instanceof LabelSelectorSyntaxError) throw badRequest(e.message);
    throw e;
  }
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** Splits on unescaped separators: field selectors allow `\,`, `\=` and `\\` in values. */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) {
      cur += s[i] + s[i + 1];
      i++;
    } else if (s[i] === sep) {
      out.push(cur);
      cur = '';
    } else cur += s[i];
  }
  out.push(cur);
  return out;
}
const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

export function parseFieldSelector(selector: string): FieldRequirement[] {
  if (!selector.trim()) return [];
  return splitUnescaped(selector, ',').map((part) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/s.exec(part.trim());
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    return { field: m[1].trim(), op: m[2] === '!=' ? '!=' : '=', value: unescape(m[3]) };
  });
}

/** Builds a matcher for a field selector over the fields a kind supports; unknown fields are 400 as in the real server. */
export function fieldMatcher(
  reqs: FieldRequirement[],
  fields: Record<string, (o: KObject) => string | undefined>,
): Matcher {
  const getters = reqs.map((r) => {
    const get =
      r.field === 'metadata.name'
        ? (o: KObject) => o.metadata.name
        : r.field === 'metadata.namespace'
          ? (o: KObject) => o.metadata.namespace ?? ''
          : fields[r.field];
    if (!get) throw badRequest(`field label not supported: ${r.field}`);
    return { get, r };
  });
  return (o) => getters.every(({ get, r }) => ((get(o) ?? '') === r.value) === (r.op === '='));
}
