// Index administration in Elasticsearch 8's answer shapes: create/get/delete/exists, mappings, settings, aliases,
// index templates (composable, component and legacy), cluster health, refresh, and the `_cat` tables.
import { globMatch, type Cluster, type ComposableTemplate, type LegacyTemplate } from './cluster.js';
import { EsError, illegalArgument, indexNotFound } from './errors.js';
import type { EsIndex } from './index.js';
import { mergeMapping, validateMapping } from './mapping.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export const CLUSTER_NAME = 'elasticsearch';

function nest(flat: Record<string, unknown>): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(flat)) {
    const parts = k.split('.');
    let o = out;
    for (const p of parts.slice(0, -1)) o = (o[p] = isObj(o[p]) ? o[p] : {}) as Obj;
    o[parts[parts.length - 1]] = typeof v === 'string' ? v : Array.isArray(v) ? v.map(String) : String(v);
  }
  return out;
}

export function settingsOf(index: EsIndex): Obj {
  return {
    index: {
      ...nest(index.settings.other),
      routing: { allocation: { include: { _tier_preference: 'data_content' } } },
      number_of_shards: index.settings.number_of_shards,
      provided_name: index.name,
      ...(index.settings.max_result_window !== 10_000
        ? { max_result_window: String(index.settings.max_result_window) }
        : {}),
      creation_date: String(index.createdAt),
      number_of_replicas: index.settings.number_of_replicas,
      uuid: index.uuid,
      version: { created: '8500003' },
    },
  };
}

export function getIndices(cluster: Cluster, expression: string, params: URLSearchParams): Obj {
  const indices = cluster.resolve(expression, {
    ignoreUnavailable: params.get('ignore_unavailable') === 'true',
    allowNoIndices: params.get('allow_no_indices') !== 'false',
  });
  const out: Obj = {};
  for (const i of indices)
    out[i.name] = { aliases: Object.fromEntries(i.aliases), mappings: i.mapping, settings: settingsOf(i) };
  return out;
}

export function createIndex(cluster: Cluster, name: string, body: unknown): Obj {
  if (body !== undefined && !isObj(body)) throw new EsError(400, 'parse_exception', 'request body must be an object');
  const b = (body ?? {}) as Obj;
  for (const k of Object.keys(b))
    if (!['settings', 'mappings', 'aliases'].includes(k)) {
      // Settings given at the top level (`{"number_of_shards": 1}`) are taken as settings, as Elasticsearch does.
      if (k.startsWith('index.') || ['number_of_shards', 'number_of_replicas'].includes(k)) continue;
      throw new EsError(400, 'parse_exception', `unknown key [${k}] for create index`);
    }
  const topSettings = Object.fromEntries(
    Object.entries(b).filter(([k]) => !['settings', 'mappings', 'aliases'].includes(k)),
  );
  cluster.createIndex(name, {
    settings: { ...topSettings, ...(isObj(b.settings) ? b.settings : {}) },
    mappings: b.mappings,
    aliases: isObj(b.aliases) ? b.aliases : undefined,
  });
  return { acknowledged: true, shards_acknowledged: true, index: name };
}

export function deleteIndices(cluster: Cluster, expression: string, params: URLSearchParams): Obj {
  const indices = cluster.resolve(expression, {
    ignoreUnavailable: params.get('ignore_unavailable') === 'true',
    allowNoIndices: params.get('allow_no_indices') !== 'false',
  });
  for (const i of indices) cluster.deleteIndex(i);
  return { acknowledged: true };
}

export function getMapping(cluster: Cluster, expression: string | undefined, params: URLSearchParams): Obj {
  const indices = cluster.resolve(expression, {
    ignoreUnavailable: params.get('ignore_unavailable') === 'true',
    allowNoIndices: params.get('allow_no_indices') !== 'false',
  });
  const out: Obj = {};
  for (const i of indices) out[i.name] = { mappings: i.mapping };
  return out;
}

export function putMapping(cluster: Cluster, expression: string, body: unknown): Obj {
  const mapping = validateMapping(body);
  const indices = cluster.resolve(expression);
  // Merged for every index before any changes: a conflict leaves them all as they were.
  const merged = indices.map((i) => [i, mergeMapping(i.mapping, mapping)] as const);
  for (const [i, m] of merged) i.setMapping(m);
  return { acknowledged: true };
}

