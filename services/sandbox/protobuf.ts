// Request bodies in the Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`).
//
// client-go's generated clientsets send builtin objects as protobuf by default (since 1.31), so kubectl's typed
// commands (`kubectl create namespace`, `create secret`...) and Helm's release storage (Secrets) write in it. The
// sandbox decodes the kinds those clients write, from their field numbers in k8s.io/api's generated.proto, into the
// JSON shape the rest of the server works with; other kinds are answered 415 (responses are always JSON, which
// every client accepts as well).
import { ApiError } from './errors.js';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

type Scalar = 'string' | 'bytes' | 'bool' | 'int64' | 'int32' | 'time' | 'fieldsV1' | 'quantity' | 'intOrString';
type FieldType = Scalar | { message: string } | { map: Scalar | { message: string } };
interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
  /** A Go pointer field: sent only when set, so its zero value means something (gracePeriodSeconds: 0). */
  ptr?: boolean;
  /** An embedded Go struct whose fields JSON shows in the parent (IngressRule's `http`). */
  inline?: boolean;
}
type MessageSchema = Record<number, Field>;

const f = (name: string, type: FieldType, repeated = false): Field => ({ name, type, repeated });
/** A Go pointer field (see Field.ptr). Other scalars are always on the wire and their zero value means unset. */
const p = (name: string, type: FieldType): Field => ({ name, type, ptr: true });
/** A repeated field. */
const r = (name: string, type: FieldType): Field => ({ name, type, repeated: true });
const msg = (message: string) => ({ message });
const m = (name: string, message: string): Field => ({ name, type: { message } });
const strMap = { map: 'string' as const };
const quantityMap = { map: 'quantity' as const };
/** A kind's metadata and spec; its status (field 3) is not decoded, so a request carrying one is answered 415. */
const withSpec = (spec: string): MessageSchema => ({ 1: m('metadata', 'ObjectMeta'), 2: m('spec', spec) });

/**
 * Field numbers of the messages the sandbox decodes, from k8s.io/api and k8s.io/apimachinery generated.proto: the
 * objects kubectl's `create` generators and Helm's release storage send (and Pods). A field missing here that
 * arrives with a non-zero value makes the request fail with 415 rather than lose data.
 */
