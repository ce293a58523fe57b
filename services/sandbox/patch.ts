// The patch engine behind PATCH requests: JSON merge patch (RFC 7386), JSON patch (RFC 6902), Kubernetes strategic
// merge patch and server-side apply. It only computes the new object; the HTTP layer checks names and the store
// checks resourceVersion, validates and writes.
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, type StatusCause } from './errors.js';
import { apiVersionOf, type ResourceType } from './registry.js';
import type { KObject, Loose } from './types.js';

export interface PatchContext {
  rt: ResourceType;
  fieldManager?: string;
  force?: boolean;
}

const MERGE = 'application/merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';
const STRATEGIC = 'application/strategic-merge-patch+json';
const APPLY = 'application/apply-patch+yaml';

/** The patch types the real server lists as accepted: custom resources do not get strategic merge patch. */
const acceptedTypes = (rt: ResourceType) =>
  rt.crdName ? [JSON_PATCH, MERGE, APPLY] : [JSON_PATCH, MERGE, STRATEGIC, APPLY];

const unsupportedMediaType = (rt: ResourceType) =>
  new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${acceptedTypes(rt).join(', ')}`,
  );

/** Returns the new object (a fresh copy; never mutates `current`). `current` is undefined only for apply-patch creating an object. */
export function applyPatch(
  contentType: string,
  current: KObject | undefined,
  body: string,
  ctx: PatchContext,
): KObject {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (!acceptedTypes(ctx.rt).includes(type)) throw unsupportedMediaType(ctx.rt);
  if (type === APPLY) return serverSideApply(current, body, ctx);
  if (!current) throw badRequest('a patch needs an existing object');
  const base: Loose = structuredClone(current);
  switch (type) {
    case MERGE:
      return asObject(mergePatch(base, parseJsonBody(body, 'Invalid JSON Patch')));
    case JSON_PATCH:
      return asObject(jsonPatch(base, parseJsonPatch(body)));
    default:
      return asObject(strategicMerge(base, parseJsonBody(body), ctx.rt));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// JSON helpers

type JsonMap = Record<string, Loose>;

const isMap = (v: unknown): v is JsonMap => typeof v === 'object' && v !== null && !Array.isArray(v);

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (!isMap(a) || !isMap(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
}

function parseJsonBody(body: string, badMessage?: string): Loose {
  try {
    return JSON.parse(body);
  } catch (e) {
    throw badRequest(badMessage ?? `error decoding patch: ${(e as Error).message}`);
  }
}

/** A patch may leave anything at the root; the store needs an object with metadata. */
function asObject(v: Loose): KObject {
  if (!isMap(v)) throw badRequest('the patched object is not a JSON object');
  if (!isMap(v.metadata)) v.metadata = {};
  return v as KObject;
}

// ---------------------------------------------------------------------------------------------------------------
// How lists merge. Strategic merge patch reads patchMergeKey/patchStrategy tags of the Go types; server-side apply
// reads listType/listMapKey. For the builtin kinds both agree, so one table serves both (SMP uses the first key).

type ListKind = { type: 'atomic' } | { type: 'set' } | { type: 'map'; keys: string[]; defaults?: JsonMap };

const ATOMIC: ListKind = { type: 'atomic' };
const SET: ListKind = { type: 'set' };
const byKey = (...keys: string[]): ListKind => ({ type: 'map', keys });
/** Ports are keyed by number and protocol; the protocol defaults to TCP, as the server would have filled it. */
const byPortAndProtocol = (port: string): ListKind => ({
  type: 'map',
  keys: [port, 'protocol'],
  defaults: { protocol: 'TCP' },
});

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** Fields of a Container (k8s.io/api/core/v1 types.go). */
const CONTAINER_FIELDS: Record<string, ListKind> = {
  ports: byPortAndProtocol('containerPort'),
  env: byKey('name'),
  volumeMounts: byKey('mountPath'),
  volumeDevices: byKey('devicePath'),
};

/** Lists whose field name alone identifies them among the builtin kinds (PodSpec, ServiceAccount, ...). */
const NAMED_LISTS: Record<string, ListKind> = {
  volumes: byKey('name'),
  imagePullSecrets: byKey('name'),
  hostAliases: byKey('ip'),
  topologySpreadConstraints: byKey('topologyKey', 'whenUnsatisfiable'),
  schedulingGates: byKey('name'),
  resourceClaims: byKey('name'),
};

/** Status lists (PodStatus, NodeStatus, and every `conditions` keyed by type). */
const STATUS_LISTS: Record<string, ListKind> = {
  conditions: byKey('type'),
  podIPs: byKey('ip'),
  hostIPs: byKey('ip'),
  addresses: byKey('type'),
};

/** `path` is the field names from the root, without list positions. */
function listKindOf(rt: ResourceType, path: string[]): ListKind {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  // ObjectMeta is the same for every kind, custom resources included.
  if (path.length === 2 && parent === 'metadata') {
    if (last === 'finalizers') return SET;
    if (last === 'ownerReferences') return byKey('uid');
    return ATOMIC;
  }
  if (rt.crdName) return schemaListKind(rt.schema, path);
  if (CONTAINER_LISTS.has(last)) return byKey('name');
  if (CONTAINER_LISTS.has(parent)) return CONTAINER_FIELDS[last] ?? ATOMIC;
  if (parent === 'resources' && last === 'claims') return byKey('name');
  if (rt.kind === 'Service' && path.join('.') === 'spec.ports') return byPortAndProtocol('port');
  if (rt.kind === 'ServiceAccount' && path.join('.') === 'secrets') return byKey('name');
  if (rt.kind === 'Node' && path.join('.') === 'spec.podCIDRs') return SET;
  if (parent === 'status' && path.length === 2) return STATUS_LISTS[last] ?? ATOMIC;
  return NAMED_LISTS[last] ?? ATOMIC;
}

/** Custom resources say how lists merge in their schema; lists the schema does not describe are atomic. */
function schemaListKind(schema: Loose, path: string[]): ListKind {
  const node = schemaAt(schema, path);
  if (node?.['x-kubernetes-list-type'] === 'set') return SET;
  if (node?.['x-kubernetes-list-type'] === 'map' && Array.isArray(node['x-kubernetes-list-map-keys'])) {
    return byKey(...node['x-kubernetes-list-map-keys']);
  }
  return ATOMIC;
}

function schemaAt(schema: Loose, path: string[]): Loose {
  let node = schema;
  for (const name of path) {
    if (node?.type === 'array') node = node.items;
    node = node?.properties?.[name] ?? (isMap(node?.additionalProperties) ? node.additionalProperties : undefined);
  }
  return node;
}

/** LabelSelectors are atomic structs: server-side apply owns them whole instead of field by field. */
const ATOMIC_MAP_FIELDS = new Set(['selector', 'labelSelector', 'namespaceSelector', 'podSelector']);

function isAtomicMap(rt: ResourceType, path: string[]): boolean {
  if (rt.crdName) return schemaAt(rt.schema, path)?.['x-kubernetes-map-type'] === 'atomic';
  return path.length > 0 && ATOMIC_MAP_FIELDS.has(path[path.length - 1]);
}

/** The identity of a list item in a keyed list, as server-side apply writes it in `k:{...}`. */
function itemKey(item: JsonMap, kind: Extract<ListKind, { type: 'map' }>): JsonMap {
  const key: JsonMap = {};
  for (const k of [...kind.keys].sort()) {
    const v = item[k] ?? kind.defaults?.[k];
    if (v !== undefined) key[k] = v;
  }
  return key;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON merge patch (RFC 7386): maps merge, null deletes, anything else replaces.

function mergePatch(target: Loose, patch: Loose): Loose {
  if (!isMap(patch)) return patch;
  const out: JsonMap = isMap(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON patch (RFC 6902). Failures while applying are what the real server answers through
// NewGenericServerResponse(422): a generic message with the json-patch library's error as the cause.

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: Loose;
}

function parseJsonPatch(body: string): JsonPatchOp[] {
  const ops = parseJsonBody(body);
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  return ops;
}

const patchFailure = (message: string) =>
  new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
    causes: [{ reason: 'UnexpectedServerResponse', message }],
  });

/** JSON Pointer (RFC 6901) tokens: "/a~1b/c~0d" is ["a/b", "c~d"]. */
function pointerTokens(pointer: unknown): string[] {
  if (typeof pointer !== 'string') throw patchFailure('missing path');
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw patchFailure(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const isIndex = (t: string) => /^(0|[1-9]\d*)$/.test(t);

/** The container holding the pointer's last token; throws when the pointer leads nowhere. */
function resolveParent(doc: Loose, tokens: string[], pointer: string, op: string): Loose {
  let node = doc;
  for (const t of tokens.slice(0, -1)) {
    const next = Array.isArray(node) ? (isIndex(t) ? node[Number(t)] : undefined) : isMap(node) ? node[t] : undefined;
    if (next === undefined)
      throw patchFailure(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
    node = next;
  }
  return node;
}

function getAt(doc: Loose, pointer: string, op: string): Loose {
  const tokens = pointerTokens(pointer);
  if (!tokens.length) return doc;
  const parent = resolveParent(doc, tokens, pointer, op);
  const last = tokens[tokens.length - 1];
  const value = Array.isArray(parent)
    ? isIndex(last)
      ? parent[Number(last)]
      : undefined
    : isMap(parent)
      ? parent[last]
      : undefined;
  if (value === undefined)
    throw patchFailure(`${op} operation does not apply: doc is missing key: ${pointer}: missing value`);
  return value;
}

/** Returns the new document (a new root when the pointer is ""). */
function addAt(doc: Loose, pointer: string, value: Loose, op = 'add'): Loose {
  const tokens = pointerTokens(pointer);
  if (!tokens.length) return value;
  const parent = resolveParent(doc, tokens, pointer, op);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const at = last === '-' ? parent.length : isIndex(last) ? Number(last) : -1;
    if (at < 0 || at > parent.length)
      throw patchFailure(`Unable to access invalid index: ${last}: invalid index referenced`);
    parent.splice(at, 0, value);
  } else if (isMap(parent)) {
    parent[last] = value;
  } else {
    throw patchFailure(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
  }
  return doc;
}

function removeAt(doc: Loose, pointer: string, op = 'remove'): Loose {
  const tokens = pointerTokens(pointer);
  if (!tokens.length) throw patchFailure('unable to remove the whole document');
  const parent = resolveParent(doc, tokens, pointer, op);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent) && isIndex(last) && Number(last) < parent.length) parent.splice(Number(last), 1);
  else if (isMap(parent) && last in parent) delete parent[last];
  else throw patchFailure(`Unable to remove nonexistent key: ${last}: missing value`);
  return doc;
}

function jsonPatch(doc: Loose, ops: JsonPatchOp[]): Loose {
  for (const o of ops) {
    if (!isMap(o)) throw patchFailure('Unexpected kind: invalid operation');
    if (typeof o.path !== 'string') throw patchFailure(`${String(o.op)} operation missing path`);
    switch (o.op) {
      case 'add':
        doc = addAt(doc, o.path, structuredClone(requireValue(o)));
        break;
      case 'remove':
        doc = removeAt(doc, o.path);
        break;
      case 'replace': {
        const value = structuredClone(requireValue(o));
        if (o.path === '') {
          doc = value;
          break;
        }
        getAt(doc, o.path, 'replace'); // must exist
        doc = addAt(removeAt(doc, o.path, 'replace'), o.path, value, 'replace');
        break;
      }
      case 'move': {
        if (typeof o.from !== 'string') throw patchFailure('move operation missing from');
        if (o.path.startsWith(o.from + '/'))
          throw patchFailure(`Unable to move ${o.from} into its own child ${o.path}`);
        const value = getAt(doc, o.from, 'move');
        doc = addAt(removeAt(doc, o.from, 'move'), o.path, value, 'move');
        break;
      }
      case 'copy':
        if (typeof o.from !== 'string') throw patchFailure('copy operation missing from');
        doc = addAt(doc, o.path, structuredClone(getAt(doc, o.from, 'copy')), 'copy');
        break;
      case 'test': {
        const actual = testValue(doc, o.path);
        if (!deepEqual(actual, o.value ?? null)) throw patchFailure(`testing value ${o.path} failed: test failed`);
        break;
      }
      default:
        throw patchFailure(`Unexpected kind: ${String(o.op)}`);
    }
  }
  return doc;
}

function requireValue(o: JsonPatchOp): Loose {
  if (!('value' in o)) throw patchFailure(`${o.op} operation missing value`);
  return o.value;
}

/** `test` against a missing path compares with null, as the json-patch library does, then fails. */
function testValue(doc: Loose, pointer: string): Loose {
  try {
    return getAt(doc, pointer, 'test');
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Strategic merge patch: a merge patch that merges keyed lists item by item, plus the directives kubectl's
// three-way patches use.

const DELETE = Symbol('delete');
const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';
const isDirective = (k: string) =>
  k === '$patch' || k === '$retainKeys' || k.startsWith(SET_ORDER) || k.startsWith(DELETE_FROM);

function strategicMerge(base: Loose, patch: Loose, rt: ResourceType): Loose {
  if (rt.crdName) throw unsupportedMediaType(rt);
  if (!isMap(patch)) throw badRequest('unable to find api field in struct: the patch is not a JSON object');
  const out = smpMap(base, patch, [], rt);
  return out === DELETE ? {} : out;
}

/** Merges a patch map into `orig` (a copy owned by the caller); DELETE when the patch says `$patch: delete`. */
function smpMap(orig: Loose, patch: JsonMap, path: string[], rt: ResourceType): JsonMap | typeof DELETE {
  const directive = patch.$patch;
  if (directive === 'delete') return DELETE;
  if (directive === 'replace') return stripDirectives(patch);
  if (directive !== undefined && directive !== 'merge') throw badRequest(`Unknown patch type: ${String(directive)}`);

  const out: JsonMap = isMap(orig) ? { ...orig } : {};
  // $retainKeys: a union field (e.g. a Deployment's strategy, a volume's source) keeps only the listed keys.
  if (patch.$retainKeys !== undefined) {
    if (!Array.isArray(patch.$retainKeys)) throw badRequest('invalid patch: $retainKeys must be a list');
    for (const k of Object.keys(out)) if (!patch.$retainKeys.includes(k)) delete out[k];
  }
  for (const [k, values] of Object.entries(patch)) {
    if (!k.startsWith(DELETE_FROM)) continue;
    const field = k.slice(DELETE_FROM.length);
    if (!Array.isArray(values)) throw badRequest(`invalid patch: ${k} must be a list`);
    if (Array.isArray(out[field])) out[field] = out[field].filter((x: Loose) => !values.some((v) => deepEqual(v, x)));
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
    } else {
      out[k] = v;
    }
  }
  // $setElementOrder last: it orders the merged list, including items the patch did not touch.
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith(SET_ORDER)) continue;
    const field = k.slice(SET_ORDER.length);
    if (!Array.isArray(order)) throw badRequest(`invalid patch: ${k} must be a list`);
    if (Array.isArray(out[field]))
      out[field] = applyElementOrder(
        out[field],
        order,
        isMap(orig) ? orig[field] : undefined,
        listKindOf(rt, [...path, field]),
      );
  }
  return out;
}

function smpList(orig: Loose, patch: Loose[], path: string[], rt: ResourceType): Loose[] {
  // `{"$patch": "replace"}` as a list item replaces the whole list with the other items.
  if (patch.some((i) => isMap(i) && i.$patch === 'replace' && Object.keys(i).length === 1)) {
    return stripDirectives(patch.filter((i) => !(isMap(i) && i.$patch === 'replace' && Object.keys(i).length === 1)));
  }
  const kind = listKindOf(rt, path);
  const base: Loose[] = Array.isArray(orig) ? [...orig] : [];
  if (kind.type === 'set')
    return [
      ...base,
      ...patch.filter((v, i) => !base.some((b) => deepEqual(b, v)) && patch.findIndex((p) => deepEqual(p, v)) === i),
    ];
  if (kind.type === 'atomic' || !patch.every(isMap)) return stripDirectives(patch);

  const key = kind.keys[0]; // the patchMergeKey
  let out = base;
  for (const item of patch as JsonMap[]) {
    if (item[key] === undefined)
      throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const same = (x: Loose) => isMap(x) && deepEqual(x[key], item[key]);
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
function applyElementOrder(list: Loose[], order: Loose[], serverList: Loose, kind: ListKind): Loose[] {
  const idOf = (x: Loose) => (kind.type === 'map' && isMap(x) ? x[kind.keys[0]] : x);
  const orderIds = order.map(idOf);
  const orderIndex = (x: Loose) => orderIds.findIndex((id) => deepEqual(id, idOf(x)));
  const serverIndex = (x: Loose) =>
    Array.isArray(serverList) ? serverList.findIndex((s) => deepEqual(idOf(s), idOf(x))) : -1;
  const ordered = list.filter((x) => orderIndex(x) >= 0).sort((a, b) => orderIndex(a) - orderIndex(b));
  const serverOnly = list.filter((x) => orderIndex(x) < 0);
  const out: Loose[] = [];
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
function stripDirectives(v: Loose): Loose {
  if (Array.isArray(v)) return v.filter((x) => !(isMap(x) && x.$patch === 'delete')).map(stripDirectives);
  if (!isMap(v)) return v;
  const out: JsonMap = {};
  for (const [k, x] of Object.entries(v)) if (!isDirective(k) && x !== null) out[k] = stripDirectives(x);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Server-side apply. Ownership is a set of field paths per manager, stored in managedFields as FieldsV1 tries:
// path elements are `f:<field>`, `k:<key json>` (item of a keyed list), `v:<value json>` (item of a set) and
// `i:<index>`; a path that is itself owned and has children carries a `.` entry.

type FieldPath = string[]; // encoded path elements
type FieldSet = Map<string, FieldPath>; // keyed by JSON of the path

interface Manager {
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

const nowSeconds = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const pathId = (p: FieldPath) => JSON.stringify(p);

function serverSideApply(current: KObject | undefined, body: string, ctx: PatchContext): KObject {
  const { rt } = ctx;
  if (!ctx.fieldManager) {
    throw new ApiError(
      422,
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      {
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [
          {
            reason: 'FieldValueRequired',
            message: 'Required value: is required for apply patch',
            field: 'fieldManager',
          },
        ],
      },
    );
  }
  const config = parseApplyBody(body);
  if (isMap(config.metadata) && config.metadata.managedFields != null)
    throw badRequest('metadata.managedFields must be nil');
  // The main resource ignores status when the kind has a status subresource (its reset-fields strategy).
  if (rt.subresources.includes('status')) delete config.status;

  const live: Loose = current ? structuredClone(current) : {};
  const managers = readManagers(live.metadata?.managedFields);
  const me = managers.find(
    (m) => m.entry.manager === ctx.fieldManager && m.entry.operation === 'Apply' && !m.entry.subresource,
  );
  const others = managers.filter((m) => m !== me);
  const applied = appliedFields(config, rt);

  const conflicts = findConflicts(live, config, applied, others, rt);
  if (conflicts.length && !ctx.force) throw conflictError(conflicts);
  // Force: the conflicting fields change hands.
  for (const c of conflicts) {
    c.manager.fields.delete(pathId(c.path));
    c.manager.changed = true;
  }

  const merged: JsonMap = applyMerge(live, config, [], rt);
  removeDisownedFields(merged, me?.fields, applied, others, rt);

  if (!merged.apiVersion) merged.apiVersion = apiVersionOf(rt);
  if (!merged.kind) merged.kind = rt.kind;
  if (!isMap(merged.metadata)) merged.metadata = {};
  const unchanged = current !== undefined && deepEqual(withoutManagedFields(merged), withoutManagedFields(live));
  const myEntry: JsonMap = {
    manager: ctx.fieldManager,
    operation: 'Apply',
    apiVersion: typeof config.apiVersion === 'string' ? config.apiVersion : apiVersionOf(rt),
    time: nowSeconds(),
    fieldsType: 'FieldsV1',
    fieldsV1: encodeFieldsV1(applied),
  };
  // A no-op apply must not change the object (the real server drops timestamp-only managedFields changes).
  if (unchanged && me && deepEqual(me.entry.fieldsV1, myEntry.fieldsV1) && me.entry.apiVersion === myEntry.apiVersion)
    myEntry.time = me.entry.time;
  merged.metadata.managedFields = writeManagers(managers, me, myEntry);
  return merged as KObject;
}

function parseApplyBody(body: string): JsonMap {
  let doc: Loose;
  try {
    doc = parseYaml(body);
  } catch (e) {
    throw badRequest(`error decoding YAML: ${(e as Error).message}`);
  }
  if (!isMap(doc)) throw badRequest('error decoding YAML: the apply patch is not an object');
  return doc;
}

function withoutManagedFields(o: JsonMap): JsonMap {
  const { managedFields: _m, ...meta } = isMap(o.metadata) ? o.metadata : {};
  return { ...o, metadata: meta };
}

/**
 * Field ownership of a write that is not an apply (create, update, a merge/JSON/strategic patch), as the real server's
 * fieldmanager records it: the fields the write added or changed go to `manager` (operation Update, with the
 * subresource when there is one) and leave every other manager; fields it removed leave everyone. Without this, a
 * later apply could not see that `kubectl set image` or `kubectl scale`'s patch owns what it changed, and would
 * overwrite it without a conflict. `obj` gets its new managedFields; a write that changes nothing keeps them as they were.
 */
export function recordUpdate(
  rt: ResourceType,
  old: KObject | undefined,
  obj: KObject,
  manager: string,
  subresource?: string,
): void {
  // A body without managedFields keeps the stored ones (an explicit list, even empty, replaces them, as on a real server).
  const sent = obj.metadata.managedFields;
  const base = Array.isArray(sent) && sent.length && !subresource ? sent : old?.metadata.managedFields;
  const trackedOf = (o: KObject): JsonMap => {
    const { status, ...rest } = o as JsonMap;
    // The main resource never owns status when the kind has a status subresource, and the status subresource owns only status.
    if (subresource === 'status') return { status };
    return rt.subresources.includes('status') ? rest : { ...rest, status };
  };
  const now = appliedFields(trackedOf(obj), rt);
  const before = old ? appliedFields(trackedOf(old), rt) : new Map<string, FieldPath>();
  const changed: FieldSet = new Map();
  for (const [id, path] of now) {
    // A list item that was there before is not changed itself, only (maybe) its fields: they are compared one by one.
    const item = !path[path.length - 1].startsWith('f:');
    if (!before.has(id) || (!item && !deepEqual(valueAt(old, path, rt), valueAt(obj, path, rt)))) changed.set(id, path);
  }
  const removed = [...before.entries()].filter(([id]) => !now.has(id));
  if (!changed.size && !removed.length) {
    if (base !== undefined) obj.metadata.managedFields = base;
    return;
  }
  const managers = readManagers(base);
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : apiVersionOf(rt);
  const isMine = (m: Manager) =>
    m.entry.manager === manager &&
    m.entry.operation === 'Update' &&
    m.entry.apiVersion === apiVersion &&
    (m.entry.subresource ?? undefined) === subresource;
  const me = managers.find(isMine);
  for (const m of managers) {
    if (m === me) continue;
    for (const id of [...changed.keys(), ...removed.map(([rid]) => rid)]) if (m.fields.delete(id)) m.changed = true;
  }
  const mine: FieldSet = new Map(me?.fields ?? []);
  for (const [id, path] of changed) mine.set(id, path);
  for (const [id] of removed) mine.delete(id);
  const myEntry: JsonMap = {
    manager,
    operation: 'Update',
    apiVersion,
    time: nowSeconds(),
    fieldsType: 'FieldsV1',
    fieldsV1: encodeFieldsV1(mine),
    ...(subresource ? { subresource } : {}),
  };
  const out = writeManagers(managers, me, myEntry).filter((e) => e !== myEntry || mine.size > 0);
  obj.metadata.managedFields = out;
}

// --- field sets ---------------------------------------------------------------------------------------------------

/** The fields an applied configuration sets: its leaves, atomic values and list items. */
function appliedFields(config: JsonMap, rt: ResourceType): FieldSet {
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
function encodeFieldsV1(fields: FieldSet): JsonMap {
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

function readManagers(entries: Loose): Manager[] {
  if (!Array.isArray(entries)) return [];
  return entries.filter(isMap).map((entry) => ({ entry, fields: decodeFieldsV1(entry.fieldsV1), changed: false }));
}

/** Keeps the entries' order; the applying manager's entry is replaced in place or appended; emptied entries go. */
function writeManagers(managers: Manager[], me: Manager | undefined, myEntry: JsonMap): JsonMap[] {
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

function valueAt(obj: Loose, path: FieldPath, rt: ResourceType): Loose {
  const at = locate(obj, path, rt);
  return at ? at.parent[at.key] : undefined;
}

function deleteAt(obj: Loose, path: FieldPath, rt: ResourceType): void {
  const at = locate(obj, path, rt);
  if (!at) return;
  if (Array.isArray(at.parent)) at.parent.splice(at.key as number, 1);
  else delete at.parent[at.key];
}

// --- conflicts ----------------------------------------------------------------------------------------------------

interface Conflict {
  manager: Manager;
  path: FieldPath;
}

/** A field conflicts when another manager owns it and the applied value differs from the live one. */
function findConflicts(
  live: Loose,
  config: JsonMap,
  applied: FieldSet,
  others: Manager[],
  rt: ResourceType,
): Conflict[] {
  const out: Conflict[] = [];
  for (const [id, path] of applied) {
    const last = path[path.length - 1];
    if (!last.startsWith('f:')) continue; // owning a list item is not a value; its fields are checked one by one
    const liveValue = valueAt(live, path, rt);
    if (liveValue === undefined || deepEqual(liveValue, valueAt(config, path, rt))) continue;
    for (const m of others) if (m.fields.has(id)) out.push({ manager: m, path });
  }
  return out;
}

/** How the real server names a manager in conflict messages (fieldmanager's printManager). */
function managerLabel(entry: JsonMap): string {
  let label = JSON.stringify(String(entry.manager ?? ''));
  if (entry.subresource) label += ` with subresource ${JSON.stringify(String(entry.subresource))}`;
  if (entry.operation === 'Update') label += ` using ${String(entry.apiVersion)}`;
  return label;
}

/** fieldmanager's BuildManagerIdentifier: the entry as JSON without fields and time (and without apiVersion for appliers). */
function managerId(entry: JsonMap): string {
  const id: JsonMap = { manager: entry.manager, operation: entry.operation };
  if (entry.operation !== 'Apply' && entry.apiVersion) id.apiVersion = entry.apiVersion;
  if (entry.subresource) id.subresource = entry.subresource;
  return JSON.stringify(id);
}

/** A field path as structured-merge-diff prints it: `.spec.containers[name="web"].image`. */
function printPath(path: FieldPath): string {
  return path
    .map((el) => {
      const body = el.slice(2);
      if (el.startsWith('f:')) return `.${body}`;
      if (el.startsWith('v:')) return `[=${body}]`;
      if (el.startsWith('i:')) return `[${body}]`;
      const key = JSON.parse(body) as JsonMap;
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    })
    .join('');
}

function conflictError(conflicts: Conflict[]): ApiError {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${managerLabel(c.manager.entry)}`,
    field: printPath(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: ${causes[0].message}: ${causes[0].field}`;
  } else {
    // Grouped per manager, the managers in the order of their identifiers (the entry's JSON without time and fields,
    // as structured-merge-diff keys them), which sorts by name first.
    const byManager = new Map<string, { label: string; paths: string[] }>();
    for (const c of conflicts) {
      const id = managerId(c.manager.entry);
      const group = byManager.get(id) ?? { label: managerLabel(c.manager.entry), paths: [] };
      group.paths.push(printPath(c.path));
      byManager.set(id, group);
    }
    const lines = [...byManager.keys()].sort().flatMap((id) => {
      const g = byManager.get(id)!;
      return [`conflicts with ${g.label}:`, ...g.paths.map((p) => `- ${p}`)];
    });
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes });
}

// --- merging and removing ------------------------------------------------------------------------------------------

/** Merges an applied configuration into the live object: maps by field, keyed lists by key, sets as sets. */
function applyMerge(live: Loose, config: JsonMap, names: string[], rt: ResourceType): JsonMap {
  const out: JsonMap = isMap(live) ? { ...live } : {};
  for (const [k, v] of Object.entries(config)) {
    if (v === null || (names.length === 1 && names[0] === 'metadata' && k === 'managedFields')) continue;
    out[k] = applyValue(out[k], v, [...names, k], rt);
  }
  return out;
}

function applyValue(live: Loose, value: Loose, names: string[], rt: ResourceType): Loose {
  if (isMap(value)) return isAtomicMap(rt, names) ? structuredClone(value) : applyMerge(live, value, names, rt);
  if (!Array.isArray(value)) return value;
  const kind = listKindOf(rt, names);
  const base: Loose[] = Array.isArray(live) ? [...live] : [];
  if (kind.type === 'set')
    return [
      ...base,
      ...value.filter((v, i) => !base.some((b) => deepEqual(b, v)) && value.findIndex((x) => deepEqual(x, v)) === i),
    ];
  if (kind.type === 'atomic') return structuredClone(value);
  for (const item of value) {
    if (!isMap(item)) continue;
    const key = itemKey(item, kind);
    const at = base.findIndex((x) => isMap(x) && deepEqual(itemKey(x, kind), key));
    if (at >= 0) base[at] = applyMerge(base[at], item, names, rt);
    else base.push(applyMerge(undefined, item, names, rt));
  }
  return base;
}

/**
 * Fields the manager applied before but not now are removed, unless someone else still owns them (or something
 * beneath them); that is how dropping a field from a manifest deletes it on the next apply.
 */
function removeDisownedFields(
  obj: JsonMap,
  before: FieldSet | undefined,
  applied: FieldSet,
  others: Manager[],
  rt: ResourceType,
): void {
  if (!before) return;
  const stillOwned = [applied, ...others.map((m) => m.fields)];
  const ownedAtOrBelow = (path: FieldPath) =>
    stillOwned.some((set) =>
      [...set.values()].some((p) => p.length >= path.length && path.every((el, i) => p[i] === el)),
    );
  // Items are found by key, not position, so the order of removals does not matter.
  for (const path of before.values()) if (!ownedAtOrBelow(path)) deleteAt(obj, path, rt);
}
