// The sandbox's protobuf reader (services/sandbox/protobuf.ts), table-driven over bodies built here field by field as
// client-go writes them (the `k8s\0` magic, a runtime.Unknown with typeMeta and raw, gogo-protobuf's field numbers):
// what each decodes to, and the 400/415 answers for what it must not guess at.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../services/sandbox/errors.js';
import { decodeProtobufObject, isProtobuf } from '../services/sandbox/protobuf.js';

// ------------------------------------------------------------------ a minimal protobuf writer

function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n)); // negative int64s are ten bytes of two's complement
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}
const tag = (field: number, wireType: number) => varint((field << 3) | wireType);
const ld = (field: number, ...payload: Buffer[]) => {
  const body = Buffer.concat(payload);
  return Buffer.concat([tag(field, 2), varint(body.length), body]);
};
const str = (field: number, s: string) => ld(field, Buffer.from(s, 'utf8'));
const int = (field: number, n: number | bigint) => Buffer.concat([tag(field, 0), varint(n)]);
const bool = (field: number, b: boolean) => int(field, b ? 1 : 0);
const mapEntry = (field: number, key: string, value: Buffer) => ld(field, str(1, key), value);
const strMap = (field: number, m: Record<string, string>) =>
  Buffer.concat(Object.entries(m).map(([k, v]) => mapEntry(field, k, str(2, v))));
const time = (field: number, iso: string) => ld(field, int(1, Date.parse(iso) / 1000));
const meta = (...fields: Buffer[]) => ld(1, ...fields);

const MAGIC = Buffer.from('k8s\0', 'latin1');
const envelope = (apiVersion: string, kind: string, ...raw: Buffer[]) =>
  Buffer.concat([MAGIC, ld(1, str(1, apiVersion), str(2, kind)), ld(2, ...raw)]);

// ------------------------------------------------------------------ cases

