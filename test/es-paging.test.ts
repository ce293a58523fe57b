// Paging in the Elasticsearch stand-in as the reference describes it: search_after, points in time (a true snapshot:
// writes after the PIT opened are invisible to it), the implicit `_shard_doc` tie-breaker, track_total_hits, and the
// max_result_window limit; and a walk over thousands of hits with equal timestamps while documents keep arriving
// and others are deleted: every document of the snapshot once, none twice, none added.
import type { Client } from '@elastic/elasticsearch';
import { beforeAll, describe, expect, it } from 'vitest';
import { type EsBody as Body, esFailure as failure, useTestEs } from './harness/es.js';

let client: Client;

const es = useTestEs((started) => {
  client = started;
});

async function bulkIndex(index: string, docs: Body[], ids?: string[]): Promise<void> {
  for (let i = 0; i < docs.length; i += 5000) {
    const body = docs
      .slice(i, i + 5000)
      .flatMap((d, j) => [{ index: { _index: index, ...(ids ? { _id: ids[i + j] } : {}) } }, d]);
    const r = await client.bulk({ body });
    if (r.body.errors) throw new Error('bulk failed');
  }
}

describe('search_after', () => {
  it('pages by the sort values of the last hit', async () => {
    await client.indices.create({
      index: 'sa',
      body: { mappings: { properties: { age: { type: 'integer' }, id: { type: 'integer' } } } },
    });
    await bulkIndex(
      'sa',
      [
        { id: 1, age: 18 },
        { id: 42, age: 18 },
        { id: 172, age: 24 },
      ],
      ['1', '42', '172'],
    );
    const page = async (after?: unknown[]) =>
      (
        await client.search({
          index: 'sa',
          body: { size: 1, sort: [{ age: 'desc' }, { id: 'desc' }], ...(after ? { search_after: after } : {}) },
        })
      ).body.hits;
    const p1 = await page();
    expect(p1.total).toEqual({ value: 3, relation: 'eq' });
    expect(p1.hits.map((h: Body) => [h._id, h.sort])).toEqual([['172', [24, 172]]]);
    const p2 = await page([24, 172]);
    expect(p2.hits.map((h: Body) => [h._id, h.sort])).toEqual([['42', [18, 42]]]);
    const p3 = await page([18, 42]);
    expect(p3.hits.map((h: Body) => [h._id, h.sort])).toEqual([['1', [18, 1]]]);
    expect((await page([18, 1])).hits).toEqual([]);
    const mismatch = await failure(
      client.search({ index: 'sa', body: { sort: [{ age: 'desc' }], search_after: [1, 2] } }),
    );
    expect(mismatch.status).toBe(400);
    expect(JSON.stringify(mismatch.body)).toMatch(/search_after has 2 value\(s\) but sort has 1/);
    const withFrom = await failure(
      client.search({ index: 'sa', body: { from: 1, sort: [{ age: 'desc' }], search_after: [1] } }),
    );
    expect(withFrom.status).toBe(400);
  });

  it('pages dates by their millisecond sort value or by the formatted value', async () => {
    await client.indices.create({
      index: 'sa-dates',
      body: { mappings: { properties: { ts: { type: 'date', format: 'yyyy-MM-dd HH:mm:ss.SSS' } } } },
    });
    await bulkIndex('sa-dates', [{ ts: '2019-10-21 00:30:04.828' }, { ts: '2019-10-21 08:30:04.828' }]);
    const first = (await client.search({ index: 'sa-dates', body: { size: 1, sort: [{ ts: 'desc' }] } })).body.hits
      .hits[0];
    expect(first.sort).toEqual([Date.parse('2019-10-21T08:30:04.828Z')]);
    const byMillis = (
      await client.search({ index: 'sa-dates', body: { size: 1, sort: [{ ts: 'desc' }], search_after: first.sort } })
    ).body.hits.hits[0];
    expect(byMillis._source.ts).toBe('2019-10-21 00:30:04.828');
    const byText = (
      await client.search({
        index: 'sa-dates',
        body: { size: 1, sort: [{ ts: 'desc' }], search_after: ['2019-10-21 08:30:04.828'] },
      })
    ).body.hits.hits[0];
    expect(byText._source.ts).toBe('2019-10-21 00:30:04.828');
    const formatted = (
      await client.search({
        index: 'sa-dates',
        body: { size: 1, sort: [{ ts: { order: 'asc', format: 'strict_date_optional_time' } }] },
      })
    ).body.hits.hits[0];
    expect(formatted.sort).toEqual(['2019-10-21T00:30:04.828Z']);
  });

  it('refuses _shard_doc without a point in time', async () => {
    await client.index({ index: 'sd', body: { a: 1 }, refresh: true });
    const r = await failure(client.search({ index: 'sd', body: { sort: ['_shard_doc'], search_after: [0] } }));
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toMatch(/\[_shard_doc\] sort field cannot be used without \[point in time\]/);
  });
});

