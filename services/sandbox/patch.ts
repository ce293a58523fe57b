// The patch engine behind PATCH requests: JSON merge patch (RFC 7386), JSON patch (RFC 6902), Kubernetes strategic
// merge patch and server-side apply. It only computes the new object; the HTTP layer checks names and the store
// checks resourceVersion, validates and writes.
//
// patch/json.ts: JSON helpers; patch/lists.ts: how lists merge; patch/merge.ts: JSON merge patch;
// patch/json-patch.ts: JSON patch; patch/strategic.ts: strategic merge patch; patch/apply.ts: server-side apply and
// the field ownership of other writes, with patch/fields.ts (field sets and paths) and patch/conflicts.ts.
import { ApiError, badRequest } from './errors.js';
import type { ResourceType } from './registry.js';
import type { KObject } from './types.js';
import { parseJsonBody, asObject, jsonOf } from './patch/json.js';
import { mergePatch } from './patch/merge.js';
import { parseJsonPatch, jsonPatch } from './patch/json-patch.js';
import { strategicMerge } from './patch/strategic.js';
import { serverSideApply } from './patch/apply.js';

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

export const unsupportedMediaType = (rt: ResourceType) =>
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
  const base = jsonOf(structuredClone(current));
  switch (type) {
    case MERGE:
      return asObject(mergePatch(base, parseJsonBody(body, 'Invalid JSON Patch')));
    case JSON_PATCH:
      return asObject(jsonPatch(base, parseJsonPatch(body)));
    default:
      return asObject(strategicMerge(base, parseJsonBody(body), ctx.rt));
  }
}
export { recordUpdate } from './patch/apply.js';
