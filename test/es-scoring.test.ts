// Relevance scores as Elasticsearch computes them with its default similarity, BM25 (k1 = 1.2, b = 0.75; the
// reference's "Similarity module" and the explain output of its _explain API page:
// score = boost * (k1 + 1) * idf * tf, idf = ln(1 + (N - n + 0.5) / (n + 0.5)),
// tf = freq / (freq + k1 * (1 - b + b * dl / avgdl))), one shard's statistics. Expected values are computed here from
// that formula and the documents' word counts, and one is the documented number itself (1.6943597).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEs, type EsServer } from '../services/es/server.js';

let es: EsServer;
const K1 = 1.2;
const B = 0.75;
const idf = (n: number, N: number) => Math.log(1 + (N - n + 0.5) / (n + 0.5));
const tf = (freq: number, dl: number, avgdl: number) => freq / (freq + K1 * (1 - B + (B * dl) / avgdl));

async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`${es.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await r.json()) as Record<string, unknown>;
  expect(r.status, JSON.stringify(json)).toBeLessThan(300);
  return json;
}

interface Hit {
  _id: string;
  _score: number | null;
}
async function hits(index: string, body: unknown): Promise<{ hits: Hit[]; max_score: number | null }> {
  const r = await call('POST', `/${index}/_search`, body);
  return r.hits as { hits: Hit[]; max_score: number | null };
}
const scores = async (index: string, query: unknown) =>
  Object.fromEntries((await hits(index, { query, size: 100 })).hits.map((h) => [h._id, h._score]));

// The _explain page's example index: five messages, "elasticsearch" in one of three words, 27 words in all.
const EXPLAIN_DOCS = [
  'elasticsearch is cool',
  'some other words in this one',
  'yet another message with six words',
  'the fourth message has six words',
  'a fifth with six words too',
];

beforeAll(async () => {
  es = await startEs();
  for (const [i, message] of EXPLAIN_DOCS.entries()) await call('PUT', `/twitter/_doc/${i}`, { message });
  const docs: Record<string, string> = {
    a: 'error error error in pod web',
    b: 'error in pod db',
    c: 'all good in pod web and in pod db too',
    d: 'warning disk almost full on node one two three',
  };
  for (const [id, msg] of Object.entries(docs))
    await call('PUT', `/logs/_doc/${id}`, { msg, level: id === 'b' ? 'ERROR' : 'INFO' });
  await call('POST', '/_refresh');
});
afterAll(async () => {
  await es?.close();
});

describe('BM25 scores', () => {
  it('gives the _explain page example its documented score', async () => {
    const s = await scores('twitter', { match: { message: 'elasticsearch' } });
    expect(Object.keys(s)).toEqual(['0']);
    expect(s['0']).toBeCloseTo(1.6943597, 6);
    expect(s['0']).toBeCloseTo(2.2 * idf(1, 5) * tf(1, 3, 27 / 5), 6);
  });

  it('counts term frequency and field length: more occurrences and shorter fields score higher', async () => {
    // logs.msg word counts: a 6, b 4, c 10, d 9 -> avgdl 29/4; "error" in a (3 times) and b (once).
    const s = await scores('logs', { match: { msg: 'error' } });
    const avgdl = 29 / 4;
    expect(s.a).toBeCloseTo(2.2 * idf(2, 4) * tf(3, 6, avgdl), 5);
    expect(s.b).toBeCloseTo(2.2 * idf(2, 4) * tf(1, 4, avgdl), 5);
    expect(Object.keys(s).sort()).toEqual(['a', 'b']);
  });

  it('sums the words of a match query, sorts by _score descending and reports max_score', async () => {
    const avgdl = 29 / 4;
    const r = await hits('logs', { query: { match: { msg: 'web db' } } });
    const expected: Record<string, number> = {
      a: 2.2 * idf(2, 4) * tf(1, 6, avgdl),
      b: 2.2 * idf(2, 4) * tf(1, 4, avgdl),
      c: 2.2 * idf(2, 4) * tf(1, 10, avgdl) * 2,
    };
    for (const h of r.hits) expect(h._score).toBeCloseTo(expected[h._id]!, 5);
    const order = Object.entries(expected)
      .sort((x, y) => y[1] - x[1])
      .map(([id]) => id);
    expect(r.hits.map((h) => h._id)).toEqual(order);
    expect(r.max_score).toBeCloseTo(Math.max(...Object.values(expected)), 5);
  });

  it('scores a phrase with the sum of its words idf and the phrase frequency', async () => {
    const avgdl = 29 / 4;
    const s = await scores('logs', { match_phrase: { msg: 'in pod' } });
    // "in" and "pod" are in a, b and c; the phrase twice in c.
    const sumIdf = idf(3, 4) + idf(3, 4);
    expect(s.a).toBeCloseTo(2.2 * sumIdf * tf(1, 6, avgdl), 5);
    expect(s.c).toBeCloseTo(2.2 * sumIdf * tf(2, 10, avgdl), 5);
  });

  it('scores a term on a keyword field without norms (dl = avgdl = 1) and multiplies by boost', async () => {
    const s = await scores('logs', { term: { 'level.keyword': { value: 'ERROR', boost: 2 } } });
    expect(s.b).toBeCloseTo(2 * 2.2 * idf(1, 4) * tf(1, 1, 1), 5);
  });

  it('leaves filters unscored and gives constant-score queries their boost', async () => {
    const avgdl = 29 / 4;
    const s = await scores('logs', {
      bool: { must: { match: { msg: 'error' } }, filter: { term: { 'level.keyword': 'ERROR' } } },
    });
    expect(s.b).toBeCloseTo(2.2 * idf(2, 4) * tf(1, 4, avgdl), 5);
    expect(await scores('logs', { constant_score: { filter: { match: { msg: 'error' } }, boost: 1.5 } })).toEqual({
      a: 1.5,
      b: 1.5,
    });
    expect(await scores('logs', { terms: { 'level.keyword': ['ERROR', 'INFO'] } })).toEqual({ a: 1, b: 1, c: 1, d: 1 });
  });

  it('has no _score when sorted on a field, unless track_scores', async () => {
    const plain = await hits('logs', { query: { match: { msg: 'error' } }, sort: [{ 'level.keyword': 'asc' }] });
    expect(plain.hits.map((h) => h._score)).toEqual([null, null]);
    expect(plain.max_score).toBeNull();
    const tracked = await hits('logs', { query: { match: { msg: 'error' } }, sort: ['_score'], track_scores: true });
    expect(tracked.hits[0]!._score).toBeGreaterThan(tracked.hits[1]!._score!);
  });
});