const SCHEMAS: Record<string, MessageSchema> = {
  ObjectMeta: {
    1: f('name', 'string'),
    2: f('generateName', 'string'),
    3: f('namespace', 'string'),
    4: f('selfLink', 'string'),
    5: f('uid', 'string'),
    6: f('resourceVersion', 'string'),
    7: f('generation', 'int64'),
    8: f('creationTimestamp', 'time'),
    9: f('deletionTimestamp', 'time'),
    10: p('deletionGracePeriodSeconds', 'int64'),
    11: f('labels', strMap),
    12: f('annotations', strMap),
    13: r('ownerReferences', msg('OwnerReference')),
    14: r('finalizers', 'string'),
    17: r('managedFields', msg('ManagedFieldsEntry')),
  },
  OwnerReference: {
    1: f('kind', 'string'),
    3: f('name', 'string'),
    4: f('uid', 'string'),
    5: f('apiVersion', 'string'),
    6: p('controller', 'bool'),
    7: p('blockOwnerDeletion', 'bool'),
  },
  ManagedFieldsEntry: {
    1: f('manager', 'string'),
    2: f('operation', 'string'),
    3: f('apiVersion', 'string'),
    4: f('time', 'time'),
    6: f('fieldsType', 'string'),
    7: f('fieldsV1', 'fieldsV1'),
    8: f('subresource', 'string'),
  },
  LabelSelector: { 1: f('matchLabels', strMap), 2: r('matchExpressions', msg('LabelSelectorRequirement')) },
  LabelSelectorRequirement: { 1: f('key', 'string'), 2: f('operator', 'string'), 3: r('values', 'string') },
  ObjectReference: {
    1: f('kind', 'string'),
    2: f('namespace', 'string'),
    3: f('name', 'string'),
    4: f('uid', 'string'),
    5: f('apiVersion', 'string'),
    6: f('resourceVersion', 'string'),
    7: f('fieldPath', 'string'),
  },
  LocalObjectReference: { 1: f('name', 'string') },
  // core/v1
  Secret: {
    1: m('metadata', 'ObjectMeta'),
    2: f('data', { map: 'bytes' }),
    3: f('type', 'string'),
    4: f('stringData', strMap),
    5: p('immutable', 'bool'),
  },
  ConfigMap: {
    1: m('metadata', 'ObjectMeta'),
    2: f('data', strMap),
    3: f('binaryData', { map: 'bytes' }),
    4: p('immutable', 'bool'),
  },
  Namespace: withSpec('NamespaceSpec'),
  NamespaceSpec: { 1: r('finalizers', 'string') },
  ServiceAccount: {
    1: m('metadata', 'ObjectMeta'),
    2: r('secrets', msg('ObjectReference')),
    3: r('imagePullSecrets', msg('LocalObjectReference')),
    4: p('automountServiceAccountToken', 'bool'),
  },
  Pod: withSpec('PodSpec'),
  PodTemplateSpec: withSpec('PodSpec'),
  PodSpec: {
    2: r('containers', msg('Container')),
    3: f('restartPolicy', 'string'),
    4: p('terminationGracePeriodSeconds', 'int64'),
    5: p('activeDeadlineSeconds', 'int64'),
    6: f('dnsPolicy', 'string'),
    7: f('nodeSelector', strMap),
    8: f('serviceAccountName', 'string'),
    9: f('serviceAccount', 'string'),
    10: f('nodeName', 'string'),
    11: f('hostNetwork', 'bool'),
    12: f('hostPID', 'bool'),
    13: f('hostIPC', 'bool'),
    15: r('imagePullSecrets', msg('LocalObjectReference')),
    16: f('hostname', 'string'),
    17: f('subdomain', 'string'),
    19: f('schedulerName', 'string'),
    20: r('initContainers', msg('Container')),
    21: p('automountServiceAccountToken', 'bool'),
    24: f('priorityClassName', 'string'),
    25: p('priority', 'int32'),
  },
  Container: {
    1: f('name', 'string'),
    2: f('image', 'string'),
    3: r('command', 'string'),
    4: r('args', 'string'),
    5: f('workingDir', 'string'),
    6: r('ports', msg('ContainerPort')),
    7: r('env', msg('EnvVar')),
    8: m('resources', 'ResourceRequirements'),
    13: f('terminationMessagePath', 'string'),
    14: f('imagePullPolicy', 'string'),
    16: f('stdin', 'bool'),
    17: f('stdinOnce', 'bool'),
    18: f('tty', 'bool'),
    20: f('terminationMessagePolicy', 'string'),
  },
  ContainerPort: {
    1: f('name', 'string'),
    2: f('hostPort', 'int32'),
    3: f('containerPort', 'int32'),
    4: f('protocol', 'string'),
    5: f('hostIP', 'string'),
  },
  EnvVar: { 1: f('name', 'string'), 2: f('value', 'string') },
  ResourceRequirements: { 1: f('limits', quantityMap), 2: f('requests', quantityMap) },
  Service: withSpec('ServiceSpec'),
  ServiceSpec: {
    1: r('ports', msg('ServicePort')),
    2: f('selector', strMap),
    3: f('clusterIP', 'string'),
    4: f('type', 'string'),
    5: r('externalIPs', 'string'),
    7: f('sessionAffinity', 'string'),
    10: f('externalName', 'string'),
  },
  ServicePort: {
    1: f('name', 'string'),
    2: f('protocol', 'string'),
    3: f('port', 'int32'),
    4: f('targetPort', 'intOrString'),
    5: f('nodePort', 'int32'),
  },
  ResourceQuota: withSpec('ResourceQuotaSpec'),
  ResourceQuotaSpec: { 1: f('hard', quantityMap), 2: r('scopes', 'string') },
  // apps/v1
  Deployment: withSpec('DeploymentSpec'),
  DeploymentSpec: {
    1: p('replicas', 'int32'),
    2: m('selector', 'LabelSelector'),
    3: m('template', 'PodTemplateSpec'),
    4: m('strategy', 'DeploymentStrategy'),
    5: f('minReadySeconds', 'int32'),
    6: p('revisionHistoryLimit', 'int32'),
    7: f('paused', 'bool'),
    9: p('progressDeadlineSeconds', 'int32'),
  },
  DeploymentStrategy: { 1: f('type', 'string'), 2: m('rollingUpdate', 'RollingUpdateDeployment') },
  RollingUpdateDeployment: { 1: f('maxUnavailable', 'intOrString'), 2: f('maxSurge', 'intOrString') },
  // batch/v1
  Job: withSpec('JobSpec'),
  JobSpec: {
    1: p('parallelism', 'int32'),
    2: p('completions', 'int32'),
    3: p('activeDeadlineSeconds', 'int64'),
    4: m('selector', 'LabelSelector'),
    5: p('manualSelector', 'bool'),
    6: m('template', 'PodTemplateSpec'),
    7: p('backoffLimit', 'int32'),
    8: p('ttlSecondsAfterFinished', 'int32'),
    9: p('completionMode', 'string'),
    10: p('suspend', 'bool'),
  },
  CronJob: withSpec('CronJobSpec'),
  CronJobSpec: {
    1: f('schedule', 'string'),
    2: p('startingDeadlineSeconds', 'int64'),
    3: f('concurrencyPolicy', 'string'),
    4: p('suspend', 'bool'),
    5: m('jobTemplate', 'JobTemplateSpec'),
    6: p('successfulJobsHistoryLimit', 'int32'),
    7: p('failedJobsHistoryLimit', 'int32'),
    8: p('timeZone', 'string'),
  },
  JobTemplateSpec: withSpec('JobSpec'),
  // rbac.authorization.k8s.io/v1
  Role: { 1: m('metadata', 'ObjectMeta'), 2: r('rules', msg('PolicyRule')) },
  ClusterRole: { 1: m('metadata', 'ObjectMeta'), 2: r('rules', msg('PolicyRule')) },
  PolicyRule: {
    1: r('verbs', 'string'),
    2: r('apiGroups', 'string'),
    3: r('resources', 'string'),
    4: r('resourceNames', 'string'),
    5: r('nonResourceURLs', 'string'),
  },
  RoleBinding: { 1: m('metadata', 'ObjectMeta'), 2: r('subjects', msg('Subject')), 3: m('roleRef', 'RoleRef') },
  ClusterRoleBinding: { 1: m('metadata', 'ObjectMeta'), 2: r('subjects', msg('Subject')), 3: m('roleRef', 'RoleRef') },
  Subject: { 1: f('kind', 'string'), 2: f('apiGroup', 'string'), 3: f('name', 'string'), 4: f('namespace', 'string') },
  RoleRef: { 1: f('apiGroup', 'string'), 2: f('kind', 'string'), 3: f('name', 'string') },
  // networking.k8s.io/v1
  Ingress: withSpec('IngressSpec'),
  IngressSpec: {
    1: m('defaultBackend', 'IngressBackend'),
    2: r('tls', msg('IngressTLS')),
    3: r('rules', msg('IngressRule')),
    4: p('ingressClassName', 'string'),
  },
  IngressTLS: { 1: r('hosts', 'string'), 2: f('secretName', 'string') },
  IngressRule: { 1: f('host', 'string'), 2: { name: 'ingressRuleValue', type: msg('IngressRuleValue'), inline: true } },
  IngressRuleValue: { 1: m('http', 'HTTPIngressRuleValue') },
  HTTPIngressRuleValue: { 1: r('paths', msg('HTTPIngressPath')) },
  HTTPIngressPath: { 1: f('path', 'string'), 2: m('backend', 'IngressBackend'), 3: p('pathType', 'string') },
  IngressBackend: { 4: m('service', 'IngressServiceBackend') },
  IngressServiceBackend: { 1: f('name', 'string'), 2: m('port', 'ServiceBackendPort') },
  ServiceBackendPort: { 1: f('name', 'string'), 2: f('number', 'int32') },
  // meta/v1
  DeleteOptions: {
    1: p('gracePeriodSeconds', 'int64'),
    2: m('preconditions', 'Preconditions'),
    3: p('orphanDependents', 'bool'),
    4: p('propagationPolicy', 'string'),
    5: r('dryRun', 'string'),
    6: p('ignoreStoreReadErrorWithClusterBreakingPotential', 'bool'),
  },
  Preconditions: { 1: p('uid', 'string'), 2: p('resourceVersion', 'string') },
  // authentication/v1 and authorization/v1: the reviews kubectl auth whoami / can-i send (their status is answered).
  SelfSubjectReview: { 1: m('metadata', 'ObjectMeta') },
  SelfSubjectAccessReview: withSpec('SelfSubjectAccessReviewSpec'),
  SelfSubjectAccessReviewSpec: {
    1: m('resourceAttributes', 'ResourceAttributes'),
    2: m('nonResourceAttributes', 'NonResourceAttributes'),
  },
  ResourceAttributes: {
    1: f('namespace', 'string'),
    2: f('verb', 'string'),
    3: f('group', 'string'),
    4: f('version', 'string'),
    5: f('resource', 'string'),
    6: f('subresource', 'string'),
    7: f('name', 'string'),
  },
  NonResourceAttributes: { 1: f('path', 'string'), 2: f('verb', 'string') },
  SelfSubjectRulesReview: withSpec('SelfSubjectRulesReviewSpec'),
  SelfSubjectRulesReviewSpec: { 1: f('namespace', 'string') },
  SubjectAccessReview: withSpec('SubjectAccessReviewSpec'),
  SubjectAccessReviewSpec: {
    1: m('resourceAttributes', 'ResourceAttributes'),
    2: m('nonResourceAttributes', 'NonResourceAttributes'),
    3: f('user', 'string'),
    4: r('groups', 'string'),
    6: f('uid', 'string'),
  },
};

