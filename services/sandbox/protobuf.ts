// Request bodies in the Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`).
//
// client-go's generated clientsets send builtin objects as protobuf by default (since 1.31), so kubectl's typed
// commands (`kubectl create namespace`, `create secret`...) and Helm's release storage (Secrets) write in it. The
// sandbox decodes the kinds those clients write, from their field numbers in k8s.io/api's generated.proto, into the
// JSON shape the rest of the server works with; other kinds are answered 415 (responses are always JSON, which
// every client accepts as well).
import { ApiError } from './errors.js';
import type { Loose } from './types.js';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

type Scalar = 'string' | 'bytes' | 'bool' | 'int64' | 'int32' | 'time' | 'fieldsV1';
interface Field {
  name: string;
  type: Scalar | { message: string } | { map: 'string' | 'bytes' };
  repeated?: boolean;
  /** A pointer in Go: sent only when set, so its zero value means something (gracePeriodSeconds: 0). */
  ptr?: boolean;
}
type MessageSchema = Record<number, Field>;

const f = (name: string, type: Field['type'], repeated = false): Field => ({ name, type, repeated });
/** A Go pointer field (see Field.ptr). Other scalars are always on the wire and their zero value means unset. */
const p = (name: string, type: Field['type']): Field => ({ name, type, ptr: true });
const msg = (message: string) => ({ message });

