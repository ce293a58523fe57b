// The Elasticsearch stand-in's REST API, checked against what the Elasticsearch reference documents and against
// real answers (../shared/fixtures/elasticsearch): driven by the official client (@elastic/elasticsearch 7.17) over
// HTTP, and by raw fetch where the wire itself matters (headers, NDJSON, status codes of HEAD).
import { gzipSync } from 'node:zlib';
import type { Client } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { type EsBody as Body, esFailure as failure, esFixture as fixture, useTestEs } from './harness/es.js';

let client: Client;

const es = useTestEs((started) => {
  client = started;
});

async function raw(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(`${es.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': contentType },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Body };
}

describe('root and headers', () => {
  it('answers GET / as Elasticsearch 8 does, and the official client accepts it', async () => {
    const info = (await client.info()).body;
    expect(info.version.number).toMatch(/^8\./);
    expect(info.tagline).toBe('You Know, for Search');
    expect(info.version.build_flavor).toBe('default');
    expect(Object.keys(info).sort()).toEqual(['cluster_name', 'cluster_uuid', 'name', 'tagline', 'version']);
  });

  it('sends X-Elastic-Product on every answer: success, error, unknown route, HEAD', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/missing-index/_search'],
      ['GET', '/_no_such_api/at/all'],
      ['HEAD', '/missing-index'],
      ['POST', '/_bulk'],
    ]) {
      const r = await raw(method, path);
      expect(r.headers.get('x-elastic-product'), `${method} ${path}`).toBe('Elasticsearch');
    }
  });

  it('answers an unknown route with 400 and a wrong method with 405', async () => {
    const unknown = await raw('GET', '/_nothing/here/either');
    expect(unknown.status).toBe(400);
    expect(unknown.json().error).toMatch(/no handler found for uri/);
    const wrong = await raw('GET', '/_bulk');
    expect(wrong.status).toBe(405);
    expect(wrong.json().error).toMatch(
      /Incorrect HTTP method for uri \[\/_bulk\] and method \[GET\], allowed: \[POST, PUT\]/,
    );
  });
});

describe('indices', () => {
  it('creates, finds, describes and deletes an index', async () => {
    const created = await client.indices.create({
      index: 'books',
      body: {
        settings: { number_of_shards: 1, number_of_replicas: 0 },
        mappings: { properties: { title: { type: 'text' }, isbn: { type: 'keyword' } } },
      },
    });
    expect(created.body).toEqual({ acknowledged: true, shards_acknowledged: true, index: 'books' });
    expect((await client.indices.exists({ index: 'books' })).statusCode).toBe(200);
    expect((await client.indices.exists({ index: 'nothing-here' })).statusCode).toBe(404);
    const got = (await client.indices.get({ index: 'books' })).body.books;
    expect(got.mappings).toEqual({ properties: { title: { type: 'text' }, isbn: { type: 'keyword' } } });
    expect(got.settings.index.number_of_shards).toBe('1');
    expect(got.settings.index.number_of_replicas).toBe('0');
    expect(got.settings.index.provided_name).toBe('books');
    expect(got.aliases).toEqual({});
    expect((await client.indices.delete({ index: 'books' })).body).toEqual({ acknowledged: true });
    expect((await client.indices.exists({ index: 'books' })).statusCode).toBe(404);
  });

  it('refuses an existing index with resource_already_exists_exception', async () => {
    await client.indices.create({ index: 'twice' });
    const { status, body } = await failure(client.indices.create({ index: 'twice' }));
    expect(status).toBe(400);
    expect(body.error.type).toBe('resource_already_exists_exception');
    expect(body.error.reason).toMatch(/^index \[twice\/[\w-]+\] already exists$/);
    expect(body.error.root_cause[0].type).toBe('resource_already_exists_exception');
    expect(body.status).toBe(400);
  });

  it('refuses invalid index names', async () => {
    for (const name of ['UpperCase', '_leading', 'has space', 'a*b', '-dash']) {
      const { status, body } = await failure(client.indices.create({ index: name }));
      expect(status, name).toBe(400);
      expect(body.error.type).toBe('invalid_index_name_exception');
    }
  });

  it('answers index_not_found_exception like the real server (fixture es7_search_404_no_index.json)', async () => {
    const real = fixture('es7_search_404_no_index.json');
    const { status, body } = await failure(
      client.search({ index: 'ks-logstash-log-20', body: { query: { match_all: {} } } }),
    );
    expect(status).toBe(404);
    expect(body).toEqual(real);
  });

  it('answers a failure on the shards like the real server (fixture es7_search_400_bad_interval.json)', async () => {
    const real = fixture('es7_search_400_bad_interval.json');
    await client.index({ index: 'shard-fail', body: { log: 'text' }, refresh: true });
    // Sorting on a text field fails on every shard: search_phase_execution_exception wrapping the shard's error.
    const { status, body } = await failure(client.search({ index: 'shard-fail', body: { sort: [{ log: 'asc' }] } }));
    expect(status).toBe(400);
    expect(Object.keys(body).sort()).toEqual(Object.keys(real).sort());
    expect(Object.keys(body.error).sort()).toEqual(Object.keys(real.error).sort());
    expect(body.error).toMatchObject({
      type: 'search_phase_execution_exception',
      reason: 'all shards failed',
      phase: 'query',
      grouped: true,
    });
    expect(Object.keys(body.error.failed_shards[0]).sort()).toEqual(Object.keys(real.error.failed_shards[0]).sort());
    expect(body.error.failed_shards[0].index).toBe('shard-fail');
    expect(body.error.failed_shards[0].reason.type).toBe('illegal_argument_exception');
    expect(body.error.root_cause[0].type).toBe('illegal_argument_exception');
    expect(body.error.caused_by.type).toBe('illegal_argument_exception');
  });

  it('resolves wildcards, comma lists and exclusions; ignore_unavailable and allow_no_indices', async () => {
    for (const index of ['logs-2024.01.01', 'logs-2024.01.02', 'metrics-2024.01.01'])
      await client.index({ index, body: { msg: index }, refresh: true });
    const names = async (index: string, params: Record<string, unknown> = {}) =>
      ((await client.search({ index, ...params, body: { size: 100 } })).body.hits.hits as { _index: string }[])
        .map((h) => h._index)
        .sort();
    expect(await names('logs-*')).toEqual(['logs-2024.01.01', 'logs-2024.01.02']);
    expect(await names('logs-*,metrics-*')).toEqual(['logs-2024.01.01', 'logs-2024.01.02', 'metrics-2024.01.01']);
    expect(await names('logs-*,-logs-2024.01.02')).toEqual(['logs-2024.01.01']);
    expect(await names('logs-2024.01.01,logs-2024.01.01')).toEqual(['logs-2024.01.01']);
    // A missing concrete index fails the search unless ignore_unavailable.
    expect((await failure(client.search({ index: 'logs-2024.01.01,logs-1999.01.01' }))).status).toBe(404);
    expect(await names('logs-2024.01.01,logs-1999.01.01', { ignore_unavailable: true })).toEqual(['logs-2024.01.01']);
    // A wildcard matching nothing is an empty answer unless allow_no_indices=false.
    const empty = (await client.search({ index: 'nomatch-*' })).body;
    expect(empty.hits.total).toEqual({ value: 0, relation: 'eq' });
    expect(empty._shards.total).toBe(0);
    const refused = await failure(client.search({ index: 'nomatch-*', allow_no_indices: false }));
    expect(refused.status).toBe(404);
    expect(refused.body.error.type).toBe('index_not_found_exception');
  });

  it('lists indices with _cat/indices as text and as JSON', async () => {
    await client.indices.create({ index: 'cat-a', body: { settings: { number_of_replicas: 0 } } });
    await client.bulk({ index: 'cat-a', refresh: true, body: [{ index: {} }, { n: 1 }, { index: {} }, { n: 2 }] });
    const json = (await client.cat.indices({ index: 'cat-*', format: 'json' })).body as Record<string, string>[];
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({
      health: 'green',
      status: 'open',
      index: 'cat-a',
      pri: '1',
      rep: '0',
      'docs.count': '2',
      'docs.deleted': '0',
    });
    for (const v of Object.values(json[0])) expect(typeof v).toBe('string');
    const text = (await raw('GET', '/_cat/indices/cat-*?v')).text;
    const [header, row] = text.trimEnd().split('\n');
    expect(header.split(/\s+/).slice(0, 8).join(' ')).toBe('health status index uuid pri rep docs.count docs.deleted');
    expect(row.split(/\s+/).slice(0, 7)).toEqual(['green', 'open', 'cat-a', json[0].uuid, '1', '0', '2']);
    const bare = (await raw('GET', '/_cat/indices/cat-*?h=index,docs.count')).text;
    expect(bare.trim().split(/\s+/)).toEqual(['cat-a', '2']);
  });
});

describe('mappings', () => {
  it('maps new fields as Elasticsearch does: text with a keyword sub-field, dates detected, long and float', async () => {
    await client.index({
      index: 'dyn',
      id: '1',
      refresh: true,
      body: { msg: 'hello', when: '2024-03-01T10:00:00Z', count: 3, ratio: 1.5, ok: true, nested: { inner: 'x' } },
    });
    const props = (await client.indices.getMapping({ index: 'dyn' })).body.dyn.mappings.properties;
    expect(props.msg).toEqual({ type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } });
    expect(props.when).toEqual({ type: 'date' });
    expect(props.count).toEqual({ type: 'long' });
    expect(props.ratio).toEqual({ type: 'float' });
    expect(props.ok).toEqual({ type: 'boolean' });
    expect(props.nested).toEqual({
      properties: { inner: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } } },
    });
  });

  it('refuses a value its field cannot take, per item in a bulk', async () => {
    await client.indices.create({
      index: 'typed',
      body: { mappings: { properties: { n: { type: 'long' }, at: { type: 'date' } } } },
    });
    const r = (
      await client.bulk({
        index: 'typed',
        body: [
          { index: { _id: 'a' } },
          { n: 1 },
          { index: { _id: 'b' } },
          { n: 'not a number' },
          { index: { _id: 'c' } },
          { at: 'yesterday-ish' },
        ],
      })
    ).body;
    expect(r.errors).toBe(true);
    expect(r.items[0].index.status).toBe(201);
    expect(r.items[1].index.status).toBe(400);
    expect(r.items[1].index.error.type).toBe('document_parsing_exception');
    expect(r.items[1].index.error.reason).toMatch(/failed to parse field \[n\] of type \[long\]/);
    expect(r.items[2].index.error.reason).toMatch(/failed to parse field \[at\] of type \[date\]/);
    expect((await client.count({ index: 'typed' })).body.count).toBe(1);
  });

  it('honours dynamic: strict and dynamic: false', async () => {
    await client.indices.create({
      index: 'strict',
      body: { mappings: { dynamic: 'strict', properties: { a: { type: 'keyword' } } } },
    });
    const { status, body } = await failure(client.index({ index: 'strict', body: { a: 'x', b: 'y' } }));
    expect(status).toBe(400);
    expect(body.error.type).toBe('strict_dynamic_mapping_exception');
    expect(body.error.reason).toMatch(
      /mapping set to strict, dynamic introduction of \[b\] within \[_doc\] is not allowed/,
    );

    await client.indices.create({
      index: 'loose',
      body: { mappings: { dynamic: false, properties: { a: { type: 'keyword' } } } },
    });
    await client.index({ index: 'loose', id: '1', refresh: true, body: { a: 'x', b: 'kept in source' } });
    const mapping = (await client.indices.getMapping({ index: 'loose' })).body.loose.mappings;
    expect(Object.keys(mapping.properties)).toEqual(['a']);
    const hits = (await client.search({ index: 'loose', body: { query: { match: { b: 'kept' } } } })).body.hits;
    expect(hits.total.value).toBe(0);
    const doc = (await client.get({ index: 'loose', id: '1' })).body;
    expect(doc._source.b).toBe('kept in source');
  });

  it('adds fields with put mapping and refuses a type change', async () => {
    await client.indices.create({ index: 'grow', body: { mappings: { properties: { a: { type: 'keyword' } } } } });
    await client.indices.putMapping({ index: 'grow', body: { properties: { b: { type: 'long' } } } });
    expect(
      Object.keys((await client.indices.getMapping({ index: 'grow' })).body.grow.mappings.properties).sort(),
    ).toEqual(['a', 'b']);
    const { status, body } = await failure(
      client.indices.putMapping({ index: 'grow', body: { properties: { a: { type: 'long' } } } }),
    );
    expect(status).toBe(400);
    expect(body.error.type).toBe('illegal_argument_exception');
    expect(body.error.reason).toBe('mapper [a] cannot be changed from type [keyword] to [long]');
  });

  it('applies index templates to indices created by a write: composable by priority, else legacy', async () => {
    await client.indices.putIndexTemplate({
      name: 'logs-low',
      body: {
        index_patterns: ['tpl-logs-*'],
        priority: 1,
        template: { mappings: { properties: { level: { type: 'text' } } } },
      },
    });
    await client.indices.putIndexTemplate({
      name: 'logs-high',
      body: {
        index_patterns: ['tpl-logs-*'],
        priority: 10,
        template: { settings: { number_of_replicas: 0 }, mappings: { properties: { level: { type: 'keyword' } } } },
      },
    });
    await client.indices.putTemplate({
      name: 'legacy',
      body: { index_patterns: ['tpl-old-*'], order: 0, mappings: { properties: { level: { type: 'keyword' } } } },
    });
    await client.index({ index: 'tpl-logs-1', body: { level: 'WARN' } });
    await client.index({ index: 'tpl-old-1', body: { level: 'WARN' } });
    const m = (await client.indices.getMapping({ index: 'tpl-*' })).body;
    expect(m['tpl-logs-1'].mappings.properties.level).toEqual({ type: 'keyword' });
    expect(m['tpl-old-1'].mappings.properties.level).toEqual({ type: 'keyword' });
    expect(
      (await client.indices.getSettings({ index: 'tpl-logs-1' })).body['tpl-logs-1'].settings.index.number_of_replicas,
    ).toBe('0');
    const listed = (await client.indices.getIndexTemplate({ name: 'logs-high' })).body;
    expect(listed.index_templates[0].name).toBe('logs-high');
    expect(listed.index_templates[0].index_template.index_patterns).toEqual(['tpl-logs-*']);
    expect((await client.indices.existsTemplate({ name: 'legacy' })).statusCode).toBe(200);
    const missing = await failure(client.indices.getIndexTemplate({ name: 'nope' }));
    expect(missing.status).toBe(404);
    expect(missing.body.error.type).toBe('resource_not_found_exception');
  });
});

describe('_bulk', () => {
  it('answers each item in order, with errors: true when one failed', async () => {
    const body = [
      { index: { _index: 'bulk-a', _id: '1' } },
      { v: 1 },
      { create: { _index: 'bulk-a', _id: '1' } },
      { v: 2 },
      { create: { _index: 'bulk-a', _id: '2' } },
      { v: 3 },
      { delete: { _index: 'bulk-a', _id: '2' } },
      { delete: { _index: 'bulk-a', _id: 'never' } },
      { index: { _index: 'bulk-a', _id: '1' } },
      { v: 4 },
    ];
    const r = (await client.bulk({ body })).body;
    expect(r.errors).toBe(true);
    expect(typeof r.took).toBe('number');
    const [first, conflict, created, deleted, missing, updated] = r.items;
    expect(first.index).toMatchObject({
      _index: 'bulk-a',
      _id: '1',
      _version: 1,
      result: 'created',
      status: 201,
      _shards: { total: 2, successful: 1, failed: 0 },
      _primary_term: 1,
    });
    expect(conflict.create.status).toBe(409);
    expect(conflict.create.error.type).toBe('version_conflict_engine_exception');
    expect(conflict.create.error.reason).toMatch(
      /\[1\]: version conflict, document already exists \(current version \[1\]\)/,
    );
    expect(created.create).toMatchObject({ result: 'created', status: 201 });
    expect(deleted.delete).toMatchObject({ result: 'deleted', status: 200 });
    expect(missing.delete).toMatchObject({ result: 'not_found', status: 404 });
    expect(missing.delete.error).toBeUndefined();
    expect(updated.index).toMatchObject({ _version: 2, result: 'updated', status: 200 });
    expect((await client.get({ index: 'bulk-a', id: '1' })).body._source).toEqual({ v: 4 });
  });

  it('has no errors when every item succeeded, and takes the index from the URL', async () => {
    const r = await raw(
      'POST',
      '/bulk-b/_bulk',
      '{"index":{}}\n{"a":1}\n{"index":{"_id":"x"}}\n{"a":2}\n',
      'application/x-ndjson',
    );
    expect(r.status).toBe(200);
    const body = r.json();
    expect(body.errors).toBe(false);
    expect(body.items.map((i: { index: { _index: string } }) => i.index._index)).toEqual(['bulk-b', 'bulk-b']);
    expect(body.items[0].index._id).toMatch(/^[\w-]{20}$/);
  });

  it('wants the body to end with a newline', async () => {
    const r = await raw('POST', '/_bulk', '{"index":{"_index":"bulk-c"}}\n{"a":1}', 'application/x-ndjson');
    expect(r.status).toBe(400);
    expect(r.json().error.type).toBe('illegal_argument_exception');
    expect(r.json().error.reason).toBe('The bulk request must be terminated by a newline [\\n]');
  });

  it('refuses an unknown action', async () => {
    const r = await raw('POST', '/_bulk', '{"upsert":{"_index":"bulk-c"}}\n{"a":1}\n', 'application/x-ndjson');
    expect(r.status).toBe(400);
    expect(r.json().error.type).toBe('illegal_argument_exception');
  });
});

describe('documents', () => {
  it('indexes, gets, updates and deletes one document', async () => {
    const created = (await client.index({ index: 'docs', id: 'd1', body: { a: 1 } })).body;
    expect(created).toMatchObject({ _index: 'docs', _id: 'd1', _version: 1, result: 'created' });
    const got = (await client.get({ index: 'docs', id: 'd1' })).body;
    expect(got).toMatchObject({ _index: 'docs', _id: 'd1', _version: 1, found: true, _source: { a: 1 } });
    await client.update({ index: 'docs', id: 'd1', body: { doc: { b: 2 } } });
    expect((await client.get({ index: 'docs', id: 'd1' })).body._source).toEqual({ a: 1, b: 2 });
    const gone = (await client.delete({ index: 'docs', id: 'd1' })).body;
    expect(gone.result).toBe('deleted');
    const missing = await failure(client.get({ index: 'docs', id: 'd1' }));
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ _index: 'docs', _id: 'd1', found: false });
  });
});

describe('wire details', () => {
  it('filters responses with filter_path', async () => {
    await client.index({ index: 'fp', id: '1', refresh: true, body: { a: 1 } });
    const r = await raw('GET', '/fp/_search?filter_path=hits.hits._id,hits.total.value');
    expect(r.json()).toEqual({ hits: { total: { value: 1 }, hits: [{ _id: '1' }] } });
  });

  it('takes gzip-compressed request bodies', async () => {
    const body = gzipSync('{"index":{"_index":"gz","_id":"1"}}\n{"a":"zipped"}\n');
    const res = await fetch(`${es.url}/_bulk?refresh=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
      body,
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Body).errors).toBe(false);
    expect((await client.get({ index: 'gz', id: '1' })).body._source).toEqual({ a: 'zipped' });
  });

  it('answers a body that is not JSON with a 400 parse error', async () => {
    const r = await raw('POST', '/fp/_search', '{"query": {', 'application/json');
    expect(r.status).toBe(400);
    expect(r.json().error.type).toBe('x_content_parse_exception');
  });
});