export function getSettings(cluster: Cluster, expression: string | undefined): Obj {
  const out: Obj = {};
  for (const i of cluster.resolve(expression)) out[i.name] = { settings: settingsOf(i) };
  return out;
}

export function putSettings(cluster: Cluster, expression: string | undefined, body: unknown): Obj {
  if (!isObj(body)) throw illegalArgument('request body is required');
  const src = isObj(body.settings) ? body.settings : body;
  const flat: Record<string, unknown> = {};
  const walk = (o: Obj, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      if (isObj(v)) walk(v, `${prefix}${k}.`);
      else flat[(prefix + k).replace(/^index\./, '')] = v;
    }
  };
  walk(src, '');
  const indices = cluster.resolve(expression);
  if ('number_of_shards' in flat)
    throw illegalArgument(
      `Can't update non dynamic settings [[index.number_of_shards]] for open indices [${indices.map((i) => `[${i.name}/${i.uuid}]`).join(', ')}]`,
    );
  for (const i of indices) {
    for (const [k, v] of Object.entries(flat)) {
      if (k === 'number_of_replicas') i.settings.number_of_replicas = String(v);
      else if (k === 'max_result_window') i.settings.max_result_window = Number(v);
      else if (v === null) delete i.settings.other[k];
      else i.settings.other[k] = v;
    }
  }
  return { acknowledged: true };
}

export function updateAliases(cluster: Cluster, body: unknown): Obj {
  if (!isObj(body) || !Array.isArray(body.actions))
    throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: no alias actions;');
  for (const action of body.actions) {
    if (!isObj(action)) continue;
    const [op, a] = Object.entries(action)[0] ?? [];
    if (!isObj(a)) continue;
    const indexExpr = a.index ?? (Array.isArray(a.indices) ? a.indices.join(',') : undefined);
    const aliases = a.alias !== undefined ? [String(a.alias)] : Array.isArray(a.aliases) ? a.aliases.map(String) : [];
    const indices = cluster.resolve(indexExpr as string | undefined);
    for (const i of indices) {
      for (const alias of aliases) {
        if (op === 'add') {
          const def: Obj = {};
          if (a.is_write_index !== undefined) def.is_write_index = a.is_write_index;
          if (a.filter !== undefined) def.filter = a.filter;
          i.aliases.set(alias, def);
        } else if (op === 'remove') i.aliases.delete(alias);
      }
      if (op === 'remove_index') cluster.deleteIndex(i);
    }
  }
  return { acknowledged: true };
}

export function getAliases(
  cluster: Cluster,
  expression: string | undefined,
  name: string | undefined,
): { status: number; body: Obj } {
  const out: Obj = {};
  for (const i of cluster.resolve(expression, { ignoreUnavailable: true })) {
    const entries = [...i.aliases].filter(
      ([a]) => name === undefined || name.split(',').some((n) => n === a || globMatch(n, a)),
    );
    if (name !== undefined && entries.length === 0) continue;
    out[i.name] = { aliases: Object.fromEntries(entries) };
  }
  if (name !== undefined && Object.keys(out).length === 0)
    return { status: 404, body: { error: `alias [${name}] missing`, status: 404 } };
  return { status: 200, body: out };
}

export function putIndexTemplate(cluster: Cluster, name: string, body: unknown, create: boolean): Obj {
  if (!isObj(body)) throw new EsError(400, 'parse_exception', 'request body is required');
  for (const k of Object.keys(body))
    if (
      ![
        'index_patterns',
        'template',
        'priority',
        'composed_of',
        'version',
        '_meta',
        'data_stream',
        'allow_auto_create',
        'ignore_missing_component_templates',
        'deprecated',
      ].includes(k)
    )
      throw new EsError(400, 'x_content_parse_exception', `[1:2] [index_template] unknown field [${k}]`);
  cluster.putComposableTemplate(name, body as unknown as ComposableTemplate, create);
  return { acknowledged: true };
}

