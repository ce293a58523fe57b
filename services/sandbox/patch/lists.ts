// How lists merge. Strategic merge patch reads patchMergeKey/patchStrategy tags of the Go types; server-side apply
// reads listType/listMapKey. For the builtin kinds both agree, so one table serves both (SMP uses the first key).
import type { ResourceType } from '../registry.js';
import { type Json, type JsonMap, isMap, deepEqual } from './json.js';

export type ListKind = { type: 'atomic' } | { type: 'set' } | { type: 'map'; keys: string[]; defaults?: JsonMap };

export const ATOMIC: ListKind = { type: 'atomic' };
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
export function listKindOf(rt: ResourceType, path: string[]): ListKind {
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
function schemaListKind(schema: JsonMap | undefined, path: string[]): ListKind {
  const node = schemaAt(schema, path);
  const mapKeys = node?.['x-kubernetes-list-map-keys'];
  if (node?.['x-kubernetes-list-type'] === 'set') return SET;
  if (node?.['x-kubernetes-list-type'] === 'map' && Array.isArray(mapKeys)) {
    return byKey(...mapKeys.filter((k): k is string => typeof k === 'string'));
  }
  return ATOMIC;
}

/** The schema node at a field path: through array items, then properties or additionalProperties. */
function schemaAt(schema: JsonMap | undefined, path: string[]): JsonMap | undefined {
  let node: JsonMap | undefined = schema;
  const mapAt = (v: Json | undefined) => (isMap(v) ? v : undefined);
  for (const name of path) {
    if (node?.type === 'array') node = mapAt(node.items);
    node = mapAt(mapAt(node?.properties)?.[name]) ?? mapAt(node?.additionalProperties);
  }
  return node;
}

/** LabelSelectors are atomic structs: server-side apply owns them whole instead of field by field. */
const ATOMIC_MAP_FIELDS = new Set(['selector', 'labelSelector', 'namespaceSelector', 'podSelector']);

export function isAtomicMap(rt: ResourceType, path: string[]): boolean {
  if (rt.crdName) return schemaAt(rt.schema, path)?.['x-kubernetes-map-type'] === 'atomic';
  return path.length > 0 && ATOMIC_MAP_FIELDS.has(path[path.length - 1]);
}

/** The identity of a list item in a keyed list, as server-side apply writes it in `k:{...}`. */
export function itemKey(item: JsonMap, kind: Extract<ListKind, { type: 'map' }>): JsonMap {
  const key: JsonMap = {};
  for (const k of [...kind.keys].sort()) {
    const v = item[k] ?? kind.defaults?.[k];
    if (v !== undefined) key[k] = v;
  }
  return key;
}

/**
 * A set-list merge, the same in server-side apply (listType=set) and strategic merge (patchStrategy=merge on a list of
 * scalars): the base items in their order, then each new item not already there, once.
 */
export function mergeSet(base: readonly Json[], items: readonly Json[]): Json[] {
  return [
    ...base,
    ...items.filter((v, i) => !base.some((b) => deepEqual(b, v)) && items.findIndex((x) => deepEqual(x, v)) === i),
  ];
}
