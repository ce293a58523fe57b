// Mappings as Elasticsearch keeps them: a tree of `properties`, each field with a `type` (objects have none), multi-
// fields under `fields`, and `dynamic` (true, false, "strict", "runtime") inherited down the tree. Parsing a document
// against a mapping yields the values of every indexed leaf field and the mapping updates that dynamic mapping adds
// (a string becomes `text` with a `.keyword` sub-field, or `date` when it looks like one; numbers `long`/`float`).
import { DEFAULT_DATE_FORMAT, parseDate } from './dates.js';
import { EsError, illegalArgument } from './errors.js';

export interface FieldMapping {
  type?: string;
  properties?: Record<string, FieldMapping>;
  fields?: Record<string, FieldMapping>;
  dynamic?: boolean | string;
  format?: string;
  ignore_above?: number;
  index?: boolean;
  [extra: string]: unknown;
}

export interface TypeMapping {
  dynamic?: boolean | string;
  date_detection?: boolean;
  numeric_detection?: boolean;
  dynamic_date_formats?: string[];
  properties?: Record<string, FieldMapping>;
  _source?: unknown;
  [extra: string]: unknown;
}

export type LeafType = 'keyword' | 'text' | 'date' | 'number' | 'boolean' | 'ip';

/** A field that holds values (a multi-field such as `log.keyword` is a leaf of its own). */
export interface LeafField {
  path: string;
  /** The type as mapped (`long`, `keyword`, `date_nanos`, ...). */
  mappedType: string;
  kind: LeafType;
  format: string;
  ignoreAbove?: number;
  indexed: boolean;
}

const NUMERIC = new Set([
  'long',
  'integer',
  'short',
  'byte',
  'double',
  'float',
  'half_float',
  'scaled_float',
  'unsigned_long',
]);
const INTEGER = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const KNOWN = new Set([
  ...NUMERIC,
  'keyword',
  'constant_keyword',
  'wildcard',
  'text',
  'match_only_text',
  'date',
  'date_nanos',
  'boolean',
  'ip',
  'object',
  'nested',
  'flattened',
]);

function kindOf(type: string): LeafType {
  if (NUMERIC.has(type)) return 'number';
  if (type === 'text' || type === 'match_only_text') return 'text';
  if (type === 'date' || type === 'date_nanos') return 'date';
  if (type === 'boolean') return 'boolean';
  if (type === 'ip') return 'ip';
  return 'keyword';
}

const isObjectMapping = (f: FieldMapping) => f.type === undefined || f.type === 'object' || f.type === 'nested';

export function mapperParsing(reason: string): EsError {
  return new EsError(400, 'mapper_parsing_exception', reason);
}

/** Checks a mapping given to create-index, put-mapping or a template (types known, no conflicting parameters). */
export function validateMapping(m: unknown): TypeMapping {
  if (m === undefined || m === null) return {};
  if (typeof m !== 'object' || Array.isArray(m))
    throw mapperParsing('Failed to parse mapping: mappings must be an object');
  const mapping = m as TypeMapping;
  // A 7.x client may still send the type name level (`{_doc: {properties: ...}}`).
  const keys = Object.keys(mapping);
  if (keys.length === 1 && keys[0] === '_doc' && typeof mapping._doc === 'object') return validateMapping(mapping._doc);
  const walk = (props: Record<string, FieldMapping> | undefined, prefix: string) => {
    for (const [name, f] of Object.entries(props ?? {})) {
      if (typeof f !== 'object' || f === null)
        throw mapperParsing(`Expected map for property [fields] on field [${name}] but got a class java.lang.String`);
      if (f.type !== undefined && !KNOWN.has(String(f.type)))
        throw mapperParsing(
          `Failed to parse mapping: No handler for type [${String(f.type)}] declared on field [${name}]`,
        );
      if (f.properties) walk(f.properties, `${prefix}${name}.`);
      if (f.fields) walk(f.fields, `${prefix}${name}.`);
    }
  };
  walk(mapping.properties, '');
  return mapping;
}

/** Merges `update` into `base` (a copy); a field changing type is refused as Elasticsearch does. */
export function mergeMapping(base: TypeMapping, update: TypeMapping): TypeMapping {
  const out: TypeMapping = { ...base, ...update, properties: mergeProps(base.properties, update.properties, '') };
  if (!out.properties || Object.keys(out.properties).length === 0) delete out.properties;
  return out;
}

