// The query DSL of the Elasticsearch stand-in, case by case as the Elasticsearch reference describes each query
// (bool, term, terms, match, match_phrase, wildcard, prefix, range with date math, exists, ids, constant_score),
// plus sorting, `_source` filtering and the errors of malformed queries, through the official client.
import type { Client } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { type EsBody as Body, esFailure as failure, useTestEs } from './harness/es.js';

let client: Client;
const INDEX = 'q';

const DOCS: Record<string, Body> = {
  1: {
    msg: 'Quick Brown Foxes!',
    level: 'ERROR',
    n: 5,
    at: '2024-03-10T08:00:00Z',
    tags: ['a', 'b'],
    user: { name: 'alice' },
  },
  2: {
    msg: 'the quick fox jumps',
    level: 'WARN',
    n: 10,
    at: '2024-03-15T12:30:00Z',
    tags: ['b'],
    user: { name: 'bob' },
  },
  3: {
    msg: 'node_cpu_usage high on node-1',
    level: 'INFO',
    n: 15,
    at: '2024-03-31T23:59:59.999Z',
    tags: [],
    user: { name: null },
  },
  4: { msg: 'brown dog sleeps', level: 'error', n: 20, at: '2024-04-01T00:00:00Z', tags: null },
  5: { msg: '中文日志 出现错误', level: 'INFO', n: 25, at: '2024-04-02T00:00:00Z', user: { name: '' } },
  6: { msg: 'path a.b*c and "quoted" text', level: 'DEBUG', n: 30, at: '2024-02-28T00:00:00Z' },
};

useTestEs(async (started) => {
  client = started;
  await client.indices.create({
    index: INDEX,
    body: {
      mappings: {
        properties: {
          msg: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
          level: { type: 'keyword' },
          n: { type: 'integer' },
          at: { type: 'date' },
          tags: { type: 'keyword' },
          user: { properties: { name: { type: 'keyword' } } },
        },
      },
    },
  });
  await client.bulk({
    index: INDEX,
    refresh: true,
    body: Object.entries(DOCS).flatMap(([id, doc]) => [{ index: { _id: id } }, doc]),
  });
});

async function ids(query: Body, extra: Body = {}): Promise<string[]> {
  const r = await client.search({ index: INDEX, body: { size: 100, query, ...extra } });
  return (r.body.hits.hits as { _id: string }[]).map((h) => h._id).sort();
}

