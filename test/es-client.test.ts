// The official client (@elastic/elasticsearch 7.17) end to end against the stand-in: its bulk and search helpers,
// a search shaped like KubeSphere's (bool filters, sort on time, cardinality) answered in the layout of the real
// responses in ../shared/fixtures/elasticsearch, and the REST compatibility media type.
import type { Client } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { type EsBody as Body, esFixture as fixture, useTestEs } from './harness/es.js';

let client: Client;

const es = useTestEs((started) => {
  client = started;
});

describe('the official client', () => {
  it('loads the real documents with helpers.bulk and reads them back in the real layout', async () => {
    const real = fixture('es7_search_cardinality_200.json');
    const sources = (real.hits.hits as Body[]).map((h) => h._source);
    const result = await client.helpers.bulk({
      datasource: sources,
      onDocument: () => ({ index: { _index: 'ks-logstash-log-2020.05.16' } }),
      refreshOnCompletion: true,
    });
    expect(result.successful).toBe(sources.length);
    expect(result.failed).toBe(0);

    // KubeSphere's query: namespaces filter, time range, newest first, and the container count.
    const r = await client.search({
      index: 'ks-logstash-log-2020.05.16,ks-logstash-log-2020.05.17',
      ignore_unavailable: true,
      body: {
        query: {
          bool: {
            filter: [
              {
                bool: {
                  should: [
                    { match_phrase: { 'kubernetes.namespace_name.keyword': 'kube-system' } },
                    { match_phrase: { 'kubernetes.namespace_name.keyword': 'kubesphere-system' } },
                  ],
                  minimum_should_match: 1,
                },
              },
              { range: { time: { gte: '2020-05-16T00:00:00Z', lte: '2020-05-16T23:59:59Z' } } },
            ],
          },
        },
        sort: [{ time: { order: 'desc' } }],
        size: 10,
        track_total_hits: true,
        aggs: { container_count: { cardinality: { field: 'kubernetes.docker_id.keyword' } } },
      },
    });
    const body = r.body as Body;
    expect(Object.keys(body).sort()).toEqual(Object.keys(real).sort());
    expect(Object.keys(body._shards)).toEqual(Object.keys(real._shards));
    expect(Object.keys(body.hits).sort()).toEqual(Object.keys(real.hits).sort());
    expect(Object.keys(body.hits.total)).toEqual(['value', 'relation']);
    // Hits carry what the real ones do, except Elasticsearch 8's hits have no _type; sorted hits carry `sort`.
    const realHitKeys = Object.keys(real.hits.hits[0]).filter((k) => k !== '_type');
    for (const h of body.hits.hits as Body[]) expect(Object.keys(h).filter((k) => k !== 'sort')).toEqual(realHitKeys);
    expect(body.hits.total).toEqual({ value: 4, relation: 'eq' });
    expect(body.hits.hits.map((h: Body) => h._source.time)).toEqual([...sources.map((s) => s.time)].sort().reverse());
    expect(body.hits.hits[0]._source).toEqual(sources[1]);
    expect(body.aggregations).toEqual({ container_count: { value: 2 } });
  });

  it('walks every hit with a point in time and search_after, as a paging client does', async () => {
    const docs = Array.from({ length: 2500 }, (_, i) => ({
      time: new Date(Date.UTC(2024, 0, 1, 0, 0, Math.floor(i / 10))).toISOString(),
      log: `l${i}`,
    }));
    await client.helpers.bulk({
      datasource: docs,
      onDocument: () => ({ create: { _index: 'paging-2024.01.01' } }),
      refreshOnCompletion: true,
    });
    const pit = (await client.openPointInTime({ index: 'paging-*', keep_alive: '30s' })).body.id;
    const seen = new Set<string>();
    let after: unknown[] | undefined;
    for (;;) {
      const r = await client.search({
        body: {
          size: 333,
          sort: [{ time: 'asc' }],
          pit: { id: pit, keep_alive: '30s' },
          ...(after ? { search_after: after } : {}),
        },
      });
      const hits = r.body.hits.hits as Body[];
      if (!hits.length) break;
      for (const h of hits) seen.add(h._source.log);
      after = hits[hits.length - 1].sort;
    }
    expect(seen.size).toBe(2500);
    await client.closePointInTime({ body: { id: pit } });
  });

  it('counts, lists indices and checks existence through the client', async () => {
    expect((await client.count({ index: 'paging-*' })).body.count).toBe(2500);
    const cat = (await client.cat.indices({ index: 'paging-*', format: 'json' })).body as Body[];
    expect(cat.map((c) => c.index)).toEqual(['paging-2024.01.01']);
    expect((await client.indices.exists({ index: 'paging-2024.01.01' })).body).toBe(true);
    expect((await client.indices.exists({ index: 'paging-1999.01.01' })).body).toBe(false);
  });
});

describe('the REST compatibility media type', () => {
  it('answers a compatible-with request in the same media type', async () => {
    const res = await fetch(`${es.url}/_count`, {
      headers: {
        accept: 'application/vnd.elasticsearch+json; compatible-with=8',
        'content-type': 'application/vnd.elasticsearch+json; compatible-with=8',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.elasticsearch+json;compatible-with=8');
    expect(res.headers.get('x-elastic-product')).toBe('Elasticsearch');
    expect(((await res.json()) as Body).count).toBeGreaterThan(0);
  });
});