/** Field numbers of the messages the sandbox accepts, from k8s.io/api and k8s.io/apimachinery generated.proto. */
const SCHEMAS: Record<string, MessageSchema> = {
  ObjectMeta: {
    1: f('name', 'string'), 2: f('generateName', 'string'), 3: f('namespace', 'string'), 4: f('selfLink', 'string'),
    5: f('uid', 'string'), 6: f('resourceVersion', 'string'), 7: f('generation', 'int64'), 8: f('creationTimestamp', 'time'),
    9: f('deletionTimestamp', 'time'), 10: p('deletionGracePeriodSeconds', 'int64'), 11: f('labels', { map: 'string' }),
    12: f('annotations', { map: 'string' }), 13: f('ownerReferences', msg('OwnerReference'), true), 14: f('finalizers', 'string', true),
    17: f('managedFields', msg('ManagedFieldsEntry'), true),
  },
  OwnerReference: {
    1: f('kind', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'), 5: f('apiVersion', 'string'),
    6: p('controller', 'bool'), 7: p('blockOwnerDeletion', 'bool'),
  },
  ManagedFieldsEntry: {
    1: f('manager', 'string'), 2: f('operation', 'string'), 3: f('apiVersion', 'string'), 4: f('time', 'time'),
    6: f('fieldsType', 'string'), 7: f('fieldsV1', 'fieldsV1'), 8: f('subresource', 'string'),
  },
  ObjectReference: {
    1: f('kind', 'string'), 2: f('namespace', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'),
    5: f('apiVersion', 'string'), 6: f('resourceVersion', 'string'), 7: f('fieldPath', 'string'),
  },
  LocalObjectReference: { 1: f('name', 'string') },
  Secret: { 1: f('metadata', msg('ObjectMeta')), 2: f('data', { map: 'bytes' }), 3: f('type', 'string'), 4: f('stringData', { map: 'string' }), 5: p('immutable', 'bool') },
  ConfigMap: { 1: f('metadata', msg('ObjectMeta')), 2: f('data', { map: 'string' }), 3: f('binaryData', { map: 'bytes' }), 4: p('immutable', 'bool') },
  Namespace: { 1: f('metadata', msg('ObjectMeta')), 2: f('spec', msg('NamespaceSpec')), 3: f('status', msg('NamespaceStatus')) },
  NamespaceSpec: { 1: f('finalizers', 'string', true) },
  NamespaceStatus: { 1: f('phase', 'string'), 2: f('conditions', msg('NamespaceCondition'), true) },
  NamespaceCondition: { 1: f('type', 'string'), 2: f('status', 'string'), 4: f('lastTransitionTime', 'time'), 5: f('reason', 'string'), 6: f('message', 'string') },
  ServiceAccount: {
    1: f('metadata', msg('ObjectMeta')), 2: f('secrets', msg('ObjectReference'), true),
    3: f('imagePullSecrets', msg('LocalObjectReference'), true), 4: p('automountServiceAccountToken', 'bool'),
  },
  DeleteOptions: {
    1: p('gracePeriodSeconds', 'int64'), 2: f('preconditions', msg('Preconditions')), 3: p('orphanDependents', 'bool'),
    4: p('propagationPolicy', 'string'), 5: f('dryRun', 'string', true), 6: f('ignoreStoreReadErrorWithClusterBreakingPotential', 'bool'),
  },
  Preconditions: { 1: p('uid', 'string'), 2: p('resourceVersion', 'string') },
};

/** Top-level kinds a client may send, by `apiVersion/kind` of the envelope. */
const TOP_LEVEL: Record<string, string> = {
  'v1/Secret': 'Secret',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Namespace': 'Namespace',
  'v1/ServiceAccount': 'ServiceAccount',
};

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  }
  bytes(): Buffer {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

const toInt64 = (v: bigint) => Number(BigInt.asIntN(64, v));

function decodeTime(buf: Buffer): string | undefined {
  const r = new Reader(buf);
  let seconds = 0;
  while (!r.done) {
    const key = Number(r.varint());
    if (key >> 3 === 1 && (key & 7) === 0) seconds = toInt64(r.varint());
    else r.skip(key & 7);
  }
  return seconds ? new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z') : undefined;
}

function decodeMapEntry(buf: Buffer, valueType: 'string' | 'bytes'): [string, string] {
  const r = new Reader(buf);
  let key = '';
  let value = '';
  while (!r.done) {
    const tag = Number(r.varint());
    const n = tag >> 3;
    if ((tag & 7) !== 2) {
      r.skip(tag & 7);
      continue;
    }
    const b = r.bytes();
    if (n === 1) key = b.toString('utf8');
    else if (n === 2) value = valueType === 'bytes' ? b.toString('base64') : b.toString('utf8');
  }
  return [key, value];
}

function decodeMessage(buf: Buffer, schemaName: string): Loose {
  const schema = SCHEMAS[schemaName];
  const out: Loose = {};
  const r = new Reader(buf);
  while (!r.done) {
    const tag = Number(r.varint());
    const field = schema[tag >> 3];
    const wireType = tag & 7;
    if (!field) {
      r.skip(wireType);
      continue;
    }
    let value: unknown;
    const t = field.type;
    if (typeof t === 'object' && 'map' in t) {
      const [k, v] = decodeMapEntry(r.bytes(), t.map);
      (out[field.name] ??= {})[k] = v;
      continue;
    }
    if (typeof t === 'object') value = decodeMessage(r.bytes(), t.message);
    else if (t === 'string') value = r.bytes().toString('utf8');
    else if (t === 'bytes') value = r.bytes().toString('base64');
    else if (t === 'bool') value = r.varint() !== 0n;
    else if (t === 'int64' || t === 'int32') value = toInt64(r.varint());
    else if (t === 'time') value = decodeTime(r.bytes());
    else {
      // FieldsV1 { optional bytes Raw = 1 }: the raw JSON of the field set.
      const inner = new Reader(r.bytes());
      while (!inner.done) {
        const k = Number(inner.varint());
        if (k >> 3 === 1 && (k & 7) === 2) value = JSON.parse(inner.bytes().toString('utf8'));
        else inner.skip(k & 7);
      }
    }
    if (field.repeated) (out[field.name] ??= []).push(value);
    else if (field.ptr || !isZero(value)) out[field.name] = value;
  }
  return out;
}

const isZero = (v: unknown) => v === undefined || v === '' || v === 0 || v === false;

/** Decodes a `k8s\0` + runtime.Unknown envelope into a JSON object with apiVersion and kind. */
export function decodeProtobufObject(body: Buffer): Loose {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    throw new ApiError(400, 'BadRequest', 'the body of the request was in an unknown format: protobuf body without the k8s envelope');
  }
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  try {
    const r = new Reader(body.subarray(4));
    while (!r.done) {
      const tag = Number(r.varint());
      const n = tag >> 3;
      if ((tag & 7) !== 2) {
        r.skip(tag & 7);
        continue;
      }
      const b = r.bytes();
      if (n === 1) {
        const tm = new Reader(b);
        while (!tm.done) {
          const t = Number(tm.varint());
          if ((t & 7) !== 2) {
            tm.skip(t & 7);
            continue;
          }
          const v = tm.bytes().toString('utf8');
          if (t >> 3 === 1) apiVersion = v;
          else if (t >> 3 === 2) kind = v;
        }
      } else if (n === 2) raw = b;
    }
    // DeleteOptions travels with the group-version of the client that sends it.
    const schemaName = kind === 'DeleteOptions' ? 'DeleteOptions' : TOP_LEVEL[`${apiVersion}/${kind}`];
    if (!schemaName) {
      throw new ApiError(415, 'UnsupportedMediaType', `the sandbox does not decode ${apiVersion} ${kind} from ${PROTOBUF_CONTENT_TYPE}; send application/json`);
    }
    const obj = decodeMessage(raw, schemaName);
    return { apiVersion, kind, ...obj };
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError(400, 'BadRequest', `the body of the request was in an unknown format: ${(e as Error).message}`);
  }
}

export function isProtobuf(contentType: string | undefined): boolean {
  return !!contentType && contentType.split(';')[0].trim().toLowerCase() === PROTOBUF_CONTENT_TYPE;
}