describe('point in time', () => {
  it('searches a snapshot: later writes, updates and deletes are invisible to it', async () => {
    await bulkIndex('pit-a', [{ n: 1 }, { n: 2 }, { n: 3 }], ['1', '2', '3']);
    await bulkIndex('pit-b', [{ n: 4 }], ['4']);
    const opened = (await client.openPointInTime({ index: 'pit-*', keep_alive: '1m' })).body;
    expect(typeof opened.id).toBe('string');
    await bulkIndex('pit-a', [{ n: 5 }, { n: 20 }], ['5', '2']);
    await client.delete({ index: 'pit-a', id: '3' });
    await bulkIndex('pit-c', [{ n: 6 }]);
    const inPit = (
      await client.search({ body: { size: 10, sort: [{ n: 'asc' }], pit: { id: opened.id, keep_alive: '1m' } } })
    ).body;
    expect(inPit.pit_id).toBe(opened.id);
    expect(inPit.hits.total).toEqual({ value: 4, relation: 'eq' });
    expect(inPit.hits.hits.map((h: Body) => [h._index, h._id, h._source.n])).toEqual([
      ['pit-a', '1', 1],
      ['pit-a', '2', 2],
      ['pit-a', '3', 3],
      ['pit-b', '4', 4],
    ]);
    // A point in time adds the _shard_doc tie-breaker to the sort: one more sort value per hit, all distinct.
    for (const h of inPit.hits.hits) expect(h.sort).toHaveLength(2);
    expect(new Set(inPit.hits.hits.map((h: Body) => h.sort[1])).size).toBe(4);
    const now = (await client.search({ index: 'pit-*', body: { size: 10, sort: [{ n: 'asc' }] } })).body;
    expect(now.hits.hits.map((h: Body) => h._source.n)).toEqual([1, 4, 5, 6, 20]);

    const closed = await client.closePointInTime({ body: { id: opened.id } });
    expect(closed.body).toEqual({ succeeded: true, num_freed: 1 });
    const again = await failure(client.closePointInTime({ body: { id: opened.id } }));
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ succeeded: true, num_freed: 0 });
    const gone = await failure(client.search({ body: { pit: { id: opened.id } } }));
    expect(gone.status).toBe(404);
    expect(gone.body.error.root_cause[0].type).toBe('search_context_missing_exception');
  });

  it('refuses an index in the path with a point in time, and opening one without keep_alive', async () => {
    await bulkIndex('pit-d', [{ n: 1 }]);
    const { id } = (await client.openPointInTime({ index: 'pit-d', keep_alive: '1m' })).body;
    const withIndex = await failure(client.search({ index: 'pit-d', body: { pit: { id } } }));
    expect(withIndex.status).toBe(400);
    expect(JSON.stringify(withIndex.body)).toMatch(/\[indices\] cannot be used with point in time/);
    const res = await fetch(`${es.url}/pit-d/_pit`, { method: 'POST' });
    expect(res.status).toBe(400);
  });
});

describe('totals and windows', () => {
  beforeAll(async () => {
    await bulkIndex(
      'big',
      Array.from({ length: 12_000 }, (_, i) => ({ i, even: i % 2 === 0 })),
    );
  });

  it('counts hits exactly up to 10,000 by default, then says gte; true, false and a number change that', async () => {
    const total = async (track?: unknown, extra: Record<string, unknown> = {}) =>
      (
        await client.search({
          index: 'big',
          ...extra,
          body: { size: 0, ...(track !== undefined ? { track_total_hits: track } : {}) },
        })
      ).body.hits.total;
    expect(await total()).toEqual({ value: 10_000, relation: 'gte' });
    expect(await total(true)).toEqual({ value: 12_000, relation: 'eq' });
    expect(await total(false)).toBeUndefined();
    expect(await total(500)).toEqual({ value: 500, relation: 'gte' });
    expect(await total(20_000)).toEqual({ value: 12_000, relation: 'eq' });
    expect(await total(undefined, { rest_total_hits_as_int: true })).toBe(12_000);
    const few = (await client.search({ index: 'big', body: { size: 0, query: { range: { i: { lt: 10 } } } } })).body
      .hits.total;
    expect(few).toEqual({ value: 10, relation: 'eq' });
  });

  it('refuses from + size beyond max_result_window (10,000)', async () => {
    const r = await failure(client.search({ index: 'big', body: { from: 9_999, size: 2 } }));
    expect(r.status).toBe(400);
    expect(r.body.error.type).toBe('search_phase_execution_exception');
    expect(r.body.error.root_cause[0].type).toBe('illegal_argument_exception');
    expect(r.body.error.root_cause[0].reason).toMatch(
      /^Result window is too large, from \+ size must be less than or equal to: \[10000\] but was \[10001\]\. See the scroll api/,
    );
    expect((await failure(client.search({ index: 'big', body: { size: 10_001 } }))).status).toBe(400);
    const deep = (await client.search({ index: 'big', body: { from: 9_990, size: 10, sort: [{ i: 'asc' }] } })).body
      .hits.hits;
    expect(deep.map((h: Body) => h._source.i)).toEqual(Array.from({ length: 10 }, (_, k) => 9_990 + k));
    const negative = await failure(client.search({ index: 'big', body: { size: -1 } }));
    expect(negative.status).toBe(400);
  });
});

