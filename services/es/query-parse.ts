// The query DSL read into a tree, with Elasticsearch's parsing errors (unknown query, malformed clauses) raised
// before any index is touched, as the real server answers even when no document could match.
import { EsError, parsingError } from './errors.js';
import { parseSimpleQueryString } from './query-sqs.js';

export type Query =
  | { kind: 'match_all'; boost: number }
  | { kind: 'match_none' }
  | {
      kind: 'bool';
      must: Query[];
      filter: Query[];
      should: Query[];
      mustNot: Query[];
      msm?: string | number;
      boost: number;
    }
  | { kind: 'constant_score'; filter: Query; boost: number }
  | { kind: 'term'; field: string; value: unknown; caseInsensitive: boolean; boost: number }
  | { kind: 'terms'; field: string; values: unknown[]; boost: number }
  | {
      kind: 'match';
      field: string;
      query: unknown;
      operator: 'or' | 'and';
      msm?: string | number;
      boost: number;
      zeroTermsAll: boolean;
    }
  | { kind: 'match_phrase'; field: string; query: string; slop: number; prefix: boolean; boost: number }
  | { kind: 'wildcard'; field: string; pattern: string; caseInsensitive: boolean; boost: number }
  | { kind: 'prefix'; field: string; value: string; caseInsensitive: boolean; boost: number }
  | { kind: 'regexp'; field: string; value: string; caseInsensitive: boolean; boost: number }
  | {
      kind: 'range';
      field: string;
      gt?: unknown;
      gte?: unknown;
      lt?: unknown;
      lte?: unknown;
      format?: string;
      boost: number;
    }
  | { kind: 'exists'; field: string; boost: number }
  | { kind: 'ids'; values: string[]; boost: number }
  | { kind: 'dis_max'; queries: Query[]; boost: number };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const num = (v: unknown, dflt: number) =>
  typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : dflt;

function single(name: string, body: unknown): [string, unknown] {
  if (!isObj(body)) throw parsingError(`[${name}] query malformed, no start_object after query name`);
  const keys = Object.keys(body);
  if (keys.length === 0) throw parsingError(`[${name}] query malformed, no field name`);
  if (keys.length > 1)
    throw parsingError(`[${name}] query doesn't support multiple fields, found [${keys[0]}] and [${keys[1]}]`);
  return [keys[0], body[keys[0]]];
}

function clauses(name: string, v: unknown): Query[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((q) => parseQuery(q));
}

function checkKeys(query: string, body: Obj, allowed: string[]): void {
  for (const k of Object.keys(body))
    if (!allowed.includes(k)) throw parsingError(`[${query}] query does not support [${k}]`);
}

