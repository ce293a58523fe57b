// `simple_query_string` as Lucene's SimpleQueryParser reads it: words joined by the default operator, `+` AND, `|` OR,
// `-` NOT (a negated part matches every document without it, as documented: `foo -bar` with OR finds documents with
// foo or without bar), `"..."` phrases with `~N` slop, `word*` prefixes, `( )` groups; left to right, an operator
// change wrapping what came before. Each word is a `match` on every listed field (their scores summed, as the
// disjunction with tie_breaker 1 Elasticsearch builds); fields must be named (no `*` patterns or default field here).
import { EsError, parsingError } from './errors.js';
import type { Query } from './query-parse.js';

type Obj = Record<string, unknown>;

interface Field {
  name: string;
  boost: number;
}

function leaf(text: string, kind: 'word' | 'phrase' | 'prefix', slop: number, fields: Field[], and: boolean): Query {
  const per = fields.map((f): Query => {
    if (kind === 'phrase')
      return { kind: 'match_phrase', field: f.name, query: text, slop, prefix: false, boost: f.boost };
    if (kind === 'prefix')
      return { kind: 'prefix', field: f.name, value: text.toLowerCase(), caseInsensitive: false, boost: f.boost };
    return {
      kind: 'match',
      field: f.name,
      query: text,
      operator: and ? 'and' : 'or',
      boost: f.boost,
      zeroTermsAll: false,
    };
  });
  return per.length === 1 ? per[0] : { kind: 'bool', must: [], filter: [], should: per, mustNot: [], boost: 1 };
}

const negate = (q: Query): Query => ({
  kind: 'bool',
  must: [{ kind: 'match_all', boost: 1 }],
  filter: [],
  should: [],
  mustNot: [q],
  boost: 1,
});

/** Joins `top` and `next` with an operator, as SimpleQueryParser builds its tree. */
function join(top: Query | undefined, next: Query, and: boolean): Query {
  if (!top) return next;
  const clause = and ? 'must' : 'should';
  if (top.kind === 'bool' && (top as { sqs?: string }).sqs === clause) {
    (top[clause] as Query[]).push(next);
    return top;
  }
  const q = { kind: 'bool', must: [], filter: [], should: [], mustNot: [], boost: 1, sqs: clause } as Query & {
    sqs: string;
  };
  (q as Extract<Query, { kind: 'bool' }>)[clause].push(top, next);
  return q;
}

export function parseSimpleQueryString(body: unknown): Query {
  if (typeof body !== 'object' || body === null || typeof (body as Obj).query !== 'string')
    throw parsingError('[simple_query_string] requires a [query] string');
  const b = body as Obj;
  const rawFields = Array.isArray(b.fields) ? b.fields.map(String) : [];
  if (rawFields.length === 0 || rawFields.some((f) => f.includes('*')))
    throw new EsError(
      400,
      'illegal_argument_exception',
      '[simple_query_string] the stand-in needs explicit [fields] (no patterns, no default field)',
    );
  const fields = rawFields.map((f) => {
    const m = /^(.*?)(?:\^([\d.]+))?$/.exec(f)!;
    return { name: m[1], boost: m[2] ? Number(m[2]) : 1 };
  });
  const defaultAnd = String(b.default_operator ?? 'or').toLowerCase() === 'and';
  const text = String(b.query);
  let i = 0;
  const group = (closing: boolean): Query | undefined => {
    let top: Query | undefined;
    let op: boolean | undefined;
    let not = false;
    const add = (q: Query) => {
      top = join(top, not ? negate(q) : q, op ?? defaultAnd);
      op = undefined;
      not = false;
    };
    while (i < text.length) {
      const c = text[i];
      if (/\s/.test(c)) i++;
      else if (c === '+' || c === '|') {
        if (top) op = c === '+';
        i++;
      } else if (c === '-' && !not) {
        not = true;
        i++;
      } else if (c === '(') {
        i++;
        const inner = group(true);
        if (inner) add(inner);
      } else if (c === ')') {
        i++;
        if (closing) return top;
      } else if (c === '"') {
        const end = text.indexOf('"', i + 1);
        const phrase = text.slice(i + 1, end < 0 ? text.length : end);
        i = end < 0 ? text.length : end + 1;
        const slop = /^~(\d+)/.exec(text.slice(i));
        if (slop) i += slop[0].length;
        add(leaf(phrase, 'phrase', slop ? Number(slop[1]) : 0, fields, defaultAnd));
      } else {
        let j = i;
        while (j < text.length && !/[\s+|()"]/.test(text[j])) j++;
        let word = text.slice(i, j).replace(/~\d*$/, '');
        i = j;
        const prefix = word.endsWith('*');
        if (prefix) word = word.replace(/\*+$/, '');
        if (word) add(leaf(word, prefix ? 'prefix' : 'word', 0, fields, defaultAnd));
      }
    }
    return top;
  };
  const q = group(false);
  return q ?? { kind: 'match_none' };
}
