// Server-side apply's conflicts, and merging an applied configuration into the live object.
import { ApiError, type StatusCause } from '../errors.js';
import type { ResourceType } from '../registry.js';
import { type Json, type JsonMap, isMap, deepEqual } from './json.js';
import { listKindOf, isAtomicMap, itemKey, mergeSet } from './lists.js';
import { type FieldPath, type FieldSet, type Manager, valueAt, deleteAt } from './fields.js';

// --- conflicts ----------------------------------------------------------------------------------------------------

interface Conflict {
  manager: Manager;
  path: FieldPath;
}

/** A field conflicts when another manager owns it and the applied value differs from the live one. */
export function findConflicts(
  live: JsonMap,
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

export function conflictError(conflicts: Conflict[]): ApiError {
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
export function applyMerge(live: Json | undefined, config: JsonMap, names: string[], rt: ResourceType): JsonMap {
  const out: JsonMap = isMap(live) ? { ...live } : {};
  for (const [k, v] of Object.entries(config)) {
    if (v === null || v === undefined || (names.length === 1 && names[0] === 'metadata' && k === 'managedFields'))
      continue;
    out[k] = applyValue(out[k], v, [...names, k], rt);
  }
  return out;
}

function applyValue(live: Json | undefined, value: Json, names: string[], rt: ResourceType): Json {
  if (isMap(value)) return isAtomicMap(rt, names) ? structuredClone(value) : applyMerge(live, value, names, rt);
  if (!Array.isArray(value)) return value;
  const kind = listKindOf(rt, names);
  const base: Json[] = Array.isArray(live) ? [...live] : [];
  if (kind.type === 'set') return mergeSet(base, value);
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
export function removeDisownedFields(
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