function mergeProps(
  a: Record<string, FieldMapping> | undefined,
  b: Record<string, FieldMapping> | undefined,
  prefix: string,
): Record<string, FieldMapping> | undefined {
  if (!b) return a ? structuredClone(a) : undefined;
  const out: Record<string, FieldMapping> = a ? structuredClone(a) : {};
  for (const [name, field] of Object.entries(b)) {
    const existing = out[name];
    if (!existing) {
      out[name] = structuredClone(field);
      continue;
    }
    const ta = existing.type ?? 'object';
    const tb = field.type ?? (field.properties ? 'object' : ta);
    if (ta !== tb) throw illegalArgument(`mapper [${prefix}${name}] cannot be changed from type [${ta}] to [${tb}]`);
    const merged: FieldMapping = { ...existing, ...field };
    if (existing.properties || field.properties)
      merged.properties = mergeProps(existing.properties, field.properties, `${prefix}${name}.`);
    if (existing.fields || field.fields) merged.fields = mergeProps(existing.fields, field.fields, `${prefix}${name}.`);
    out[name] = merged;
  }
  return out;
}

/** Every leaf field of a mapping by its full path, multi-fields included. */
export function leavesOf(mapping: TypeMapping): Map<string, LeafField> {
  const leaves = new Map<string, LeafField>();
  const addLeaf = (path: string, f: FieldMapping) => {
    const type = String(f.type);
    leaves.set(path, {
      path,
      mappedType: type,
      kind: kindOf(type),
      format: f.format ?? DEFAULT_DATE_FORMAT,
      ignoreAbove: typeof f.ignore_above === 'number' ? f.ignore_above : undefined,
      indexed: f.index !== false,
    });
    for (const [sub, sf] of Object.entries(f.fields ?? {})) addLeaf(`${path}.${sub}`, sf);
  };
  const walk = (props: Record<string, FieldMapping> | undefined, prefix: string) => {
    for (const [name, f] of Object.entries(props ?? {})) {
      const path = prefix + name;
      if (isObjectMapping(f)) walk(f.properties, `${path}.`);
      else addLeaf(path, f);
    }
  };
  walk(mapping.properties, '');
  return leaves;
}

/** Paths of the object fields (for `exists` on an object). */
export function objectPaths(mapping: TypeMapping): Set<string> {
  const out = new Set<string>();
  const walk = (props: Record<string, FieldMapping> | undefined, prefix: string) => {
    for (const [name, f] of Object.entries(props ?? {})) {
      if (isObjectMapping(f)) {
        out.add(prefix + name);
        walk(f.properties, `${prefix}${name}.`);
      }
    }
  };
  walk(mapping.properties, '');
  return out;
}

export type LeafValue = string | number;

export interface ParsedDocument {
  /** Values per leaf path (multi-fields included), in document order. */
  values: Map<string, LeafValue[]>;
  /** What dynamic mapping added, or undefined. */
  mappingUpdate?: TypeMapping;
}

const DYNAMIC_DATE_FORMATS = ['strict_date_optional_time', 'yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z'];

function docParsing(reason: string, cause?: EsError): EsError {
  return new EsError(400, 'document_parsing_exception', reason, {}, cause);
}

