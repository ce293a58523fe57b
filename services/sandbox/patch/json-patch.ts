// JSON patch (RFC 6902). Failures while applying are what the real server answers through
// NewGenericServerResponse(422): a generic message with the json-patch library's error as the cause.
import { ApiError, badRequest } from '../errors.js';
import { type Json, isMap, deepEqual, parseJsonBody } from './json.js';

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

export function parseJsonPatch(body: string): JsonPatchOp[] {
  const ops = parseJsonBody(body);
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  // Each operation is checked as it is applied (jsonPatch refuses what is not an operation).
  return ops as unknown as JsonPatchOp[];
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
function resolveParent(doc: Json, tokens: string[], pointer: string, op: string): Json {
  let node = doc;
  for (const t of tokens.slice(0, -1)) {
    const next = Array.isArray(node) ? (isIndex(t) ? node[Number(t)] : undefined) : isMap(node) ? node[t] : undefined;
    if (next === undefined)
      throw patchFailure(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
    node = next;
  }
  return node;
}

function getAt(doc: Json, pointer: string, op: string): Json {
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
function addAt(doc: Json, pointer: string, value: Json, op = 'add'): Json {
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

function removeAt(doc: Json, pointer: string, op = 'remove'): Json {
  const tokens = pointerTokens(pointer);
  if (!tokens.length) throw patchFailure('unable to remove the whole document');
  const parent = resolveParent(doc, tokens, pointer, op);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent) && isIndex(last) && Number(last) < parent.length) parent.splice(Number(last), 1);
  else if (isMap(parent) && last in parent) delete parent[last];
  else throw patchFailure(`Unable to remove nonexistent key: ${last}: missing value`);
  return doc;
}

export function jsonPatch(doc: Json, ops: JsonPatchOp[]): Json {
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

function requireValue(o: JsonPatchOp): Json {
  if (!('value' in o) || o.value === undefined) throw patchFailure(`${o.op} operation missing value`);
  return o.value;
}

/** `test` against a missing path compares with null, as the json-patch library does, then fails. */
function testValue(doc: Json, pointer: string): Json | undefined {
  try {
    return getAt(doc, pointer, 'test');
  } catch {
    return undefined;
  }
}