/** Top-level kinds a client may send, by `apiVersion/kind` of the envelope. */
const TOP_LEVEL: Record<string, string> = {
  'v1/Secret': 'Secret',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Namespace': 'Namespace',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/Pod': 'Pod',
  'v1/Service': 'Service',
  'v1/ResourceQuota': 'ResourceQuota',
  'apps/v1/Deployment': 'Deployment',
  'batch/v1/Job': 'Job',
  'batch/v1/CronJob': 'CronJob',
  'rbac.authorization.k8s.io/v1/Role': 'Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'ClusterRoleBinding',
  'networking.k8s.io/v1/Ingress': 'Ingress',
  'authentication.k8s.io/v1/SelfSubjectReview': 'SelfSubjectReview',
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'SelfSubjectAccessReview',
  'authorization.k8s.io/v1/SelfSubjectRulesReview': 'SelfSubjectRulesReview',
  'authorization.k8s.io/v1/SubjectAccessReview': 'SubjectAccessReview',
  'authorization.k8s.io/v1/LocalSubjectAccessReview': 'SubjectAccessReview',
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

/** Thrown for a field the schema does not know that carries data: better refused than silently dropped. */
class UnknownField extends Error {}

/** True for bytes that read as a message whose every field is zero (what gogo-protobuf sends for an unset struct). */
function isZeroMessage(buf: Buffer): boolean {
  try {
    const rd = new Reader(buf);
    while (!rd.done) {
      const tag = Number(rd.varint());
      const wt = tag & 7;
      if (wt === 0) {
        if (rd.varint() !== 0n) return false;
      } else if (wt === 2) {
        if (!isZeroMessage(rd.bytes())) return false;
      } else if (wt === 1 || wt === 5) {
        const n = wt === 1 ? 8 : 4;
        if (rd.pos + n > buf.length || buf.subarray(rd.pos, rd.pos + n).some((b) => b !== 0)) return false;
        rd.pos += n;
      } else return false;
    }
    return true;
  } catch {
    return false;
  }
}

function decodeValue(rd: Reader, t: FieldType, wireType: number): unknown {
  if (typeof t === 'object' && 'message' in t) return decodeMessage(rd.bytes(), t.message);
  switch (t) {
    case 'string':
      return rd.bytes().toString('utf8');
    case 'bytes':
      return rd.bytes().toString('base64');
    case 'bool':
      return rd.varint() !== 0n;
    case 'int64':
    case 'int32':
      return wireType === 0 ? toInt64(rd.varint()) : 0;
    case 'time':
      return decodeTime(rd.bytes());
    case 'quantity': {
      // resource.Quantity { optional string string = 1 }
      const q = decodeFields(rd.bytes());
      return q.get(1)?.toString('utf8') ?? '0';
    }
    case 'intOrString': {
      // intstr.IntOrString { type = 1 (0 int, 1 string); intVal = 2; strVal = 3 }
      const sub = new Reader(rd.bytes());
      let type = 0;
      let intVal = 0;
      let strVal = '';
      while (!sub.done) {
        const tag = Number(sub.varint());
        if (tag >> 3 === 1) type = Number(sub.varint());
        else if (tag >> 3 === 2) intVal = toInt64(sub.varint());
        else if (tag >> 3 === 3) strVal = sub.bytes().toString('utf8');
        else sub.skip(tag & 7);
      }
      return type === 1 ? strVal : intVal;
    }
    case 'fieldsV1': {
      // FieldsV1 { optional bytes Raw = 1 }: the raw JSON of the field set.
      const raw = decodeFields(rd.bytes()).get(1);
      return raw ? JSON.parse(raw.toString('utf8')) : {};
    }
    default:
      throw new Error(`unknown field type ${String(t)}`);
  }
}

/** The length-delimited fields of a small message by number (the last one wins). */
function decodeFields(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  const rd = new Reader(buf);
  while (!rd.done) {
    const tag = Number(rd.varint());
    if ((tag & 7) === 2) out.set(tag >> 3, rd.bytes());
    else rd.skip(tag & 7);
  }
  return out;
}

function decodeMapEntry(buf: Buffer, valueType: Scalar | { message: string }): [string, unknown] {
  const rd = new Reader(buf);
  let key = '';
  let value: unknown = valueType === 'string' || valueType === 'bytes' ? '' : undefined;
  while (!rd.done) {
    const tag = Number(rd.varint());
    const n = tag >> 3;
    if (n === 1 && (tag & 7) === 2) key = rd.bytes().toString('utf8');
    else if (n === 2) value = decodeValue(rd, valueType, tag & 7);
    else rd.skip(tag & 7);
  }
  return [key, value];
}

type Decoded = Record<string, unknown>;

function decodeMessage(buf: Buffer, schemaName: string): Decoded {
  const schema = SCHEMAS[schemaName];
  const out: Decoded = {};
  // Map and repeated fields gather their entries across the message, in the key order of their first entry.
  const mapField = (name: string): Decoded => {
    const cur = out[name];
    if (typeof cur === 'object' && cur !== null && !Array.isArray(cur)) return cur as Decoded;
    const made: Decoded = {};
    out[name] = made;
    return made;
  };
  const listField = (name: string): unknown[] => {
    const cur = out[name];
    if (Array.isArray(cur)) return cur;
    const made: unknown[] = [];
    out[name] = made;
    return made;
  };
  const rd = new Reader(buf);
  while (!rd.done) {
    const tag = Number(rd.varint());
    const field = schema[tag >> 3];
    const wireType = tag & 7;
    if (!field) {
      // gogo-protobuf writes every non-pointer field, set or not: zero values of fields we do not know are fine.
      const start = rd.pos;
      rd.skip(wireType);
      const raw = rd.buf.subarray(start, rd.pos);
      const zero =
        wireType === 0
          ? raw.length === 1 && raw[0] === 0
          : wireType === 2
            ? isZeroMessage(new Reader(raw).bytes())
            : raw.every((b) => b === 0);
      if (!zero) throw new UnknownField(`${schemaName} field ${tag >> 3}`);
      continue;
    }
    const t = field.type;
    if (typeof t === 'object' && 'map' in t) {
      const [k, v] = decodeMapEntry(rd.bytes(), t.map);
      mapField(field.name)[k] = v;
      continue;
    }
    const value = decodeValue(rd, t, wireType);
    if (field.inline) Object.assign(out, value);
    else if (field.repeated) listField(field.name).push(value);
    else if (field.ptr || !isZero(value)) out[field.name] = value;
  }
  return out;
}

const isZero = (v: unknown) =>
  v === undefined ||
  v === '' ||
  v === 0 ||
  v === false ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

/** Decodes a `k8s\0` + runtime.Unknown envelope into a JSON object with apiVersion and kind. */
export function decodeProtobufObject(body: Buffer): Decoded {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    throw new ApiError(
      400,
      'BadRequest',
      'the body of the request was in an unknown format: protobuf body without the k8s envelope',
    );
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
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the sandbox does not decode ${apiVersion} ${kind} from ${PROTOBUF_CONTENT_TYPE}; send application/json`,
      );
    }
    const obj = decodeMessage(raw, schemaName);
    return { apiVersion, kind, ...obj };
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (e instanceof UnknownField) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the sandbox cannot decode ${apiVersion} ${kind} from ${PROTOBUF_CONTENT_TYPE} (${e.message} is not known to it); send application/json`,
      );
    }
    throw new ApiError(400, 'BadRequest', `the body of the request was in an unknown format: ${(e as Error).message}`);
  }
}

export function isProtobuf(contentType: string | undefined): boolean {
  return !!contentType && contentType.split(';')[0].trim().toLowerCase() === PROTOBUF_CONTENT_TYPE;
}
