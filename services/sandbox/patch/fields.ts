// Server-side apply's field sets (who owns which field paths), and reading and writing values by field path.
import type { ResourceType } from '../registry.js';
import { type Json, type JsonMap, isMap, deepEqual } from './json.js';
import { ATOMIC, listKindOf, isAtomicMap, itemKey } from './lists.js';

export type FieldPath = string[]; // encoded path elements
export type FieldSet = Map<string, FieldPath>; // keyed by JSON of the path

export interface Manager {
  entry: JsonMap; // the managedFields entry as stored
  fields: FieldSet;
  changed: boolean;
}

/** Fields the server never tracks (fieldmanager's StripMeta) or that apply may not set. */
const UNTRACKED_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
  'managedFields',
]);

export const nowSeconds = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
export const pathId = (p: FieldPath) => JSON.stringify(p);

// --- field sets ---------------------------------------------------------------------------------------------------

/** The fields an applied configuration sets: its leaves, atomic values and list items. */
export function appliedFields(config: JsonMap, rt: ResourceType): FieldSet {
  const out: FieldSet = new Map();
  for (const [k, v] of Object.entries(config)) {
    if (k === 'apiVersion' || k === 'kind' || v === null || v === undefined) continue;
    if (k === 'metadata' && isMap(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (!UNTRACKED_META.has(mk) && mv !== null && mv !== undefined)
          collectFields(mv, ['f:metadata', `f:${mk}`], ['metadata', mk], rt, out);
      }
    } else {
      collectFields(v, [`f:${k}`], [k], rt, out);
    }
  }
  return out;
}

function collectFields(value: Json, at: FieldPath, names: string[], rt: ResourceType, out: FieldSet): void {
  const add = (p: FieldPath) => out.set(pathId(p), p);
  if (isMap(value) && Object.keys(value).length && !isAtomicMap(rt, names)) {
    for (const [k, v] of Object.entries(value))
      if (v !== null && v !== undefined) collectFields(v, [...at, `f:${k}`], [...names, k], rt, out);
    return;
  }
  const kind = Array.isArray(value) && value.length ? listKindOf(rt, names) : ATOMIC;
  if (!Array.isArray(value) || kind.type === 'atomic') {
    add(at);
  } else if (kind.type === 'set') {
    for (const v of value) add([...at, `v:${JSON.stringify(v)}`]);
  } else if (kind.type === 'map') {
    for (const item of value) {
      if (!isMap(item)) continue;
      const itemPath = [...at, `k:${JSON.stringify(itemKey(item, kind))}`];
      add(itemPath);
      for (const [k, v] of Object.entries(item))
        if (v !== null && v !== undefined) collectFields(v, [...itemPath, `f:${k}`], [...names, k], rt, out);
    }
  }
}

/** FieldsV1 JSON: a trie of path elements; `.` marks a path that is owned itself and also has owned children. */
export function encodeFieldsV1(fields: FieldSet): JsonMap {
  interface Node {
    owned: boolean;
    children: Map<string, Node>;
  }
  const root: Node = { owned: false, children: new Map() };
  for (const path of fields.values()) {
    let node = root;
    for (const el of path) {
      let next = node.children.get(el);
      if (!next) node.children.set(el, (next = { owned: false, children: new Map() }));
      node = next;
    }
    node.owned = true;
  }
  const rank = (k: string) => '.fkvi'.indexOf(k[0]);
  const toJson = (node: Node): JsonMap => {
    const out: JsonMap = {};
    if (node.owned && node.children.size) out['.'] = {};
    const keys = [...node.children.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    for (const k of keys) out[k] = toJson(node.children.get(k)!);
    return out;
  };
  return toJson(root);
}

function decodeFieldsV1(trie: unknown, at: FieldPath = [], out: FieldSet = new Map()): FieldSet {
  if (!isMap(trie)) return out;
  const keys = Object.keys(trie);
  if (at.length && (keys.length === 0 || keys.includes('.'))) out.set(pathId(at), at);
  for (const k of keys) if (k !== '.') decodeFieldsV1(trie[k], [...at, k], out);
  return out;
}

export function readManagers(entries: unknown): Manager[] {
  if (!Array.isArray(entries)) return [];
  return entries.filter(isMap).map((entry) => ({ entry, fields: decodeFieldsV1(entry.fieldsV1), changed: false }));
}

/** Keeps the entries' order; the applying manager's entry is replaced in place or appended; emptied entries go. */
export function writeManagers(managers: Manager[], me: Manager | undefined, myEntry: JsonMap): JsonMap[] {
  const out: JsonMap[] = [];
  for (const m of managers) {
    if (m === me) out.push(myEntry);
    else if (!m.changed) out.push(m.entry);
    else if (m.fields.size) out.push({ ...m.entry, fieldsV1: encodeFieldsV1(m.fields) });
  }
  if (!me) out.push(myEntry);
  return out;
}

// --- reading and writing values by field path ------------------------------------------------------------------

/** Finds the list item a `k:`/`v:`/`i:` element names. */
function findItem(list: Json[], el: string, names: string[], rt: ResourceType): number {
  const body = el.slice(2);
  if (el.startsWith('i:')) return Number(body) < list.length ? Number(body) : -1;
  const wanted = JSON.parse(body) as Json;
  if (el.startsWith('v:')) return list.findIndex((x) => deepEqual(x, wanted));
  const kind = listKindOf(rt, names);
  if (kind.type !== 'map')
    return list.findIndex(
      (x) => isMap(x) && isMap(wanted) && Object.entries(wanted).every(([k, v]) => deepEqual(x[k], v)),
    );
  return list.findIndex((x) => isMap(x) && deepEqual(itemKey(x, kind), wanted));
}

/** Walks a path; returns the container and the key/index of the last element, or undefined when it is missing. */
type Located = { parent: JsonMap; key: string } | { parent: Json[]; key: number };

function locate(obj: unknown, path: FieldPath, rt: ResourceType): Located | undefined {
  let node = obj;
  const names: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const el = path[i];
    let at: Located;
    if (el.startsWith('f:')) {
      if (!isMap(node)) return undefined;
      const key = el.slice(2);
      names.push(key);
      if (!(key in node)) return undefined;
      at = { parent: node, key };
    } else {
      if (!Array.isArray(node)) return undefined;
      const key = findItem(node as Json[], el, names, rt);
      if (key < 0) return undefined;
      at = { parent: node as Json[], key };
    }
    if (i === path.length - 1) return at;
    node = Array.isArray(at.parent) ? at.parent[at.key as number] : at.parent[at.key as string];
  }
  return undefined;
}

/** The value at a path of an object (a stored object or a JSON document); undefined when it is missing. */
export function valueAt(obj: unknown, path: FieldPath, rt: ResourceType): Json | undefined {
  const at = locate(obj, path, rt);
  if (!at) return undefined;
  return Array.isArray(at.parent) ? at.parent[at.key as number] : at.parent[at.key as string];
}

export function deleteAt(obj: JsonMap, path: FieldPath, rt: ResourceType): void {
  const at = locate(obj, path, rt);
  if (!at) return;
  if (Array.isArray(at.parent)) at.parent.splice(at.key as number, 1);
  else delete at.parent[at.key as string];
}
