// Kubernetes field selectors (`a=b,c!=d`, with `\,`, `\=` and `\\` escapes in values): the parser the sandbox's API
// server and the workloads subscriptions share, and a matcher over the fields a kind supports.

export class FieldSelectorSyntaxError extends Error {}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** Splits on unescaped separators. */
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
    if (!m) throw new FieldSelectorSyntaxError(`invalid selector: '${selector}'; can't understand '${part}'`);
    return { field: m[1].trim(), op: m[2] === '!=' ? '!=' : '=', value: unescape(m[3]) };
  });
}

interface Named {
  metadata: { name?: string; namespace?: string };
}

/**
 * A matcher for parsed requirements over the fields a kind supports (metadata.name and metadata.namespace always);
 * an unsupported field is a FieldSelectorSyntaxError with the API server's wording.
 */
export function fieldMatcher<T extends Named>(
  reqs: FieldRequirement[],
  fields: Record<string, (o: T) => string | undefined>,
): (o: T) => boolean {
  const getters = reqs.map((r) => {
    const get =
      r.field === 'metadata.name'
        ? (o: T) => o.metadata.name
        : r.field === 'metadata.namespace'
          ? (o: T) => o.metadata.namespace ?? ''
          : fields[r.field];
    if (!get) throw new FieldSelectorSyntaxError(`field label not supported: ${r.field}`);
    return { get, r };
  });
  return (o) => getters.every(({ get, r }) => ((get(o) ?? '') === r.value) === (r.op === '='));
}