describe('term-level queries', () => {
  it('term matches keyword values exactly and text fields by their analyzed words', async () => {
    expect(await ids({ term: { level: 'ERROR' } })).toEqual(['1']);
    expect(await ids({ term: { level: { value: 'error', case_insensitive: true } } })).toEqual(['1', '4']);
    // The reference's warning: a term query on a text field looks for the analyzed word, not the original text.
    expect(await ids({ term: { msg: 'Quick Brown Foxes!' } })).toEqual([]);
    expect(await ids({ term: { msg: 'quick' } })).toEqual(['1', '2']);
    expect(await ids({ term: { 'msg.keyword': 'Quick Brown Foxes!' } })).toEqual(['1']);
    expect(await ids({ term: { n: 10 } })).toEqual(['2']);
    expect(await ids({ term: { n: '10' } })).toEqual(['2']);
    expect(await ids({ term: { tags: 'b' } })).toEqual(['1', '2']);
    expect(await ids({ term: { 'user.name': 'alice' } })).toEqual(['1']);
    expect(await ids({ term: { unmapped_field: 'x' } })).toEqual([]);
  });

  it('terms matches any of the values', async () => {
    expect(await ids({ terms: { level: ['WARN', 'INFO', 'nothing'] } })).toEqual(['2', '3', '5']);
    expect(await ids({ terms: { n: [5, 30] } })).toEqual(['1', '6']);
    expect(await ids({ terms: { level: [] } })).toEqual([]);
  });

  it('wildcard matches a keyword value as a whole, text fields word by word; * and ? are the only operators', async () => {
    expect(await ids({ wildcard: { 'msg.keyword': { value: '*node_cpu*' } } })).toEqual(['3']);
    expect(await ids({ wildcard: { 'msg.keyword': '*NODE_CPU*' } })).toEqual([]);
    expect(await ids({ wildcard: { 'msg.keyword': { value: '*NODE_CPU*', case_insensitive: true } } })).toEqual(['3']);
    expect(await ids({ wildcard: { level: 'E?ROR' } })).toEqual(['1']);
    // Characters that mean something to regular expressions or query strings are literal.
    expect(await ids({ wildcard: { 'msg.keyword': '*a.b\\*c*' } })).toEqual(['6']);
    expect(await ids({ wildcard: { 'msg.keyword': '*"quoted"*' } })).toEqual(['6']);
    expect(await ids({ wildcard: { 'msg.keyword': '*(a|b)*' } })).toEqual([]);
    expect(await ids({ wildcard: { 'msg.keyword': '*日志*' } })).toEqual(['5']);
    expect(await ids({ wildcard: { msg: 'fox*' } })).toEqual(['1', '2']);
  });

  it('wildcard takes patterns of any length, ? as one character, and never reads them as regular expressions', async () => {
    const long = 'x'.repeat(10_000);
    await client.index({ index: 'wild', id: 'long', refresh: true, body: { v: `head ${long}\\*?" tail` } });
    await client.index({ index: 'wild', id: 'short', refresh: true, body: { v: 'a.b' } });
    const hits = async (value: string, ci = false) =>
      (
        (
          await client.search({
            index: 'wild',
            body: { query: { wildcard: { 'v.keyword': { value, case_insensitive: ci } } } },
          })
        ).body.hits.hits as Body[]
      )
        .map((h) => h._id)
        .sort();
    await client.indices.putMapping({
      index: 'wild',
      body: { properties: { v: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 20_000 } } } } },
    });
    await client.index({ index: 'wild', id: 'long', refresh: true, body: { v: `head ${long}\\*?" tail` } });
    expect(await hits(`*${long}\\\\\\*\\?"*`)).toEqual(['long']);
    expect(await hits(`*${long.toUpperCase()}*`, true)).toEqual(['long']);
    expect(await hits('a?b')).toEqual(['short']);
    expect(await hits('a?')).toEqual([]);
    expect(await hits('?.?')).toEqual(['short']);
    // `.` and `+` are plain characters: `a.*b` is a, a dot, anything, b; `a.+b` wants a literal plus.
    expect(await hits('a.*b')).toEqual(['short']);
    expect(await hits('a.+b')).toEqual([]);
    expect(await hits('*')).toEqual(['long', 'short']);
  });

  it('prefix matches the start of a keyword value', async () => {
    expect(await ids({ prefix: { level: 'IN' } })).toEqual(['3', '5']);
    expect(await ids({ prefix: { level: { value: 'err', case_insensitive: true } } })).toEqual(['1', '4']);
  });

  it('exists skips null, empty arrays and missing fields but keeps empty strings', async () => {
    expect(await ids({ exists: { field: 'tags' } })).toEqual(['1', '2']);
    expect(await ids({ exists: { field: 'user.name' } })).toEqual(['1', '2', '5']);
    expect(await ids({ exists: { field: 'user' } })).toEqual(['1', '2', '5']);
    expect(await ids({ exists: { field: 'nothing' } })).toEqual([]);
  });

  it('ids, match_all, match_none and constant_score', async () => {
    expect(await ids({ ids: { values: ['2', '4', '99'] } })).toEqual(['2', '4']);
    expect(await ids({ match_all: {} })).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(await ids({ match_none: {} })).toEqual([]);
    const r = await client.search({
      index: INDEX,
      body: { query: { constant_score: { filter: { term: { level: 'WARN' } }, boost: 1.2 } } },
    });
    expect(r.body.hits.hits[0]._score).toBeCloseTo(1.2);
  });
});

describe('range', () => {
  it('bounds numbers with gt, gte, lt and lte', async () => {
    expect(await ids({ range: { n: { gte: 10, lt: 25 } } })).toEqual(['2', '3', '4']);
    expect(await ids({ range: { n: { gt: 10, lte: 25 } } })).toEqual(['3', '4', '5']);
  });

  it('bounds dates, with formats and date math rounding as the reference describes', async () => {
    expect(await ids({ range: { at: { gte: '2024-03-01', lt: '2024-04-01' } } })).toEqual(['1', '2', '3']);
    // gt with /M rounds up to the end of the month: March is excluded whole.
    expect(await ids({ range: { at: { gt: '2024-03-15||/M' } } })).toEqual(['4', '5']);
    // gte with /M rounds down to the first millisecond of the month.
    expect(await ids({ range: { at: { gte: '2024-03-15||/M', lte: '2024-03-15||/M' } } })).toEqual(['1', '2', '3']);
    // lt with /d rounds down; lte with /d rounds up.
    expect(await ids({ range: { at: { lt: '2024-03-31T12:00:00Z||/d', gte: '2024-03-11' } } })).toEqual(['2']);
    expect(await ids({ range: { at: { lte: '2024-03-31T12:00:00Z||/d', gte: '2024-03-11' } } })).toEqual(['2', '3']);
    expect(await ids({ range: { at: { gte: '10/03/2024', lte: '15/03/2024', format: 'dd/MM/yyyy' } } })).toEqual(['1']);
    expect(await ids({ range: { at: { gte: '2024-03-01||+1M-1d', lte: '2024-04-01||+1d' } } })).toEqual([
      '3',
      '4',
      '5',
    ]);
    expect(await ids({ range: { at: { gte: Date.parse('2024-04-01T00:00:00Z') } } })).toEqual(['4', '5']);
    expect(await ids({ range: { at: { gte: 'now-1000y', lte: 'now' } } })).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(await ids({ range: { at: { gte: 'now+1d/d' } } })).toEqual([]);
  });

  it('refuses a date it cannot parse', async () => {
    const { status, body } = await failure(
      client.search({ index: INDEX, body: { query: { range: { at: { gte: 'last tuesday' } } } } }),
    );
    expect(status).toBe(400);
    expect(body.error.type).toBe('search_phase_execution_exception');
    expect(body.error.root_cause[0].type).toBe('parse_exception');
    expect(body.error.root_cause[0].reason).toMatch(/failed to parse date field \[last tuesday\]/);
  });
});

