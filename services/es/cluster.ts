// The cluster's state: indices, aliases, index templates (composable `_index_template` and legacy `_template`),
// index-expression resolution (comma lists, wildcards, `-` exclusions, `_all`, ignore_unavailable,
// allow_no_indices), document writes with automatic index creation, and points in time.
import { randomBytes } from 'node:crypto';
import { EsError, alreadyExists, illegalArgument, indexNotFound } from './errors.js';
import { EsIndex, type IndexSettings, type Snapshot, type StoredDoc } from './index.js';
import { mergeMapping, validateMapping, type TypeMapping } from './mapping.js';

export interface ComposableTemplate {
  index_patterns: string[];
  template?: { settings?: Record<string, unknown>; mappings?: TypeMapping; aliases?: Record<string, unknown> };
  priority?: number;
  composed_of?: string[];
  version?: number;
  _meta?: unknown;
  data_stream?: unknown;
}

export interface LegacyTemplate {
  index_patterns: string[];
  order?: number;
  settings?: Record<string, unknown>;
  mappings?: TypeMapping;
  aliases?: Record<string, unknown>;
  version?: number;
}

export interface ResolveOptions {
  ignoreUnavailable?: boolean;
  allowNoIndices?: boolean;
  /** Whether wildcards also match hidden indices (names starting with `.`). */
  expandHidden?: boolean;
}

export interface PointInTime {
  id: string;
  snapshots: Snapshot[];
  expiresAt: number;
}

export interface WriteResult {
  index: EsIndex;
  doc: StoredDoc;
  created: boolean;
}

const INVALID_NAME_CHARS = ['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':'];

export function validateIndexName(name: string): void {
  const bad = (why: string) =>
    new EsError(400, 'invalid_index_name_exception', `Invalid index name [${name}], ${why}`, {
      index_uuid: '_na_',
      index: name,
    });
  if (name !== name.toLowerCase()) throw bad('must be lowercase');
  for (const c of INVALID_NAME_CHARS)
    if (name.includes(c))
      throw bad(`must not contain the following characters [${INVALID_NAME_CHARS.map((x) => `'${x}'`).join(',')}]`);
  if (/^[-_+]/.test(name)) throw bad("must not start with '_', '-', or '+'");
  if (name === '.' || name === '..') throw bad("must not be '.' or '..'");
  if (Buffer.byteLength(name) > 255) throw bad('index name is too long, (' + Buffer.byteLength(name) + ' > 255)');
}

/** Elasticsearch's simple wildcard (index and field patterns): `*` is any run of characters, nothing else is special. */
export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const parts = pattern.split('*');
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (!value.startsWith(first) || !value.endsWith(last) || first.length + last.length > value.length) return false;
  let pos = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const at = value.indexOf(parts[i], pos);
    if (at < 0 || at + parts[i].length > end) return false;
    pos = at + parts[i].length;
  }
  return true;
}

/** `1m`, `30s`, `500ms`, `2h`, `1d` in milliseconds. */
export function parseTimeValue(text: string, setting: string): number {
  const m = /^(\d+)(nanos|micros|ms|s|m|h|d)$/.exec(text.trim());
  if (!m) {
    throw new EsError(
      400,
      'parse_exception',
      `failed to parse setting [${setting}] with value [${text}] as a time value: unit is missing or unrecognized`,
    );
  }
  const unit = { nanos: 1e-6, micros: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]] ?? 1;
  return Number(m[1]) * unit;
}

function flattenSettings(settings: Record<string, unknown> | undefined, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings ?? {})) {
    if (v && typeof v === 'object' && !Array.isArray(v))
      Object.assign(out, flattenSettings(v as Record<string, unknown>, `${prefix}${k}.`));
    else out[prefix + k] = v;
  }
  return out;
}

export class Cluster {
  readonly indices = new Map<string, EsIndex>();
  readonly templates = new Map<string, ComposableTemplate>();
  readonly componentTemplates = new Map<string, { template: ComposableTemplate['template'] }>();
  readonly legacyTemplates = new Map<string, LegacyTemplate>();
  private readonly pits = new Map<string, PointInTime>();
  /** Incremented by every write: a point in time keeps what was visible at its generation. */
  generation = 0;
  /**
   * The Elasticsearch version this stand-in behaves as where versions differ (tests of older servers set it):
   * before 7.12 a point-in-time search gets no implicit `_shard_doc` tie-breaker.
   */
  version = '8.15.0';

  /** Whether a sorted search under a point in time gets the implicit `_shard_doc` tie-breaker (7.12 and later). */
  get implicitTiebreaker(): boolean {
    const [major = 0, minor = 0] = this.version.split('.').map(Number);
    return major > 7 || (major === 7 && minor >= 12);
  }