export function getIndexTemplates(cluster: Cluster, name: string | undefined): Obj {
  const matches = [...cluster.templates].filter(
    ([n]) => name === undefined || name.split(',').some((p) => p === n || globMatch(p, n)),
  );
  if (name !== undefined && !name.includes('*') && matches.length === 0)
    throw new EsError(404, 'resource_not_found_exception', `index template matching [${name}] not found`);
  return {
    index_templates: matches.map(([n, t]) => ({
      name: n,
      index_template: {
        index_patterns: t.index_patterns,
        ...(t.template ? { template: t.template } : {}),
        composed_of: t.composed_of ?? [],
        ...(t.priority !== undefined ? { priority: t.priority } : {}),
        ...(t.version !== undefined ? { version: t.version } : {}),
        ...(t._meta !== undefined ? { _meta: t._meta } : {}),
        ...(t.data_stream !== undefined ? { data_stream: t.data_stream } : {}),
      },
    })),
  };
}

export function deleteIndexTemplate(cluster: Cluster, name: string): Obj {
  const names = [...cluster.templates.keys()].filter((n) => name.split(',').some((p) => p === n || globMatch(p, n)));
  if (names.length === 0) throw new EsError(404, 'resource_not_found_exception', `index_template [${name}] missing`);
  for (const n of names) cluster.templates.delete(n);
  return { acknowledged: true };
}

export function putLegacyTemplate(cluster: Cluster, name: string, body: unknown, create: boolean): Obj {
  if (!isObj(body)) throw new EsError(400, 'parse_exception', 'request body is required');
  cluster.putLegacyTemplate(name, body as unknown as LegacyTemplate & { template?: string }, create);
  return { acknowledged: true };
}

export function getLegacyTemplates(cluster: Cluster, name: string | undefined): { status: number; body: Obj } {
  const out: Obj = {};
  for (const [n, t] of cluster.legacyTemplates) {
    if (name !== undefined && !name.split(',').some((p) => p === n || globMatch(p, n))) continue;
    const flat: Record<string, unknown> = {};
    const walk = (o: Obj, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        if (isObj(v)) walk(v, `${prefix}${k}.`);
        else flat[(prefix + k).replace(/^index\./, '')] = v;
      }
    };
    walk(t.settings ?? {}, '');
    out[n] = {
      order: t.order ?? 0,
      ...(t.version !== undefined ? { version: t.version } : {}),
      index_patterns: t.index_patterns,
      settings: Object.keys(flat).length ? { index: nest(flat) } : {},
      mappings: t.mappings ?? {},
      aliases: t.aliases ?? {},
    };
  }
  return { status: name !== undefined && Object.keys(out).length === 0 ? 404 : 200, body: out };
}

export function deleteLegacyTemplate(cluster: Cluster, name: string): Obj {
  if (!cluster.legacyTemplates.delete(name))
    throw new EsError(404, 'index_template_missing_exception', `index_template [${name}] missing`);
  return { acknowledged: true };
}

export function clusterHealth(
  cluster: Cluster,
  expression: string | undefined,
  params: URLSearchParams,
): { status: number; body: Obj } {
  const indices = expression ? cluster.resolve(expression, { ignoreUnavailable: true }) : [...cluster.indices.values()];
  if (expression && indices.length === 0 && !expression.includes('*')) {
    return { status: 408, body: healthBody(indices, 'red', true) };
  }
  const green = indices.every((i) => i.settings.number_of_replicas === '0');
  const status = green ? 'green' : 'yellow';
  const wanted = params.get('wait_for_status');
  const timedOut = wanted === 'green' && !green;
  return { status: timedOut ? 408 : 200, body: healthBody(indices, status, timedOut) };
}

function healthBody(indices: EsIndex[], status: string, timedOut: boolean): Obj {
  const primaries = indices.reduce((n, i) => n + Number(i.settings.number_of_shards), 0);
  const unassigned = indices.reduce(
    (n, i) => n + Number(i.settings.number_of_shards) * Number(i.settings.number_of_replicas),
    0,
  );
  return {
    cluster_name: CLUSTER_NAME,
    status,
    timed_out: timedOut,
    number_of_nodes: 1,
    number_of_data_nodes: 1,
    active_primary_shards: primaries,
    active_shards: primaries,
    relocating_shards: 0,
    initializing_shards: 0,
    unassigned_shards: unassigned,
    unassigned_primary_shards: 0,
    delayed_unassigned_shards: 0,
    number_of_pending_tasks: 0,
    number_of_in_flight_fetch: 0,
    task_max_waiting_in_queue_millis: 0,
    active_shards_percent_as_number: primaries + unassigned === 0 ? 100 : (100 * primaries) / (primaries + unassigned),
  };
}