describe('full-text queries', () => {
  it('match ORs the analyzed words by default, ANDs them with operator and, or needs minimum_should_match', async () => {
    expect(await ids({ match: { msg: 'QUICK dog' } })).toEqual(['1', '2', '4']);
    expect(await ids({ match: { msg: { query: 'quick brown', operator: 'and' } } })).toEqual(['1']);
    expect(await ids({ match: { msg: { query: 'quick brown fox', minimum_should_match: 2 } } })).toEqual(['1', '2']);
    expect(await ids({ match: { msg: { query: 'quick brown fox', minimum_should_match: '100%' } } })).toEqual([]);
    expect(await ids({ match: { level: 'ERROR' } })).toEqual(['1']);
    expect(await ids({ match: { msg: '日志' } })).toEqual(['5']);
  });

  it('match_phrase wants the words in order and next to each other (slop allows gaps)', async () => {
    expect(await ids({ match_phrase: { msg: 'quick brown' } })).toEqual(['1']);
    expect(await ids({ match_phrase: { msg: 'brown quick' } })).toEqual([]);
    expect(await ids({ match_phrase: { msg: { query: 'quick jumps', slop: 1 } } })).toEqual(['2']);
    // The standard tokenizer keeps node_cpu_usage one word (UAX #29: `_` joins), as Elasticsearch's does.
    expect(await ids({ match_phrase: { msg: 'node cpu usage' } })).toEqual([]);
    expect(await ids({ match_phrase: { msg: 'node_cpu_usage high' } })).toEqual(['3']);
    expect(await ids({ match_phrase: { msg: '出现错误' } })).toEqual(['5']);
  });
});

describe('bool', () => {
  it('combines must, filter, should and must_not', async () => {
    expect(
      await ids({ bool: { must: [{ match: { msg: 'brown' } }], must_not: [{ term: { level: 'error' } }] } }),
    ).toEqual(['1']);
    expect(
      await ids({ bool: { filter: [{ range: { n: { gte: 10 } } }, { terms: { level: ['INFO', 'error'] } }] } }),
    ).toEqual(['3', '4', '5']);
    expect(await ids({ bool: { must_not: { exists: { field: 'tags' } } } })).toEqual(['3', '4', '5', '6']);
  });

  it('needs one should clause when it has no must or filter, none otherwise (they only score)', async () => {
    expect(await ids({ bool: { should: [{ term: { level: 'WARN' } }, { term: { level: 'DEBUG' } }] } })).toEqual([
      '2',
      '6',
    ]);
    expect(
      await ids({ bool: { filter: [{ range: { n: { lte: 10 } } }], should: [{ term: { level: 'NOPE' } }] } }),
    ).toEqual(['1', '2']);
    expect(
      await ids({
        bool: {
          should: [{ term: { tags: 'a' } }, { term: { tags: 'b' } }, { term: { level: 'ERROR' } }],
          minimum_should_match: 2,
        },
      }),
    ).toEqual(['1']);
    expect(
      await ids({
        bool: { filter: [{ range: { n: { lte: 10 } } }], should: [{ term: { tags: 'a' } }], minimum_should_match: 1 },
      }),
    ).toEqual(['1']);
  });

  it('scores filter clauses as 0 and must clauses above it', async () => {
    const filtered = await client.search({
      index: INDEX,
      body: { query: { bool: { filter: { term: { level: 'WARN' } } } } },
    });
    expect(filtered.body.hits.hits[0]._score).toBe(0);
    const scored = await client.search({
      index: INDEX,
      body: { query: { bool: { must: { term: { level: 'WARN' } } } } },
    });
    expect(scored.body.hits.hits[0]._score).toBeGreaterThan(0);
  });
});

