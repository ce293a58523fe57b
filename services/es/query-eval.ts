// Evaluates a parsed query against one index snapshot: a bit per document (sequence number) that matches, and, in
// query context, a score per document: BM25 for term, match and match_phrase (scoring.ts), the boost for the
// constant-score queries (terms, wildcard, prefix, regexp, range, exists, ids), summed as `bool` sums.
import { analyze } from './analysis.js';
import { parseDate, resolveDateMath } from './dates.js';
import { EsError } from './errors.js';
import { cellValues, type FieldColumn, type Snapshot } from './index.js';
import type { LeafField, LeafValue } from './mapping.js';
import type { Query } from './query-parse.js';
import { globMatch } from './cluster.js';
import { docFreq, fieldStats, idf, phraseIn, scorer, termScorer } from './scoring.js';
import { wildcardMatcher } from './wildcard.js';

export interface Matches {
  bits: Uint8Array;
  /** Present in query (scoring) context. */
  scores?: Float32Array;
}

export interface EvalContext {
  snapshot: Snapshot;
  now: number;
}

/** Lucene's regular-expression syntax, close enough: anchored, `.` any character, no `^`/`$` anchors. */
function luceneRegex(value: string, caseInsensitive: boolean): RegExp {
  try {
    return new RegExp(`^(?:${value})$`, caseInsensitive ? 'iu' : 'u');
  } catch {
    throw new EsError(400, 'illegal_argument_exception', `invalid regular expression [${value}]`);
  }
}

function fill(n: number, scoring: boolean, score = 1): Matches {
  const bits = new Uint8Array(n).fill(1);
  return { bits, scores: scoring ? new Float32Array(n).fill(score) : undefined };
}

function none(n: number, scoring: boolean): Matches {
  return { bits: new Uint8Array(n), scores: scoring ? new Float32Array(n) : undefined };
}

function fromPostings(
  lists: Iterable<number[]>,
  n: number,
  scoring: boolean,
  boost: number,
  score?: (seq: number) => number,
): Matches {
  const m = none(n, scoring);
  for (const list of lists) {
    for (const seq of list) {
      if (seq >= n) break;
      m.bits[seq] = 1;
      if (m.scores) m.scores[seq] = score ? score(seq) : boost;
    }
  }
  return m;
}

/** One term's documents, BM25-scored in query context. */
function termPostings(column: FieldColumn, key: LeafValue, ctx: EvalContext, scoring: boolean, boost: number): Matches {
  const list = column.postings?.get(key);
  const score = scoring && list ? termScorer(column, key, ctx.snapshot, boost) : undefined;
  return fromPostings(list ? [list] : [], ctx.snapshot.maxSeq, scoring, boost, score);
}

function fromPredicate(
  column: FieldColumn | undefined,
  n: number,
  scoring: boolean,
  boost: number,
  test: (v: LeafValue) => boolean,
): Matches {
  const m = none(n, scoring);
  if (!column) return m;
  const limit = Math.min(n, column.values.length);
  for (let seq = 0; seq < limit; seq++) {
    const cell = column.values[seq];
    if (cell !== undefined && (Array.isArray(cell) ? cell.some(test) : test(cell))) {
      m.bits[seq] = 1;
      if (m.scores) m.scores[seq] = boost;
    }
  }
  return m;
}

/** Postings lists of the keys that pass a test (wildcard, prefix, regexp, range on terms). */
function keysWhere(column: FieldColumn, test: (key: string) => boolean): number[][] {
  const out: number[][] = [];
  for (const [key, list] of column.postings ?? []) if (test(String(key))) out.push(list);
  return out;
}

/** A query value as the field's indexed form (`NaN` when it cannot be one). */
function coerce(leaf: LeafField, value: unknown, ctx: EvalContext): LeafValue {
  switch (leaf.kind) {
    case 'number': {
      const n =
        typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (Number.isNaN(n)) throw new EsError(400, 'number_format_exception', `For input string: "${String(value)}"`);
      return n;
    }
    case 'date': {
      return resolveDateMath(value, { format: leaf.format, now: ctx.now });
    }
    case 'boolean':
      if (value === true || value === 'true') return 1;
      if (value === false || value === 'false') return 0;
      throw new EsError(
        400,
        'illegal_argument_exception',
        `Can't parse boolean value [${String(value)}], expected [true] or [false]`,
      );
    default:
      return String(value);
  }
}

function termMatches(
  leaf: LeafField,
  column: FieldColumn | undefined,
  value: unknown,
  ci: boolean,
  ctx: EvalContext,
  scoring: boolean,
  boost: number,
): Matches {
  const n = ctx.snapshot.maxSeq;
  if (!column) return none(n, scoring);
  const key = coerce(leaf, value, ctx);
  if (column.postings) {
    if (ci) {
      const want = String(key).toLowerCase();
      return fromPostings(
        keysWhere(column, (k) => k.toLowerCase() === want),
        n,
        scoring,
        boost,
      );
    }
    return termPostings(column, key, ctx, scoring, boost);
  }
  return fromPredicate(column, n, scoring, boost, (v) => v === key);
}