/** Sizes as Elasticsearch's ByteSizeValue prints them: `225b`, `4.5kb`, `1mb`. */
export function byteSize(bytes: number): string {
  const units = ['b', 'kb', 'mb', 'gb', 'tb', 'pb'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const text = u === 0 ? String(v) : String(Math.round(v * 10) / 10);
  return `${text}${units[u]}`;
}

/** _cat/indices columns, in Elasticsearch's order; all but the first four are numbers. */
const CAT_INDICES_COLUMNS = [
  'health',
  'status',
  'index',
  'uuid',
  'pri',
  'rep',
  'docs.count',
  'docs.deleted',
  'store.size',
  'pri.store.size',
  'dataset.size',
];
const NUMERIC_COLUMNS = new Set(CAT_INDICES_COLUMNS.slice(4));

export function catIndices(
  cluster: Cluster,
  expression: string | undefined,
  params: URLSearchParams,
): { json: boolean; body: unknown } {
  const indices = cluster.resolve(expression, {
    ignoreUnavailable: false,
    allowNoIndices: true,
    expandHidden: params.get('expand_wildcards') === 'all',
  });
  const bytes = params.get('bytes');
  const size = (n: number) =>
    bytes === 'b'
      ? String(n)
      : bytes === 'kb'
        ? String(Math.floor(n / 1024))
        : bytes === 'mb'
          ? String(Math.floor(n / 1048576))
          : byteSize(n);
  const all = CAT_INDICES_COLUMNS;
  let rows = indices.map((i) => ({
    health: i.settings.number_of_replicas === '0' ? 'green' : 'yellow',
    status: 'open',
    index: i.name,
    uuid: i.uuid,
    pri: i.settings.number_of_shards,
    rep: i.settings.number_of_replicas,
    'docs.count': String(i.liveCount),
    'docs.deleted': String(i.deletedCount),
    'store.size': size(i.storeBytes),
    'pri.store.size': size(i.storeBytes),
    'dataset.size': size(i.storeBytes),
  })) as Record<string, string>[];
  const health = params.get('health');
  if (health) rows = rows.filter((r) => r.health === health);
  const sortBy = params.get('s');
  if (sortBy) {
    const keys = sortBy.split(',').map((k) => k.split(':'));
    rows.sort((a, b) => {
      for (const [k, dir] of keys) {
        const x = a[k] ?? '';
        const y = b[k] ?? '';
        const d =
          NUMERIC_COLUMNS.has(k) && /^\d+$/.test(x) && /^\d+$/.test(y)
            ? Number(x) - Number(y)
            : x < y
              ? -1
              : x > y
                ? 1
                : 0;
        if (d !== 0) return dir === 'desc' ? -d : d;
      }
      return 0;
    });
  }
  const h = params.get('h');
  const columns = h ? h.split(',').filter((c) => all.includes(c)) : all;
  if (params.get('format') === 'json')
    return { json: true, body: rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c]]))) };
  const table = rows.map((r) => columns.map((c) => r[c] ?? ''));
  const verbose = params.has('v') && params.get('v') !== 'false';
  if (verbose) table.unshift(columns);
  const widths = columns.map((_c, i) => Math.max(0, ...table.map((row) => row[i].length)));
  const text = table
    .map(
      (row) =>
        row
          .map((cell, i) =>
            NUMERIC_COLUMNS.has(columns[i]) && !(verbose && row === table[0])
              ? cell.padStart(widths[i])
              : cell.padEnd(widths[i]),
          )
          .join(' ')
          .trimEnd() + '\n',
    )
    .join('');
  return { json: false, body: text };
}

export function refresh(cluster: Cluster, expression: string | undefined): Obj {
  const n = cluster.resolve(expression, { ignoreUnavailable: true }).length;
  return { _shards: { total: n * 2, successful: n, failed: 0 } };
}

export function requireIndex(cluster: Cluster, name: string): EsIndex {
  const index = cluster.indices.get(name);
  if (!index) throw indexNotFound(name);
  return index;
}

/** The analyzer of an index's field, for `/{index}/_analyze` with `field`: text fields standard, the others keyword. */
export function fieldAnalyzer(cluster: Cluster, expression: string): (field: string) => string {
  const [index] = cluster.resolve(expression);
  return (field) => {
    const kind = index?.leaves.get(field)?.kind;
    return kind === undefined || kind === 'text' ? 'standard' : 'keyword';
  };
}