/** Parses one query object (`{"bool": {...}}`). */
export function parseQuery(q: unknown): Query {
  if (!isObj(q)) throw parsingError('query malformed, must start with start_object');
  const keys = Object.keys(q);
  if (keys.length === 0) return { kind: 'match_all', boost: 1 };
  if (keys.length > 1) throw parsingError(`[${keys[0]}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]`);
  const name = keys[0];
  const body = q[name];
  switch (name) {
    case 'match_all':
      return { kind: 'match_all', boost: num(isObj(body) ? body.boost : 1, 1) };
    case 'match_none':
      return { kind: 'match_none' };
    case 'bool': {
      if (!isObj(body)) throw parsingError('[bool] query malformed, no start_object after query name');
      checkKeys('bool', body, [
        'must',
        'filter',
        'should',
        'must_not',
        'minimum_should_match',
        'boost',
        '_name',
        'adjust_pure_negative',
      ]);
      return {
        kind: 'bool',
        must: clauses('must', body.must),
        filter: clauses('filter', body.filter),
        should: clauses('should', body.should),
        mustNot: clauses('must_not', body.must_not),
        msm: body.minimum_should_match as string | number | undefined,
        boost: num(body.boost, 1),
      };
    }
    case 'constant_score': {
      if (!isObj(body) || body.filter === undefined) throw parsingError("[constant_score] requires a 'filter' element");
      return { kind: 'constant_score', filter: parseQuery(body.filter), boost: num(body.boost, 1) };
    }
    case 'dis_max': {
      if (!isObj(body)) throw parsingError('[dis_max] query malformed');
      return { kind: 'dis_max', queries: clauses('queries', body.queries), boost: num(body.boost, 1) };
    }
    case 'term': {
      const [field, v] = single('term', body);
      if (isObj(v)) {
        checkKeys('term', v, ['value', 'boost', 'case_insensitive', '_name']);
        if (v.value === undefined || v.value === null) throw parsingError('[term] query malformed, no value specified');
        return {
          kind: 'term',
          field,
          value: v.value,
          caseInsensitive: v.case_insensitive === true,
          boost: num(v.boost, 1),
        };
      }
      if (v === null || Array.isArray(v)) throw parsingError(`[term] query does not support array of values`);
      return { kind: 'term', field, value: v, caseInsensitive: false, boost: 1 };
    }
    case 'terms': {
      if (!isObj(body)) throw parsingError('[terms] query malformed, no start_object after query name');
      let field: string | undefined;
      let values: unknown[] = [];
      for (const [k, v] of Object.entries(body)) {
        if (k === 'boost' || k === '_name') continue;
        if (field !== undefined) throw parsingError(`[terms] query does not support multiple fields`);
        field = k;
        if (!Array.isArray(v)) throw parsingError(`[terms] query does not support [${k}]`);
        values = v;
      }
      if (field === undefined) throw parsingError('[terms] query requires a field');
      if (values.length > 65536)
        throw new EsError(
          400,
          'illegal_argument_exception',
          `The number of terms [${values.length}] used in the Terms Query request has exceeded the allowed maximum of [65536]. This maximum can be set by changing the [index.max_terms_count] index level setting.`,
        );
      return { kind: 'terms', field, values, boost: num(body.boost, 1) };
    }
    case 'match': {
      const [field, v] = single('match', body);
      if (isObj(v)) {
        checkKeys('match', v, [
          'query',
          'operator',
          'minimum_should_match',
          'boost',
          'analyzer',
          'fuzziness',
          'lenient',
          'zero_terms_query',
          'auto_generate_synonyms_phrase_query',
          'prefix_length',
          'max_expansions',
          'fuzzy_transpositions',
          '_name',
        ]);
        if (v.query === undefined) throw parsingError('No text specified for text query');
        const op = String(v.operator ?? 'or').toLowerCase();
        if (op !== 'or' && op !== 'and')
          throw parsingError(`[match] query does not support [operator] value [${String(v.operator)}]`);
        return {
          kind: 'match',
          field,
          query: v.query,
          operator: op,
          msm: v.minimum_should_match as string | number | undefined,
          boost: num(v.boost, 1),
          zeroTermsAll: v.zero_terms_query === 'all',
        };
      }
      return { kind: 'match', field, query: v, operator: 'or', boost: 1, zeroTermsAll: false };
    }
    case 'match_phrase':
    case 'match_phrase_prefix': {
      const [field, v] = single(name, body);
      const o = isObj(v) ? v : { query: v };
      if (o.query === undefined) throw parsingError('No text specified for text query');
      return {
        kind: 'match_phrase',
        field,
        query: String(o.query),
        slop: num(o.slop, 0),
        prefix: name === 'match_phrase_prefix',
        boost: num(o.boost, 1),
      };
    }
    case 'wildcard': {
      const [field, v] = single('wildcard', body);
      const o = isObj(v) ? v : { value: v };
      const pattern = o.value ?? o.wildcard;
      if (pattern === undefined || pattern === null)
        throw parsingError('[wildcard] query malformed, no value specified');
      return {
        kind: 'wildcard',
        field,
        pattern: String(pattern),
        caseInsensitive: o.case_insensitive === true,
        boost: num(o.boost, 1),
      };
    }
    case 'prefix': {
      const [field, v] = single('prefix', body);
      const o = isObj(v) ? v : { value: v };
      if (o.value === undefined) throw parsingError('[prefix] query malformed, no value specified');
      return {
        kind: 'prefix',
        field,
        value: String(o.value),
        caseInsensitive: o.case_insensitive === true,
        boost: num(o.boost, 1),
      };
    }
    case 'regexp': {
      const [field, v] = single('regexp', body);
      const o = isObj(v) ? v : { value: v };
      if (o.value === undefined) throw parsingError('[regexp] query malformed, no value specified');
      if (String(o.value).length > 1000)
        throw new EsError(
          400,
          'illegal_argument_exception',
          `The length of regex [${String(o.value).length}] used in the Regexp Query request has exceeded the allowed maximum of [1000]. This maximum can be set by changing the [index.max_regex_length] index level setting.`,
        );
      return {
        kind: 'regexp',
        field,
        value: String(o.value),
        caseInsensitive: o.case_insensitive === true,
        boost: num(o.boost, 1),
      };
    }
    case 'range': {
      const [field, v] = single('range', body);
      if (!isObj(v)) throw parsingError(`[range] query does not support [${field}]`);
      checkKeys('range', v, [
        'gt',
        'gte',
        'lt',
        'lte',
        'from',
        'to',
        'include_lower',
        'include_upper',
        'format',
        'time_zone',
        'boost',
        'relation',
        '_name',
      ]);
      if (v.time_zone !== undefined && !/^(UTC|Z|GMT|Etc\/UTC|[+-]00:?00)$/i.test(String(v.time_zone)))
        throw new EsError(
          400,
          'illegal_argument_exception',
          `time_zone [${String(v.time_zone)}] is not supported by this stand-in: it works in UTC only`,
        );
      const r: Extract<Query, { kind: 'range' }> = {
        kind: 'range',
        field,
        format: v.format as string | undefined,
        boost: num(v.boost, 1),
      };
      if (v.from !== undefined && v.from !== null) {
        if (v.include_lower === false) r.gt = v.from;
        else r.gte = v.from;
      }
      if (v.to !== undefined && v.to !== null) {
        if (v.include_upper === false) r.lt = v.to;
        else r.lte = v.to;
      }
      for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (v[k] !== undefined && v[k] !== null) r[k] = v[k];
      return r;
    }
    case 'exists': {
      if (!isObj(body) || typeof body.field !== 'string')
        throw parsingError('[exists] must be provided with a [field]');
      return { kind: 'exists', field: body.field, boost: num(body.boost, 1) };
    }
    case 'ids': {
      if (!isObj(body) || !Array.isArray(body.values)) throw parsingError('[ids] query malformed, no values');
      return { kind: 'ids', values: body.values.map(String), boost: num(body.boost, 1) };
    }
    case 'multi_match': {
      if (!isObj(body) || body.query === undefined) throw parsingError('No text specified for multi_match query');
      const fields = Array.isArray(body.fields)
        ? body.fields.map(String)
        : typeof body.fields === 'string'
          ? [body.fields]
          : ['*'];
      const type = String(body.type ?? 'best_fields');
      const per = fields.map((f): Query => {
        const field = f.replace(/\^[\d.]+$/, '');
        if (type === 'phrase' || type === 'phrase_prefix')
          return {
            kind: 'match_phrase',
            field,
            query: String(body.query),
            slop: num(body.slop, 0),
            prefix: type === 'phrase_prefix',
            boost: 1,
          };
        const op = String(body.operator ?? 'or').toLowerCase() === 'and' ? 'and' : 'or';
        return {
          kind: 'match',
          field,
          query: body.query,
          operator: op,
          msm: body.minimum_should_match as string | number | undefined,
          boost: 1,
          zeroTermsAll: false,
        };
      });
      return { kind: 'dis_max', queries: per, boost: num(body.boost, 1) };
    }
    case 'simple_query_string':
      return parseSimpleQueryString(body);
    default:
      throw parsingError(`unknown query [${name}]`);
  }
}
