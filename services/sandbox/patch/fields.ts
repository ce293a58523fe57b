// Server-side apply's field sets (who owns which field paths), and reading and writing values by field path.
import type { ResourceType } from '../registry.js';
import type { Loose } from '../types.js';
import { type JsonMap, isMap, deepEqual } from './json.js';
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
    if (k === 'apiVersion' || k === 'kind' || v === null) continue;
    if (k === 'metadata' && isMap(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (!UNTRACKED_META.has(mk) && mv !== null)
          collectFields(mv, ['f:metadata', `f:${mk}`], ['metadata', mk], rt, out);
      }
    } else {
      collectFields(v, [`f:${k}`], [k], rt, out);
    }
  }
  return out;
}

function collectFields(value: Loose, at: FieldPath, names: string[], rt: ResourceType, out: FieldSet): void {
  const add = (p: FieldPath) => out.set(pathId(p), p);
  if (isMap(value) && Object.keys(value).length && !isAtomicMap(rt, names)) {
    for (const [k, v] of Object.entries(value))
      if (v !== null) collectFields(v, [...at, `f:${k}`], [...names, k], rt, out);
    return;
  }
  const kind = Array.isArray(value) && value.length ? listKindOf(rt, names) : ATOMIC;
  if (kind.type === 'set') {
    for (const v of value) add([...at, `v:${JSON.stringify(v)}`]);
  } else if (kind.type === 'map') {
    for (const item of value) {
      if (!isMap(item)) continue;
      const itemPath = [...at, `k:${JSON.stringify(itemKey(item, kind))}`];
      add(itemPath);
      for (const [k, v] of Object.entries(item))
        if (v !== null) collectFields(v, [...itemPath, `f:${k}`], [...names, k], rt, out);
    }
  } else {
    add(at);
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

function decodeFieldsV1(trie: Loose, at: FieldPath = [], out: FieldSet = new Map()): FieldSet {
  if (!isMap(trie)) return out;
  const keys = Object.keys(trie);
  if (at.length && (keys.length === 0 || keys.includes('.'))) out.set(pathId(at), at);
  for (const k of keys) if (k !== '.') decodeFieldsV1(trie[k], [...at, k], out);
  return out;
}

export function readManagers(entries: Loose): Manager[] {
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
function findItem(list: Loose[], el: string, names: string[], rt: ResourceType): number {
  const body = el.slice(2);
  if (el.startsWith('i:')) return Number(body) < list.length ? Number(body) : -1;
  const wanted = JSON.parse(body);
  if (el.startsWith('v:')) return list.findIndex((x) => deepEqual(x, wanted));
  const kind = listKindOf(rt, names);
  if (kind.type !== 'map')
    return list.findIndex((x) => isMap(x) && Object.entries(wanted).every(([k, v]) => deepEqual(x[k], v)));
  return list.findIndex((x) => isMap(x) && deepEqual(itemKey(x, kind), wanted));
}

/** Walks a path; returns the container and the key/index of the last element, or undefined when it is missing. */
function locate(obj: Loose, path: FieldPath, rt: ResourceType): { parent: Loose; key: string | number } | undefined {
  let node = obj;
  const names: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const el = path[i];
    let key: string | number;
    if (el.startsWith('f:')) {
      if (!isMap(node)) return undefined;
      key = el.slice(2);
      names.push(key);
      if (!(key in node)) return undefined;
    } else {
      if (!Array.isArray(node)) return undefined;
      key = findItem(node, el, names, rt);
      if (key < 0) return undefined;
    }
    if (i === path.length - 1) return { parent: node, key };
    node = (node as Loose)[key];
  }
  return undefined;
}

export function valueAt(obj: Loose, path: FieldPath, rt: ResourceType): Loose {
  const at = locate(obj, path, rt);
  return at ? at.parent[at.key] : undefined;
}

export function deleteAt(obj: Loose, path: FieldPath, rt: ResourceType): void {
  const at = locate(obj, path, rt);
  if (!at) return;
  if (Array.isArray(at.parent)) at.parent.splice(at.key as number, 1);
  else delete at.parent[at.key];
}