describe('a walk with a point in time while documents arrive', () => {
  it('returns every document of the snapshot exactly once, in order, however many share a timestamp', async () => {
    const T0 = Date.parse('2024-06-01T00:00:00Z');
    const N = 20_000;
    // 40 documents per millisecond: the time alone never tells them apart.
    const docs = Array.from({ length: N }, (_, i) => ({
      time: new Date(T0 + Math.floor(i / 40)).toISOString(),
      seq: i,
      log: `line ${i}`,
    }));
    await bulkIndex(
      'walk-2024.06.01',
      docs.slice(0, N / 2),
      docs.slice(0, N / 2).map((d) => `w${d.seq}`),
    );
    await bulkIndex(
      'walk-2024.06.02',
      docs.slice(N / 2),
      docs.slice(N / 2).map((d) => `w${d.seq}`),
    );
    const { id } = (await client.openPointInTime({ index: 'walk-*', keep_alive: '1m' })).body;

    const seen: string[] = [];
    let after: unknown[] | undefined;
    let writes = 0;
    let lastTime = Infinity;
    for (;;) {
      const r = await client.search({
        body: {
          size: 700,
          sort: [{ time: 'desc' }],
          pit: { id, keep_alive: '1m' },
          ...(after ? { search_after: after } : {}),
        },
      });
      const hits = r.body.hits.hits as Body[];
      if (hits.length === 0) break;
      for (const h of hits) {
        seen.push(h._id);
        const t = Date.parse(h._source.time);
        expect(t).toBeLessThanOrEqual(lastTime);
        lastTime = t;
      }
      after = hits[hits.length - 1].sort;
      // Between pages: new lines at the same timestamps, an old one deleted, another rewritten.
      const k = writes++;
      await bulkIndex(
        'walk-2024.06.01',
        Array.from({ length: 50 }, (_, j) => ({
          time: new Date(T0 + ((k * 37 + j) % (N / 40))).toISOString(),
          seq: -1,
          log: 'late',
        })),
      );
      await client.delete({ index: 'walk-2024.06.01', id: `w${(k * 101) % (N / 2)}` }).catch(() => undefined);
      await client.index({
        index: 'walk-2024.06.02',
        id: `w${N / 2 + k}`,
        body: { time: new Date(T0).toISOString(), seq: -2, log: 'rewritten' },
      });
    }
    expect(writes).toBeGreaterThan(20);
    expect(seen.length).toBe(N);
    expect(new Set(seen).size).toBe(N);
    expect(new Set(seen)).toEqual(new Set(docs.map((d) => `w${d.seq}`)));
    await client.closePointInTime({ body: { id } });
  });
});

describe('scroll', () => {
  it('pages through a snapshot until it is empty, then is cleared', async () => {
    await bulkIndex(
      'scroll-a',
      Array.from({ length: 25 }, (_, i) => ({ i })),
      Array.from({ length: 25 }, (_, i) => `s${i}`),
    );
    const first = (await client.search({ index: 'scroll-a', scroll: '30s', body: { size: 10, sort: [{ i: 'desc' }] } }))
      .body;
    expect(typeof first._scroll_id).toBe('string');
    expect(first.hits.total).toEqual({ value: 25, relation: 'eq' });
    // Written after the scroll started: not part of it.
    await bulkIndex('scroll-a', [{ i: 100 }]);
    const seen = first.hits.hits.map((h: Body) => h._source.i);
    expect(first.hits.hits[0].sort).toEqual([24]);
    for (;;) {
      const page = (await client.scroll({ body: { scroll_id: first._scroll_id, scroll: '30s' } })).body;
      if (!page.hits.hits.length) break;
      seen.push(...page.hits.hits.map((h: Body) => h._source.i));
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, k) => 24 - k));
    const cleared = (await client.clearScroll({ body: { scroll_id: first._scroll_id } })).body;
    expect(cleared).toEqual({ succeeded: true, num_freed: 1 });
    const gone = await failure(client.scroll({ body: { scroll_id: first._scroll_id } }));
    expect(gone.status).toBe(404);
    expect(gone.body.error.root_cause[0].type).toBe('search_context_missing_exception');
  });

  it('serves the client scroll helper, and refuses from and oversized batches as Elasticsearch does', async () => {
    const got: number[] = [];
    for await (const doc of client.helpers.scrollDocuments<{ i: number }>({
      index: 'scroll-a',
      size: 7,
      body: { query: { range: { i: { lt: 25 } } } },
    }))
      got.push(doc.i);
    expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, k) => k));
    const from = await failure(client.search({ index: 'scroll-a', scroll: '10s', body: { from: 5 } }));
    expect(from.status).toBe(400);
    expect(JSON.stringify(from.body)).toMatch(/using \[from\] is not allowed in a scroll context/);
    const big = await failure(client.search({ index: 'scroll-a', scroll: '10s', body: { size: 10_010 } }));
    expect(big.status).toBe(400);
    expect(JSON.stringify(big.body)).toMatch(
      /Batch size is too large, size must be less than or equal to: \[10000\] but was \[10010\]/,
    );
  });
});