describe('decodeProtobufObject', () => {
  it.each<[string, Buffer, Record<string, unknown>]>([
    [
      'a Namespace (kubectl create namespace)',
      envelope(
        'v1',
        'Namespace',
        meta(str(1, 'team-a'), strMap(11, { 'kubesphere.io/workspace': 'ws' })),
        ld(2, str(1, 'kubernetes')),
      ),
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'team-a', labels: { 'kubesphere.io/workspace': 'ws' } },
        spec: { finalizers: ['kubernetes'] },
      },
    ],
    [
      'a Secret: bytes as base64, stringData as strings (Helm release storage)',
      envelope(
        'v1',
        'Secret',
        meta(str(1, 'sh.helm.release.v1.web.v1'), str(3, 'apps'), strMap(11, { owner: 'helm' })),
        mapEntry(2, 'release', ld(2, Buffer.from([0, 1, 2, 255]))),
        str(3, 'helm.sh/release.v1'),
        strMap(4, { note: 'hi' }),
      ),
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'sh.helm.release.v1.web.v1', namespace: 'apps', labels: { owner: 'helm' } },
        data: { release: Buffer.from([0, 1, 2, 255]).toString('base64') },
        type: 'helm.sh/release.v1',
        stringData: { note: 'hi' },
      },
    ],
    [
      'a ConfigMap with an empty value and immutable false (a pointer: kept)',
      envelope(
        'v1',
        'ConfigMap',
        meta(str(1, 'c'), str(3, 'default')),
        strMap(2, { a: '1', empty: '' }),
        bool(4, false),
      ),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c', namespace: 'default' },
        data: { a: '1', empty: '' },
        immutable: false,
      },
    ],
    [
      'zero values of plain fields are left out (gogo writes them all)',
      envelope('v1', 'ConfigMap', meta(str(1, 'c'), str(2, ''), int(7, 0), ld(8))),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
    ],
    [
      'timestamps, ownerReferences, finalizers',
      envelope(
        'v1',
        'ConfigMap',
        meta(
          str(1, 'c'),
          time(8, '2024-03-01T10:00:00Z'),
          int(7, 3),
          ld(13, str(1, 'Deployment'), str(3, 'web'), str(4, 'u-1'), str(5, 'apps/v1'), bool(6, true)),
          str(14, 'a/b'),
          str(14, 'c/d'),
        ),
      ),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'c',
          creationTimestamp: '2024-03-01T10:00:00Z',
          generation: 3,
          ownerReferences: [{ kind: 'Deployment', name: 'web', uid: 'u-1', apiVersion: 'apps/v1', controller: true }],
          finalizers: ['a/b', 'c/d'],
        },
      },
    ],
    [
      'a Service: int32 ports, targetPort as int or string (IntOrString)',
      envelope(
        'v1',
        'Service',
        meta(str(1, 'web')),
        ld(
          2,
          ld(1, str(1, 'http'), str(2, 'TCP'), int(3, 80), ld(4, int(1, 0), int(2, 8080))),
          ld(1, str(1, 'metrics'), int(3, 9090), ld(4, int(1, 1), str(3, 'prom'))),
          strMap(2, { app: 'web' }),
          str(4, 'ClusterIP'),
        ),
      ),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web' },
        spec: {
          ports: [
            { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
            { name: 'metrics', port: 9090, targetPort: 'prom' },
          ],
          selector: { app: 'web' },
          type: 'ClusterIP',
        },
      },
    ],
    [
      'a ResourceQuota: quantities as their strings',
      envelope(
        'v1',
        'ResourceQuota',
        meta(str(1, 'q')),
        ld(2, mapEntry(1, 'cpu', ld(2, str(1, '500m'))), mapEntry(1, 'memory', ld(2, str(1, '1Gi')))),
      ),
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'q' },
        spec: { hard: { cpu: '500m', memory: '1Gi' } },
      },
    ],
    [
      'DeleteOptions of any group-version: a zero grace period is kept (a pointer), negative int64s read back',
      envelope('meta.k8s.io/v1', 'DeleteOptions', int(1, 0), str(4, 'Foreground'), str(5, 'All'), ld(2, str(1, 'u-1'))),
      {
        apiVersion: 'meta.k8s.io/v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        propagationPolicy: 'Foreground',
        dryRun: ['All'],
        preconditions: { uid: 'u-1' },
      },
    ],
    [
      'a negative int64 (ten-byte varint)',
      envelope('v1', 'DeleteOptions', int(1, -1)),
      { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: -1 },
    ],
    [
      'an unknown field holding only its zero value is ignored',
      envelope('v1', 'ConfigMap', meta(str(1, 'c')), int(99, 0), ld(98), ld(97, int(1, 0))),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
    ],
  ])('%s', (_what, body, want) => {
    expect(decodeProtobufObject(body)).toEqual(want);
  });

  const refusal = (body: Buffer) => {
    try {
      decodeProtobufObject(body);
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      return { code: (e as ApiError).code, reason: (e as ApiError).reason, message: (e as ApiError).message };
    }
    throw new Error('decoded');
  };

  it.each<[string, Buffer, number, string]>([
    ['no envelope', Buffer.from('{"kind":"Pod"}'), 400, 'protobuf body without the k8s envelope'],
    ['too short', Buffer.from('k8s'), 400, 'protobuf body without the k8s envelope'],
    [
      'a kind it does not decode',
      envelope('v1', 'Event', meta(str(1, 'e'))),
      415,
      'the sandbox does not decode v1 Event',
    ],
    [
      'an unknown field with data: refused, not dropped',
      envelope('v1', 'ConfigMap', meta(str(1, 'c')), str(99, 'x')),
      415,
      'ConfigMap field 99 is not known to it',
    ],
    [
      'an unknown nested field with data',
      envelope('v1', 'ConfigMap', meta(str(1, 'c'), int(99, 5))),
      415,
      'ObjectMeta field 99',
    ],
    ['a truncated field', Buffer.concat([MAGIC, tag(1, 2), varint(50), Buffer.from('short')]), 400, 'truncated field'],
    ['a truncated varint', Buffer.concat([MAGIC, Buffer.from([0x80])]), 400, 'truncated varint'],
    ['an unsupported wire type', Buffer.concat([MAGIC, tag(3, 3)]), 400, 'unsupported wire type 3'],
  ])('%s: %d', (_what, body, code, message) => {
    const r = refusal(body);
    expect(r.code).toBe(code);
    expect(r.reason).toBe(code === 415 ? 'UnsupportedMediaType' : 'BadRequest');
    expect(r.message).toContain(message);
  });
});

describe('isProtobuf', () => {
  it.each([
    ['application/vnd.kubernetes.protobuf', true],
    ['application/vnd.kubernetes.protobuf; charset=binary', true],
    ['Application/VND.Kubernetes.Protobuf', true],
    ['application/vnd.kubernetes.protobuf;stream=watch', true],
    ['application/json', false],
    ['application/vnd.kubernetes.protobuf+json', false],
    ['', false],
    [undefined, false],
  ])('%j → %j', (type, want) => expect(isProtobuf(type)).toBe(want));
});
