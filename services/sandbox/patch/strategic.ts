// Strategic merge patch: a merge patch that merges keyed lists item by item, plus the directives kubectl's
// three-way patches use.
import { badRequest } from '../errors.js';
import type { ResourceType } from '../registry.js';
import { unsupportedMediaType } from '../patch.js';
import { type Json, type JsonMap, isMap, deepEqual } from './json.js';
import { type ListKind, listKindOf, mergeSet } from './lists.js';

const DELETE = Symbol('delete');
const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';
const isDirective = (k: string) =>
  k === '$patch' || k === '$retainKeys' || k.startsWith(SET_ORDER) || k.startsWith(DELETE_FROM);

export function strategicMerge(base: JsonMap, patch: Json, rt: ResourceType): JsonMap {
  if (rt.crdName) throw unsupportedMediaType(rt);
  if (!isMap(patch)) throw badRequest('unable to find api field in struct: the patch is not a JSON object');
  const out = smpMap(base, patch, [], rt);
  return out === DELETE ? {} : out;
}

/** Merges a patch map into `orig` (a copy owned by the caller); DELETE when the patch says `$patch: delete`. */
function smpMap(orig: Json | undefined, patch: JsonMap, path: string[], rt: ResourceType): JsonMap | typeof DELETE {
  const directive = patch.$patch;
  if (directive === 'delete') return DELETE;
  if (directive === 'replace') return stripDirectives(patch) as JsonMap; // a map stays a map
  if (directive !== undefined && directive !== 'merge') throw badRequest(`Unknown patch type: ${String(directive)}`);

  const out: JsonMap = isMap(orig) ? { ...orig } : {};
  // $retainKeys: a union field (e.g. a Deployment's strategy, a volume's source) keeps only the listed keys.
  const retainKeys = patch.$retainKeys;
  if (retainKeys !== undefined) {
    if (!Array.isArray(retainKeys)) throw badRequest('invalid patch: $retainKeys must be a list');
    for (const k of Object.keys(out)) if (!retainKeys.includes(k)) delete out[k];
  }
  for (const [k, values] of Object.entries(patch)) {
    if (!k.startsWith(DELETE_FROM)) continue;
    const field = k.slice(DELETE_FROM.length);
    if (!Array.isArray(values)) throw badRequest(`invalid patch: ${k} must be a list`);
    const current = out[field];
    if (Array.isArray(current)) out[field] = current.filter((x) => !values.some((v) => deepEqual(v, x)));
  }
  for (const [k, v] of Object.entries(patch)) {
    if (isDirective(k)) continue;
    const fieldPath = [...path, k];
    if (v === null) {
      delete out[k];
    } else if (isMap(v)) {
      const merged = smpMap(out[k], v, fieldPath, rt);
      if (merged === DELETE) delete out[k];
      else out[k] = merged;
    } else if (Array.isArray(v)) {
      out[k] = smpList(out[k], v, fieldPath, rt);
    } else if (v !== undefined) {
      out[k] = v;
    }
  }
  // $setElementOrder last: it orders the merged list, including items the patch did not touch.
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith(SET_ORDER)) continue;
    const field = k.slice(SET_ORDER.length);
    if (!Array.isArray(order)) throw badRequest(`invalid patch: ${k} must be a list`);
    const merged = out[field];
    if (Array.isArray(merged))
      out[field] = applyElementOrder(
        merged,
        order,
        isMap(orig) ? orig[field] : undefined,
        listKindOf(rt, [...path, field]),
      );
  }
  return out;
}

function smpList(orig: Json | undefined, patch: Json[], path: string[], rt: ResourceType): Json[] {
  // `{"$patch": "replace"}` as a list item replaces the whole list with the other items.
  if (patch.some((i) => isMap(i) && i.$patch === 'replace' && Object.keys(i).length === 1)) {
    return stripDirectiveList(
      patch.filter((i) => !(isMap(i) && i.$patch === 'replace' && Object.keys(i).length === 1)),
    );
  }
  const kind = listKindOf(rt, path);
  const base: Json[] = Array.isArray(orig) ? [...orig] : [];
  if (kind.type === 'set') return mergeSet(base, patch);
  if (kind.type === 'atomic' || !patch.every(isMap)) return stripDirectiveList(patch);

  const key = kind.keys[0]; // the patchMergeKey
  let out = base;
  for (const item of patch as JsonMap[]) {
    if (item[key] === undefined)
      throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const same = (x: Json) => isMap(x) && deepEqual(x[key], item[key]);
    if (item.$patch === 'delete') {
      out = out.filter((x) => !same(x));
      continue;
    }
    const at = out.findIndex(same);
    const merged = smpMap(at >= 0 ? out[at] : undefined, item, path, rt);
    if (merged === DELETE) out = out.filter((x) => !same(x));
    else if (at >= 0) out[at] = merged;
    else out.push(merged);
  }
  return out;
}

/**
 * Orders a merged list as `$setElementOrder` says. Items the order names come in that order; items only the server
 * has keep their place relative to them, as in strategicpatch.normalizeElementOrder/mergeSortedSlice.
 */
function applyElementOrder(list: Json[], order: Json[], serverList: Json | undefined, kind: ListKind): Json[] {
  const idOf = (x: Json) => (kind.type === 'map' && isMap(x) ? x[kind.keys[0]] : x);
  const orderIds = order.map(idOf);
  const orderIndex = (x: Json) => orderIds.findIndex((id) => deepEqual(id, idOf(x)));
  const serverIndex = (x: Json) =>
    Array.isArray(serverList) ? serverList.findIndex((s) => deepEqual(idOf(s), idOf(x))) : -1;
  const ordered = list.filter((x) => orderIndex(x) >= 0).sort((a, b) => orderIndex(a) - orderIndex(b));
  const serverOnly = list.filter((x) => orderIndex(x) < 0);
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < ordered.length || j < serverOnly.length) {
    if (j >= serverOnly.length) out.push(ordered[i++]);
    else if (i >= ordered.length) out.push(serverOnly[j++]);
    else {
      const li = serverIndex(ordered[i]);
      const ri = serverIndex(serverOnly[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(ordered[i++]);
      else out.push(serverOnly[j++]);
    }
  }
  return out;
}

/** What a patch fragment is once it is data: no directives, no nulls (they only mean "delete" in a patch). */
function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return stripDirectiveList(v);
  if (!isMap(v)) return v;
  const out: JsonMap = {};
  for (const [k, x] of Object.entries(v))
    if (!isDirective(k) && x !== null && x !== undefined) out[k] = stripDirectives(x);
  return out;
}

function stripDirectiveList(list: Json[]): Json[] {
  return list.filter((x) => !(isMap(x) && x.$patch === 'delete')).map(stripDirectives);
}