function minimumShouldMatch(spec: string | number | undefined, optional: number, dflt: number): number {
  if (spec === undefined || spec === null) return dflt;
  const s = String(spec).trim();
  let n: number;
  if (s.endsWith('%')) {
    const pct = Number(s.slice(0, -1));
    n = pct < 0 ? optional + Math.trunc((optional * pct) / 100) : Math.trunc((optional * pct) / 100);
  } else {
    const v = Number(s);
    n = v < 0 ? optional + v : v;
  }
  return Math.max(0, Math.min(n, optional));
}

function combine(parts: Matches[], n: number, scoring: boolean, need: number): Matches {
  const m = none(n, scoring);
  const counts = new Uint16Array(n);
  for (const p of parts) {
    for (let i = 0; i < n; i++) {
      if (p.bits[i]) {
        counts[i]++;
        if (m.scores && p.scores) m.scores[i] += p.scores[i];
      }
    }
  }
  for (let i = 0; i < n; i++) if (counts[i] >= need && counts[i] > 0) m.bits[i] = 1;
  if (m.scores) for (let i = 0; i < n; i++) if (!m.bits[i]) m.scores[i] = 0;
  return m;
}

function textValues(column: FieldColumn, seq: number): string[] {
  return (cellValues(column.values[seq]) ?? []).map(String);
}

/** Term-level queries on the `_index` and `_id` metadata fields. */
function metaFieldQuery(q: Query, ctx: EvalContext, scoring: boolean): Matches | undefined {
  if (!('field' in q) || (q.field !== '_index' && q.field !== '_id')) return undefined;
  const n = ctx.snapshot.maxSeq;
  const index = ctx.snapshot.index;
  let values: string[];
  let test: ((s: string) => boolean) | undefined;
  switch (q.kind) {
    case 'term':
      values = [String(q.value)];
      break;
    case 'terms':
      values = q.values.map(String);
      break;
    case 'match':
    case 'match_phrase':
      values = [String(q.query)];
      break;
    case 'wildcard': {
      test = wildcardMatcher(q.pattern, q.caseInsensitive);
      values = [];
      break;
    }
    case 'prefix':
      test = (s) => s.startsWith(q.value);
      values = [];
      break;
    case 'exists':
      return fill(n, scoring, q.boost);
    default:
      return none(n, scoring);
  }
  const hit = (s: string) => (test ? test(s) : values.includes(s));
  const boost = 'boost' in q ? q.boost : 1;
  if (q.field === '_index') {
    const names = [index.name, ...index.aliases.keys()];
    return names.some(hit) ? fill(n, scoring, boost) : none(n, scoring);
  }
  const m = none(n, scoring);
  for (let seq = 0; seq < n; seq++)
    if (hit(index.docs[seq].id)) {
      m.bits[seq] = 1;
      if (m.scores) m.scores[seq] = boost;
    }
  return m;
}

