// Document writes: `_bulk` (NDJSON; index, create, delete and update actions; per-item results and errors with
// `errors: true`) and the single-document APIs (index, create, get, delete), in Elasticsearch 8's answer shapes.
import { randomBytes } from 'node:crypto';
import type { Cluster } from './cluster.js';
import { EsError, illegalArgument, indexNotFound } from './errors.js';
import { sourceOf, type EsIndex, type StoredDoc } from './index.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const SHARDS = { total: 2, successful: 1, failed: 0 };

// Automatic ids: 20 URL-safe characters as Elasticsearch's, from a random per-process prefix and a counter (unique
// without asking the random source for every document).
const ID_PREFIX = randomBytes(9);
let idCounter = 0;
export const autoId = (): string => {
  const buf = Buffer.alloc(15);
  ID_PREFIX.copy(buf, 0);
  buf.writeUIntBE(++idCounter, 9, 6);
  return buf.toString('base64url');
};

export function writeResult(index: EsIndex, doc: StoredDoc, result: string): Obj {
  return {
    _index: index.name,
    _id: doc.id,
    _version: doc.version,
    result,
    _shards: SHARDS,
    _seq_no: doc.seqNo,
    _primary_term: 1,
  };
}

export function indexDocument(
  cluster: Cluster,
  indexName: string,
  id: string | undefined,
  source: unknown,
  opType: 'index' | 'create',
  sourceText?: string,
): { status: number; body: Obj } {
  if (!isObj(source)) throw new EsError(400, 'mapper_parsing_exception', 'failed to parse, document is empty');
  const { index, doc, created } = cluster.write(indexName, id ?? autoId(), source, opType, sourceText);
  return { status: created ? 201 : 200, body: writeResult(index, doc, created ? 'created' : 'updated') };
}

export function deleteDocument(cluster: Cluster, indexName: string, id: string): { status: number; body: Obj } {
  const index = cluster.indices.get(indexName);
  if (!index) throw indexNotFound(indexName);
  const doc = cluster.remove(index, id);
  if (!doc) {
    return {
      status: 404,
      body: {
        _index: index.name,
        _id: id,
        _version: 1,
        result: 'not_found',
        _shards: SHARDS,
        _seq_no: index.seqNoNext(),
        _primary_term: 1,
      },
    };
  }
  return {
    status: 200,
    body: { ...writeResult(index, doc, 'deleted'), _version: doc.version + 1, _seq_no: index.seqNoNext() - 1 },
  };
}

export function getDocument(cluster: Cluster, indexName: string, id: string): { status: number; body: Obj } {
  const index = cluster.resolve(indexName)[0];
  if (!index) throw indexNotFound(indexName);
  const doc = index.get(id);
  if (!doc) return { status: 404, body: { _index: index.name, _id: id, found: false } };
  return {
    status: 200,
    body: {
      _index: index.name,
      _id: id,
      _version: doc.version,
      _seq_no: doc.seqNo,
      _primary_term: 1,
      found: true,
      _source: sourceOf(doc),
    },
  };
}

function itemError(e: unknown): { status: number; error: Obj } {
  if (e instanceof EsError) return { status: e.status, error: e.cause_() };
  return { status: 500, error: { type: 'exception', reason: e instanceof Error ? e.message : String(e) } };
}

const ACTIONS = new Set(['index', 'create', 'delete', 'update']);