describe('sort and _source', () => {
  it('sorts by fields with order and missing, and returns the sort values', async () => {
    const r = await client.search({
      index: INDEX,
      body: { query: { match_all: {} }, sort: [{ 'user.name': { order: 'asc', missing: '_first' } }, { n: 'desc' }] },
    });
    const hits = r.body.hits.hits as { _id: string; sort: unknown[]; _score: unknown }[];
    expect(hits.map((h) => h._id)).toEqual(['6', '4', '3', '5', '1', '2']);
    expect(hits[0].sort).toEqual([null, 30]);
    expect(hits[3].sort).toEqual(['', 25]);
    expect(hits[0]._score).toBeNull();
    expect(r.body.hits.max_score).toBeNull();
    const dates = await client.search({ index: INDEX, body: { sort: [{ at: 'asc' }], size: 1 } });
    expect(dates.body.hits.hits[0].sort).toEqual([Date.parse('2024-02-28T00:00:00Z')]);
  });

  it('sorts an unmapped field only with unmapped_type, and never a text field', async () => {
    const ok = await client.search({
      index: INDEX,
      body: { sort: [{ nothing: { order: 'asc', unmapped_type: 'long' } }, { n: 'asc' }], size: 2 },
    });
    expect(ok.body.hits.hits.map((h: { _id: string }) => h._id)).toEqual(['1', '2']);
    const unmapped = await failure(client.search({ index: INDEX, body: { sort: [{ nothing: 'asc' }] } }));
    expect(unmapped.status).toBe(400);
    expect(unmapped.body.error.root_cause[0].reason).toBe('No mapping found for [nothing] in order to sort on');
    const text = await failure(client.search({ index: INDEX, body: { sort: [{ msg: 'asc' }] } }));
    expect(text.status).toBe(400);
    expect(text.body.error.type).toBe('search_phase_execution_exception');
    expect(text.body.error.root_cause[0].type).toBe('illegal_argument_exception');
    expect(text.body.error.root_cause[0].reason).toMatch(
      /^Text fields are not optimised for operations that require per-document field data/,
    );
  });

  it('filters _source with includes, excludes and wildcards, or leaves it out', async () => {
    const get = async (source: unknown) =>
      (await client.search({ index: INDEX, body: { query: { ids: { values: ['1'] } }, _source: source } })).body.hits
        .hits[0]._source as Body | undefined;
    expect(await get(false)).toBeUndefined();
    expect(await get(['level', 'user.*'])).toEqual({ level: 'ERROR', user: { name: 'alice' } });
    expect(await get({ includes: ['*'], excludes: ['msg', 'tags', 'at'] })).toEqual({
      level: 'ERROR',
      n: 5,
      user: { name: 'alice' },
    });
    expect(await get('n')).toEqual({ n: 5 });
  });
});

describe('malformed queries', () => {
  it('answers parsing errors with 400', async () => {
    const unknown = await failure(client.search({ index: INDEX, body: { query: { frobnicate: { x: 1 } } } }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.type).toBe('parsing_exception');
    expect(unknown.body.error.reason).toBe('unknown query [frobnicate]');
    const two = await failure(client.search({ index: INDEX, body: { query: { term: { a: 'x', b: 'y' } } } }));
    expect(two.body.error.reason).toBe("[term] query doesn't support multiple fields, found [a] and [b]");
    const boolKey = await failure(client.search({ index: INDEX, body: { query: { bool: { mustt: [] } } } }));
    expect(boolKey.body.error.type).toBe('parsing_exception');
    const topKey = await failure(client.search({ index: INDEX, body: { qeury: { match_all: {} } } as Body }));
    expect(topKey.status).toBe(400);
    expect(topKey.body.error.reason).toBe('Unknown key for a START_OBJECT in [qeury].');
  });

  it('takes hostile values as data: no value is a query language', async () => {
    for (const value of ['*', '?', '"', '\\', '/regex/', 'AND OR NOT', '{"match_all":{}}', 'x'.repeat(10_000)]) {
      expect(await ids({ term: { level: value } }), value).toEqual([]);
      expect(await ids({ match_phrase: { 'msg.keyword': value } }), value).toEqual([]);
    }
  });
});

describe('_count', () => {
  it('counts what a query matches', async () => {
    const r = await client.count({ index: INDEX, body: { query: { terms: { level: ['INFO', 'WARN'] } } } });
    expect(r.body).toEqual({ count: 3, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } });
  });
});