function dynamicMappingFor(value: unknown, mapping: TypeMapping): FieldMapping | undefined {
  if (typeof value === 'string') {
    if (mapping.date_detection !== false) {
      for (const f of mapping.dynamic_date_formats ?? DYNAMIC_DATE_FORMATS)
        if (!Number.isNaN(parseDate(value, f))) return { type: 'date' };
    }
    if (mapping.numeric_detection && value.trim() !== '' && !Number.isNaN(Number(value)))
      return { type: Number.isInteger(Number(value)) ? 'long' : 'float' };
    return { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
  }
  if (typeof value === 'number') return { type: Number.isInteger(value) ? 'long' : 'float' };
  if (typeof value === 'boolean') return { type: 'boolean' };
  if (value && typeof value === 'object') return { properties: {} };
  return undefined;
}

/**
 * Parses a document's source against a mapping. Throws Elasticsearch's document_parsing_exception (a value a field
 * cannot take) and strict_dynamic_mapping_exception (a new field under `dynamic: strict`).
 */
export function parseDocument(source: Record<string, unknown>, mapping: TypeMapping, id: string): ParsedDocument {
  // Most documents add no field: they are parsed against the mapping itself, and only one that does is parsed again
  // against a copy the new fields go into.
  try {
    return parseWith(source, mapping, id, false);
  } catch (e) {
    if (e !== NEEDS_UPDATE) throw e;
    return parseWith(source, structuredClone(mapping), id, true);
  }
}

const NEEDS_UPDATE = Symbol('mapping update');

function parseWith(source: Record<string, unknown>, root: TypeMapping, id: string, mutable: boolean): ParsedDocument {
  const values = new Map<string, LeafValue[]>();
  const writable = () => {
    if (!mutable) throw NEEDS_UPDATE;
  };
  if (!root.properties) {
    writable();
    root.properties = {};
  }
  let changed = false;

  const push = (path: string, v: LeafValue) => {
    const list = values.get(path);
    if (list) list.push(v);
    else values.set(path, [v]);
  };

  const leafValue = (path: string, f: FieldMapping, raw: unknown) => {
    if (raw === null || raw === undefined) return;
    const type = String(f.type);
    const kind = kindOf(type);
    const preview = typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
    const bad = (cause: EsError) =>
      docParsing(
        `[1:2] failed to parse field [${path}] of type [${type}] in document with id '${id}'. Preview of field's value: '${preview}'`,
        cause,
      );
    if (typeof raw === 'object') {
      throw docParsing(
        `[1:2] failed to parse field [${path}] of type [${type}] in document with id '${id}'. Preview of field's value: '${preview}'`,
        illegalArgument(`Can't get text on a START_OBJECT at 1:2`),
      );
    }
    if (f.index === false && kind !== 'keyword') return;
    switch (kind) {
      case 'keyword':
      case 'ip': {
        const s = String(raw);
        if (typeof f.ignore_above === 'number' && s.length > f.ignore_above) return;
        push(path, s);
        break;
      }
      case 'text':
        push(path, String(raw));
        break;
      case 'date': {
        const format = f.format ?? DEFAULT_DATE_FORMAT;
        const t = parseDate(raw, format);
        if (Number.isNaN(t))
          throw bad(illegalArgument(`failed to parse date field [${String(raw)}] with format [${format}]`));
        push(path, t);
        break;
      }
      case 'number': {
        const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
        if (!Number.isFinite(n)) throw bad(illegalArgument(`For input string: "${String(raw)}"`));
        push(path, INTEGER.has(type) ? Math.trunc(n) : n);
        break;
      }
      case 'boolean': {
        if (raw === true || raw === 'true') push(path, 1);
        else if (raw === false || raw === 'false' || raw === '') push(path, 0);
        else
          throw bad(illegalArgument(`Failed to parse value [${String(raw)}] as only [true] or [false] are allowed.`));
        break;
      }
    }
    for (const [sub, sf] of Object.entries(f.fields ?? {})) leafValue(`${path}.${sub}`, sf, raw);
  };

  const walk = (
    obj: Record<string, unknown>,
    props: Record<string, FieldMapping>,
    prefix: string,
    dynamic: boolean | string,
  ) => {
    for (const [rawKey, value] of Object.entries(obj)) {
      // A dotted key is the same as nested objects: `{"a.b": 1}` is `{"a": {"b": 1}}`.
      const parts = rawKey.split('.');
      if (parts.some((p) => p === ''))
        throw docParsing(`[1:2] field name cannot contain only whitespace or dots: ['${rawKey}']`);
      let container = props;
      let path = prefix;
      let dyn = dynamic;
      let skip = false;
      for (let i = 0; i < parts.length - 1; i++) {
        path += parts[i];
        let f = container[parts[i]];
        if (!f) {
          if (dyn === 'strict')
            throw new EsError(
              400,
              'strict_dynamic_mapping_exception',
              `[1:2] mapping set to strict, dynamic introduction of [${parts[i]}] within [${prefix.slice(0, -1) || '_doc'}] is not allowed`,
            );
          if (dyn === false || dyn === 'false' || dyn === 'runtime') {
            skip = true;
            break;
          }
          writable();
          f = container[parts[i]] = { properties: {} };
          changed = true;
        }
        if (!isObjectMapping(f))
          throw docParsing(
            `[1:2] Could not dynamically add mapping for field [${path}.${parts[i + 1]}]. Existing mapping for [${path}] must be of type object but found [${f.type}].`,
          );
        if (!f.properties) {
          writable();
          f.properties = {};
        }
        if (f.dynamic !== undefined) dyn = f.dynamic;
        container = f.properties;
        path += '.';
      }
      if (skip) continue;
      const name = parts[parts.length - 1];
      path += name;
      const items = Array.isArray(value) ? value.flat(Infinity) : [value];
      for (const item of items) {
        let f = container[name];
        if (!f) {
          if (item === null || item === undefined) continue;
          if (dyn === 'strict')
            throw new EsError(
              400,
              'strict_dynamic_mapping_exception',
              `[1:2] mapping set to strict, dynamic introduction of [${name}] within [${prefix.slice(0, -1) || '_doc'}] is not allowed`,
            );
          if (dyn === false || dyn === 'false' || dyn === 'runtime') continue;
          const dm = dynamicMappingFor(item, root);
          if (!dm) continue;
          writable();
          f = container[name] = dm;
          changed = true;
        }
        if (isObjectMapping(f)) {
          if (item === null || item === undefined) continue;
          if (typeof item !== 'object')
            throw docParsing(
              `[1:2] object mapping for [${path}] tried to parse field [${name}] as object, but found a concrete value`,
            );
          if (!f.properties) {
            writable();
            f.properties = {};
          }
          walk(item as Record<string, unknown>, f.properties, `${path}.`, f.dynamic ?? dyn);
        } else {
          leafValue(path, f, item);
        }
      }
    }
  };
  walk(source, root.properties, '', root.dynamic ?? true);
  return { values, mappingUpdate: changed ? root : undefined };
}