/** Runs a `_bulk` body; `defaultIndex` is the index of the URL (`/<index>/_bulk`). */
export function bulk(cluster: Cluster, text: string, defaultIndex: string | undefined): Obj {
  const started = Date.now();
  if (text.length === 0) throw new EsError(400, 'parse_exception', 'request body is required');
  if (!text.endsWith('\n')) throw illegalArgument('The bulk request must be terminated by a newline [\\n]');
  const lines = text.split('\n');
  const items: Obj[] = [];
  let errors = false;
  let i = 0;
  let lineNo = 0;
  while (i < lines.length) {
    const line = lines[i++];
    lineNo++;
    if (line.trim() === '') continue;
    let action: Obj;
    try {
      action = JSON.parse(line) as Obj;
    } catch {
      throw new EsError(
        400,
        'x_content_parse_exception',
        `[${lineNo}:1] Unexpected character in action/metadata line [${lineNo}]`,
      );
    }
    if (!isObj(action) || Object.keys(action).length !== 1)
      throw illegalArgument(
        `Malformed action/metadata line [${lineNo}], expected START_OBJECT or END_OBJECT but found [${Object.keys(action ?? {}).length ? 'FIELD_NAME' : 'END_OBJECT'}]`,
      );
    const [op, meta] = Object.entries(action)[0];
    if (!ACTIONS.has(op))
      throw illegalArgument(
        `Malformed action/metadata line [${lineNo}], expected one of [create, delete, index, update] but found [${op}]`,
      );
    if (!isObj(meta))
      throw illegalArgument(
        `Malformed action/metadata line [${lineNo}], expected START_OBJECT but found [${typeof meta}]`,
      );
    for (const k of Object.keys(meta))
      if (
        ![
          '_index',
          '_id',
          '_type',
          'routing',
          'pipeline',
          'require_alias',
          'version',
          'version_type',
          'if_seq_no',
          'if_primary_term',
          'retry_on_conflict',
          'dynamic_templates',
          '_source',
        ].includes(k)
      )
        throw illegalArgument(`Action/metadata line [${lineNo}] contains an unknown parameter [${k}]`);
    const indexName = typeof meta._index === 'string' ? meta._index : defaultIndex;
    const id = meta._id === undefined || meta._id === null ? undefined : String(meta._id);
    let source: unknown;
    let sourceText: string | undefined;
    if (op !== 'delete') {
      const sourceLine = lines[i++];
      lineNo++;
      if (sourceLine === undefined || sourceLine.trim() === '')
        throw illegalArgument(`Validation Failed: 1: no requests added;`);
      try {
        source = JSON.parse(sourceLine);
        sourceText = sourceLine.trim();
      } catch {
        // A document that is not JSON fails alone, as on the real server.
        items.push({
          [op]: {
            _index: indexName,
            _id: id ?? null,
            status: 400,
            error: { type: 'document_parsing_exception', reason: `[1:1] failed to parse` },
          },
        });
        errors = true;
        continue;
      }
    }
    const res: Obj = {};
    try {
      if (!indexName)
        throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: index is missing;');
      if (op === 'delete') {
        if (id === undefined)
          throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: id is missing;');
        const index = cluster.indices.get(indexName);
        if (!index) throw indexNotFound(indexName);
        const r = deleteDocument(cluster, indexName, id);
        Object.assign(res, r.body, { status: r.status });
      } else if (op === 'update') {
        if (id === undefined)
          throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: id is missing;');
        Object.assign(res, update(cluster, indexName, id, source));
      } else {
        if (op === 'create' && id === undefined) {
          const r = indexDocument(cluster, indexName, undefined, source, 'create', sourceText);
          Object.assign(res, r.body, { status: r.status });
        } else {
          const r = indexDocument(cluster, indexName, id, source, op as 'index' | 'create', sourceText);
          Object.assign(res, r.body, { status: r.status });
        }
      }
    } catch (e) {
      errors = true;
      const { status, error } = itemError(e);
      Object.assign(res, { _index: indexName ?? null, _id: id ?? null, status, error });
    }
    items.push({ [op]: res });
  }
  return { errors, took: Date.now() - started, items };
}

function update(cluster: Cluster, indexName: string, id: string, body: unknown): Obj {
  if (!isObj(body)) throw illegalArgument('Validation Failed: 1: script or doc is missing;');
  const index = cluster.indices.get(indexName);
  const existing = index?.get(id);
  if (!existing) {
    if (body.doc_as_upsert === true && isObj(body.doc))
      return { ...indexDocument(cluster, indexName, id, body.doc, 'index').body, status: 201 };
    if (isObj(body.upsert)) return { ...indexDocument(cluster, indexName, id, body.upsert, 'index').body, status: 201 };
    throw new EsError(404, 'document_missing_exception', `[${id}]: document missing`, {
      index_uuid: index?.uuid ?? '_na_',
      shard: '0',
      index: indexName,
    });
  }
  if (!isObj(body.doc)) throw illegalArgument('Validation Failed: 1: script or doc is missing;');
  const merged = deepMerge(sourceOf(existing), body.doc);
  if (JSON.stringify(merged) === existing.sourceText)
    return { ...writeResult(index as EsIndex, existing, 'noop'), status: 200 };
  return { ...indexDocument(cluster, indexName, id, merged, 'index').body, status: 200 };
}

function deepMerge(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObj(v) && isObj(out[k]) ? deepMerge(out[k] as Obj, v) : v;
  return out;
}

export function updateDocument(
  cluster: Cluster,
  indexName: string,
  id: string,
  body: unknown,
): { status: number; body: Obj } {
  const { status, ...rest } = update(cluster, indexName, id, body);
  return { status: status as number, body: rest };
}
