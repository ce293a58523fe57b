// Server-side apply. Ownership is a set of field paths per manager, stored in managedFields as FieldsV1 tries:
// path elements are `f:<field>`, `k:<key json>` (item of a keyed list), `v:<value json>` (item of a set) and
// `i:<index>`; a path that is itself owned and has children carries a `.` entry.
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest } from '../errors.js';
import { apiVersionOf, type ResourceType } from '../registry.js';
import type { KObject, ManagedFieldsEntry } from '../types.js';
import type { PatchContext } from '../patch.js';
import { type JsonMap, isMap, deepEqual, jsonOf, asObject } from './json.js';
import {
  type FieldPath,
  type FieldSet,
  type Manager,
  nowSeconds,
  pathId,
  appliedFields,
  encodeFieldsV1,
  readManagers,
  writeManagers,
  valueAt,
} from './fields.js';
import { findConflicts, conflictError, applyMerge, removeDisownedFields } from './conflicts.js';

export function serverSideApply(current: KObject | undefined, body: string, ctx: PatchContext): KObject {
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

  const live: JsonMap = current ? jsonOf(structuredClone(current)) : {};
  const managers = readManagers(isMap(live.metadata) ? live.metadata.managedFields : undefined);
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
  const metadata = isMap(merged.metadata) ? merged.metadata : (merged.metadata = {});
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
  metadata.managedFields = writeManagers(managers, me, myEntry);
  return asObject(merged);
}

function parseApplyBody(body: string): JsonMap {
  let doc: unknown;
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
    const { status, ...rest } = jsonOf(o);
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
  // The entries are ManagedFieldsEntry-shaped: built from the stored ones and writeManagers' own.
  obj.metadata.managedFields = out as ManagedFieldsEntry[];
}