  /** Creates an index from a create-index body merged over the matching templates. */
  createIndex(
    name: string,
    body: { settings?: Record<string, unknown>; mappings?: unknown; aliases?: Record<string, unknown> } = {},
  ): EsIndex {
    validateIndexName(name);
    const existing = this.indices.get(name);
    if (existing) throw alreadyExists(name, existing.uuid);
    if (this.aliasTargets(name))
      throw new EsError(400, 'invalid_index_name_exception', `Invalid index name [${name}], already exists as alias`, {
        index_uuid: '_na_',
        index: name,
      });
    let settings: Record<string, unknown> = {};
    let mapping: TypeMapping = {};
    let aliases: Record<string, unknown> = {};
    const composable = this.matchingComposable(name);
    if (composable) {
      for (const part of [
        ...(composable.composed_of ?? []).map((c) => this.componentTemplates.get(c)?.template),
        composable.template,
      ]) {
        if (!part) continue;
        settings = { ...settings, ...flattenSettings(part.settings) };
        if (part.mappings) mapping = mergeMapping(mapping, validateMapping(part.mappings));
        aliases = { ...aliases, ...(part.aliases ?? {}) };
      }
    } else {
      const legacy = [...this.legacyTemplates.values()]
        .filter((t) => t.index_patterns.some((p) => globMatch(p, name)))
        .sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
      for (const t of legacy) {
        settings = { ...settings, ...flattenSettings(t.settings) };
        if (t.mappings) mapping = mergeMapping(mapping, validateMapping(t.mappings));
        aliases = { ...aliases, ...(t.aliases ?? {}) };
      }
    }
    settings = { ...settings, ...flattenSettings(body.settings) };
    if (body.mappings !== undefined) mapping = mergeMapping(mapping, validateMapping(body.mappings));
    aliases = { ...aliases, ...(body.aliases ?? {}) };
    const get = (k: string) => settings[`index.${k}`] ?? settings[k];
    const other: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(settings)) {
      const key = k.startsWith('index.') ? k.slice(6) : k;
      if (!['number_of_shards', 'number_of_replicas', 'max_result_window'].includes(key)) other[key] = v;
    }
    const shards = Number(get('number_of_shards') ?? 1);
    if (!Number.isInteger(shards) || shards < 1)
      throw illegalArgument(
        `Failed to parse value [${String(get('number_of_shards'))}] for setting [index.number_of_shards] must be >= 1`,
      );
    const indexSettings: IndexSettings = {
      number_of_shards: String(shards),
      number_of_replicas: String(get('number_of_replicas') ?? 1),
      max_result_window: Number(get('max_result_window') ?? 10_000),
      other,
    };
    const index = new EsIndex(name, indexSettings, mapping);
    for (const [alias, def] of Object.entries(aliases))
      index.aliases.set(alias, (def as Record<string, unknown>) ?? {});
    this.indices.set(name, index);
    return index;
  }

  private matchingComposable(name: string): ComposableTemplate | undefined {
    let best: ComposableTemplate | undefined;
    for (const t of this.templates.values()) {
      if (!t.index_patterns.some((p) => globMatch(p, name))) continue;
      if (!best || (t.priority ?? 0) > (best.priority ?? 0)) best = t;
    }
    return best;
  }

  putComposableTemplate(name: string, body: ComposableTemplate, create: boolean): void {
    if (create && this.templates.has(name)) throw illegalArgument(`index template [${name}] already exists`);
    const patterns = typeof body.index_patterns === 'string' ? [body.index_patterns] : body.index_patterns;
    if (!Array.isArray(patterns) || patterns.length === 0)
      throw new EsError(
        400,
        'action_request_validation_exception',
        'Validation Failed: 1: index patterns are missing;',
      );
    if (body.template?.mappings) validateMapping(body.template.mappings);
    for (const [other, t] of this.templates) {
      if (other === name || (t.priority ?? 0) !== (body.priority ?? 0)) continue;
      const overlap = t.index_patterns.filter((p) => patterns.some((q) => globMatch(p, q) || globMatch(q, p)));
      if (overlap.length)
        throw illegalArgument(
          `index template [${name}] has index patterns [${patterns.join(', ')}] matching patterns from existing templates [${other}] with patterns (${other} => [${t.index_patterns.join(', ')}]) that have the same priority [${body.priority ?? 0}], multiple index templates may not match during index creation, please use a different priority`,
        );
    }
    this.templates.set(name, { ...body, index_patterns: patterns });
  }

  putLegacyTemplate(name: string, body: LegacyTemplate & { template?: string }, create: boolean): void {
    if (create && this.legacyTemplates.has(name)) throw illegalArgument(`index_template [${name}] already exists`);
    const raw = body.index_patterns ?? body.template;
    const patterns = typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(patterns) || patterns.length === 0)
      throw new EsError(
        400,
        'action_request_validation_exception',
        'Validation Failed: 1: index patterns are missing;',
      );
    const mappings = body.mappings ? validateMapping(body.mappings) : undefined;
    this.legacyTemplates.set(name, { ...body, index_patterns: patterns, mappings });
  }

  deleteIndex(index: EsIndex): void {
    this.indices.delete(index.name);
  }

  /** Indices an alias points to, or undefined when no index has that alias. */
  aliasTargets(name: string): EsIndex[] | undefined {
    const out = [...this.indices.values()].filter((i) => i.aliases.has(name));
    return out.length ? out : undefined;
  }

  /** Resolves an index expression to concrete indices (in name order, no duplicates). */
  resolve(expression: string | undefined, opts: ResolveOptions = {}): EsIndex[] {
    const parts = !expression || expression === '_all' ? ['*'] : expression.split(',').filter((p) => p !== '');
    const chosen = new Map<string, EsIndex>();
    let sawWildcard = false;
    for (const raw of parts) {
      if (raw.startsWith('-') && sawWildcard) {
        const pattern = raw.slice(1);
        for (const name of [...chosen.keys()]) if (globMatch(pattern, name)) chosen.delete(name);
        continue;
      }
      const part = raw === '_all' ? '*' : raw;
      if (part.includes('*')) {
        sawWildcard = true;
        for (const index of this.indices.values()) {
          if (index.name.startsWith('.') && !part.startsWith('.') && !opts.expandHidden) continue;
          if (globMatch(part, index.name)) chosen.set(index.name, index);
          else for (const alias of index.aliases.keys()) if (globMatch(part, alias)) chosen.set(index.name, index);
        }
        continue;
      }
      const index = this.indices.get(part);
      if (index) {
        chosen.set(index.name, index);
        continue;
      }
      const targets = this.aliasTargets(part);
      if (targets) {
        for (const t of targets) chosen.set(t.name, t);
        continue;
      }
      if (!opts.ignoreUnavailable) throw indexNotFound(part);
    }
    if (chosen.size === 0 && opts.allowNoIndices === false) throw indexNotFound(expression || '_all');
    return [...chosen.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The index a write goes to, created (with templates) when it does not exist yet. */
  writeTarget(name: string): EsIndex {
    const existing = this.indices.get(name);
    if (existing) return existing;
    const alias = this.aliasTargets(name);
    if (alias) {
      const writable = alias.filter((i) => i.aliases.get(name)?.is_write_index === true);
      if (alias.length === 1) return alias[0];
      if (writable.length === 1) return writable[0];
      throw illegalArgument(
        `no write index is defined for alias [${name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index`,
      );
    }
    return this.createIndex(name);
  }

  write(
    indexName: string,
    id: string,
    source: Record<string, unknown>,
    opType: 'index' | 'create',
    sourceText?: string,
  ): WriteResult {
    const index = this.writeTarget(indexName);
    const existing = index.get(id);
    if (existing && opType === 'create') {
      throw new EsError(
        409,
        'version_conflict_engine_exception',
        `[${id}]: version conflict, document already exists (current version [${existing.version}])`,
        {
          index_uuid: index.uuid,
          shard: '0',
          index: index.name,
        },
      );
    }
    const doc = index.write(id, source, ++this.generation, sourceText);
    return { index, doc, created: !existing };
  }

  remove(index: EsIndex, id: string): StoredDoc | undefined {
    return index.delete(id, ++this.generation);
  }

  openPit(indices: EsIndex[], keepAliveMs: number): PointInTime {
    this.sweepPits();
    const id = randomBytes(48).toString('base64');
    const pit: PointInTime = {
      id,
      snapshots: indices.map((i) => i.snapshot(this.generation)),
      expiresAt: Date.now() + keepAliveMs,
    };
    this.pits.set(id, pit);
    return pit;
  }

  pit(id: string, keepAliveMs?: number): PointInTime {
    this.sweepPits();
    const pit = this.pits.get(id);
    if (!pit) {
      const missing = new EsError(
        404,
        'search_context_missing_exception',
        `No search context found for id [${id.length > 64 ? '0' : id}]`,
      );
      throw missing;
    }
    if (keepAliveMs !== undefined) pit.expiresAt = Date.now() + keepAliveMs;
    return pit;
  }

  closePit(id: string): boolean {
    this.sweepPits();
    return this.pits.delete(id);
  }

  closeAllPits(): number {
    const n = this.pits.size;
    this.pits.clear();
    return n;
  }

  private sweepPits(): void {
    const now = Date.now();
    for (const [id, pit] of this.pits) if (pit.expiresAt <= now) this.pits.delete(id);
  }
}