/** Evaluates a query on a snapshot (deleted documents are filtered by the caller). */
export function evaluate(q: Query, ctx: EvalContext, scoring: boolean): Matches {
  const n = ctx.snapshot.maxSeq;
  const index = ctx.snapshot.index;
  const leafOf = (field: string) => index.leaves.get(field);
  const columnOf = (field: string) => index.columns.get(field);
  const meta = metaFieldQuery(q, ctx, scoring);
  if (meta) return meta;
  switch (q.kind) {
    case 'match_all':
      return fill(n, scoring, q.boost);
    case 'match_none':
      return none(n, scoring);
    case 'constant_score': {
      const inner = evaluate(q.filter, ctx, false);
      return { bits: inner.bits, scores: scoring ? Float32Array.from(inner.bits, (b) => b * q.boost) : undefined };
    }
    case 'dis_max': {
      const parts = q.queries.map((p) => evaluate(p, ctx, scoring));
      const m = none(n, scoring);
      for (const p of parts)
        for (let i = 0; i < n; i++)
          if (p.bits[i]) {
            m.bits[i] = 1;
            if (m.scores && p.scores) m.scores[i] = Math.max(m.scores[i], p.scores[i] * q.boost);
          }
      return m;
    }
    case 'bool': {
      const must = q.must.map((p) => evaluate(p, ctx, scoring));
      const filter = q.filter.map((p) => evaluate(p, ctx, false));
      const should = q.should.map((p) => evaluate(p, ctx, scoring));
      const mustNot = q.mustNot.map((p) => evaluate(p, ctx, false));
      const required = must.length + filter.length;
      const need = minimumShouldMatch(q.msm, should.length, required === 0 && should.length > 0 ? 1 : 0);
      const m =
        required === 0 && should.length === 0
          ? fill(n, scoring, 0)
          : required === 0
            ? none(n, scoring)
            : fill(n, scoring, 0);
      // An empty or only-negative bool matches everything with the score of match_all.
      if (required === 0 && should.length === 0 && m.scores) m.scores.fill(1);
      for (const p of [...must, ...filter])
        for (let i = 0; i < n; i++) {
          if (!p.bits[i]) m.bits[i] = 0;
          else if (m.scores && p.scores) m.scores[i] += p.scores[i];
        }
      if (should.length) {
        const counts = new Uint16Array(n);
        for (const p of should)
          for (let i = 0; i < n; i++)
            if (p.bits[i]) {
              counts[i]++;
              if (m.scores && p.scores) m.scores[i] += p.scores[i];
            }
        for (let i = 0; i < n; i++) {
          if (required === 0) m.bits[i] = counts[i] >= Math.max(need, 1) ? 1 : 0;
          else if (counts[i] < need) m.bits[i] = 0;
        }
      }
      for (const p of mustNot) for (let i = 0; i < n; i++) if (p.bits[i]) m.bits[i] = 0;
      if (m.scores) for (let i = 0; i < n; i++) m.scores[i] = m.bits[i] ? m.scores[i] * q.boost : 0;
      return m;
    }
    case 'term': {
      const leaf = leafOf(q.field);
      if (!leaf) return none(n, scoring);
      if (leaf.kind === 'text' && !q.caseInsensitive) {
        const column = columnOf(q.field);
        return column ? termPostings(column, String(q.value), ctx, scoring, q.boost) : none(n, scoring);
      }
      return termMatches(leaf, columnOf(q.field), q.value, q.caseInsensitive, ctx, scoring, q.boost);
    }
    case 'terms': {
      const leaf = leafOf(q.field);
      if (!leaf) return none(n, scoring);
      const column = columnOf(q.field);
      if (!column) return none(n, scoring);
      if (column.postings) {
        const lists: number[][] = [];
        for (const v of q.values) {
          if (v === null || v === undefined) continue;
          const list = column.postings.get(leaf.kind === 'text' ? String(v) : coerce(leaf, v, ctx));
          if (list) lists.push(list);
        }
        return fromPostings(lists, n, scoring, q.boost);
      }
      const keys = new Set(q.values.filter((v) => v !== null && v !== undefined).map((v) => coerce(leaf, v, ctx)));
      return fromPredicate(column, n, scoring, q.boost, (v) => keys.has(v));
    }
    case 'match': {
      const leaf = leafOf(q.field);
      if (!leaf) return none(n, scoring);
      if (leaf.kind !== 'text') return termMatches(leaf, columnOf(q.field), q.query, false, ctx, scoring, q.boost);
      const tokens = [...new Set(analyze(String(q.query)))];
      if (tokens.length === 0) return q.zeroTermsAll ? fill(n, scoring) : none(n, scoring);
      const column = columnOf(q.field);
      const parts = tokens.map((t) => (column ? termPostings(column, t, ctx, scoring, q.boost) : none(n, scoring)));
      const need = q.operator === 'and' ? tokens.length : minimumShouldMatch(q.msm, tokens.length, 1);
      return combine(parts, n, scoring, Math.max(need, 1));
    }
    case 'match_phrase': {
      const leaf = leafOf(q.field);
      if (!leaf) return none(n, scoring);
      const column = columnOf(q.field);
      if (leaf.kind !== 'text') {
        if (q.prefix) {
          const value = String(q.query);
          return column
            ? fromPredicate(column, n, scoring, q.boost, (v) => String(v).startsWith(value))
            : none(n, scoring);
        }
        return termMatches(leaf, column, q.query, false, ctx, scoring, q.boost);
      }
      const phrase = analyze(q.query);
      if (phrase.length === 0 || !column?.postings) return none(n, scoring);
      // Candidates: documents holding every complete word of the phrase; positions are checked on the text itself.
      const whole = q.prefix ? phrase.slice(0, -1) : phrase;
      let candidates: Uint8Array;
      if (whole.length) {
        candidates = combine(
          whole.map((t) =>
            fromPostings(column.postings?.get(t) ? [column.postings.get(t) as number[]] : [], n, false, 1),
          ),
          n,
          false,
          whole.length,
        ).bits;
      } else {
        candidates = fromPredicate(column, n, false, 1, () => true).bits;
      }
      const m = none(n, scoring);
      // BM25 with the summed idf of the phrase's words and the phrase's frequency in the document.
      const { docCount } = fieldStats(column, ctx.snapshot);
      const sumIdf = whole.reduce((sum, t) => sum + idf(docFreq(column.postings?.get(t), ctx.snapshot), docCount), 0);
      const score = scoring ? scorer(column, ctx.snapshot, q.boost, sumIdf) : undefined;
      for (let seq = 0; seq < n; seq++) {
        if (!candidates[seq]) continue;
        const freq = textValues(column, seq).reduce(
          (f, text) => f + phraseIn(analyze(text), phrase, q.slop, q.prefix),
          0,
        );
        if (freq > 0) {
          m.bits[seq] = 1;
          if (m.scores && score) m.scores[seq] = score(seq, freq);
        }
      }
      return m;
    }
    case 'wildcard':
    case 'prefix':
    case 'regexp': {
      const leaf = leafOf(q.field);
      const column = columnOf(q.field);
      if (!leaf || !column) return none(n, scoring);
      const ci = q.caseInsensitive;
      let test: (s: string) => boolean;
      if (q.kind === 'wildcard') {
        // Text fields are normalized by their analyzer (lowercased) before matching their words.
        test = wildcardMatcher(leaf.kind === 'text' ? q.pattern.toLowerCase() : q.pattern, ci);
      } else if (q.kind === 'prefix') {
        const p = ci ? q.value.toLowerCase() : q.value;
        test = ci ? (s) => s.toLowerCase().startsWith(p) : (s) => s.startsWith(p);
      } else {
        const re = luceneRegex(q.value, ci);
        test = (s) => re.test(s);
      }
      if (column.postings) return fromPostings(keysWhere(column, test), n, scoring, q.boost);
      return fromPredicate(column, n, scoring, q.boost, (v) => test(String(v)));
    }
    case 'range': {
      const leaf = leafOf(q.field);
      const column = columnOf(q.field);
      if (!leaf || !column) return none(n, scoring);
      if (leaf.kind === 'number' || leaf.kind === 'date' || leaf.kind === 'boolean') {
        const bound = (v: unknown, roundUp: boolean): number => {
          if (leaf.kind === 'date') {
            return resolveDateMath(v, { format: q.format ?? leaf.format, roundUp, now: ctx.now });
          }
          return coerce(leaf, v, ctx) as number;
        };
        const gt = q.gt !== undefined ? bound(q.gt, true) : undefined;
        const gte = q.gte !== undefined ? bound(q.gte, false) : undefined;
        const lt = q.lt !== undefined ? bound(q.lt, false) : undefined;
        const lte = q.lte !== undefined ? bound(q.lte, true) : undefined;
        return fromPredicate(column, n, scoring, q.boost, (raw) => {
          const v = raw as number;
          return (
            (gt === undefined || v > gt) &&
            (gte === undefined || v >= gte) &&
            (lt === undefined || v < lt) &&
            (lte === undefined || v <= lte)
          );
        });
      }
      const s = (v: unknown) => (v === undefined ? undefined : String(v));
      const [gt, gte, lt, lte] = [s(q.gt), s(q.gte), s(q.lt), s(q.lte)];
      const test = (v: string) =>
        (gt === undefined || v > gt) &&
        (gte === undefined || v >= gte) &&
        (lt === undefined || v < lt) &&
        (lte === undefined || v <= lte);
      if (column.postings) return fromPostings(keysWhere(column, test), n, scoring, q.boost);
      return fromPredicate(column, n, scoring, q.boost, (v) => test(String(v)));
    }
    case 'exists': {
      const pattern = q.field;
      const paths = [...index.columns.keys()].filter((p) =>
        pattern.includes('*') ? globMatch(pattern, p) : p === pattern || p.startsWith(`${pattern}.`),
      );
      const m = none(n, scoring);
      for (const p of paths) {
        const column = columnOf(p);
        if (!column) continue;
        const limit = Math.min(n, column.values.length);
        for (let seq = 0; seq < limit; seq++) {
          if (column.values[seq] !== undefined) {
            m.bits[seq] = 1;
            if (m.scores) m.scores[seq] = q.boost;
          }
        }
      }
      return m;
    }
    case 'ids': {
      const m = none(n, scoring);
      for (const id of q.values) {
        const seq = index.ids.get(id);
        // A replaced document's older version (still visible in an older snapshot) carries the same _id.
        if (seq !== undefined && seq < n) m.bits[seq] = 1;
      }
      for (let seq = 0; seq < n; seq++)
        if (!m.bits[seq] && index.deletedAt[seq] !== undefined && q.values.includes(index.docs[seq].id))
          m.bits[seq] = 1;
      if (m.scores) for (let i = 0; i < n; i++) m.scores[i] = m.bits[i] * q.boost;
      return m;
    }
  }
}

/** Parses a date the way a range bound on a date field would (for tests and aggregations). */
export const parseDateValue = (v: unknown, format?: string): number => parseDate(v, format);
