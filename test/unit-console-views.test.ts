// The pure parts of the workloads subgraph's console fields, table by table: sums of quantities written back as
// apimachinery writes them, a pod's requests as the scheduler counts them (init containers, sidecars, overhead), and
// the QoS class derived as the kubelet does when a pod's status does not carry one yet.
import { describe, expect, it } from 'vitest';
import { parseQuantity } from '../services/common/k8s/quantity.js';
import type { StoredObject } from '../services/common/k8s/object.js';
import { podSpecView } from '../services/workloads/model/console.js';
import { formatQuantity, podResources, sumResources } from '../services/workloads/model/quantities.js';

describe('formatQuantity: the canonical form of a parsed quantity', () => {
  // [written, canonical] — apimachinery's Quantity.String() for the same inputs (SI and binary SI suffixes; a sum
  // of exponent-written quantities is written with SI suffixes here).
  const cases: [string, string][] = [
    ['0', '0'],
    ['250m', '250m'],
    ['1000m', '1'],
    ['1500m', '1500m'],
    ['2', '2'],
    ['0.5', '500m'],
    ['128Mi', '128Mi'],
    ['1024Mi', '1Gi'],
    ['1536Mi', '1536Mi'],
    ['1G', '1G'],
    ['1000M', '1G'],
    ['100n', '100n'],
    ['1Ki', '1Ki'],
    ['1000Ki', '1000Ki'],
  ];
  it.each(cases)('%s is written %s', (written, canonical) => {
    expect(formatQuantity(parseQuantity(written))).toBe(canonical);
  });
});

const pod = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): StoredObject => ({
  metadata: { name: 'p', namespace: 'n' },
  spec,
  status,
});
const c = (
  requests?: Record<string, string>,
  limits?: Record<string, string>,
  extra: Record<string, unknown> = {},
) => ({
  name: 'c',
  image: 'i',
  resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) },
  ...extra,
});

describe("a pod's requests and limits as the scheduler counts them", () => {
  const cases: [string, StoredObject, { cpu: string | null; memory: string | null }][] = [
    [
      'containers summed',
      pod({ containers: [c({ cpu: '100m', memory: '64Mi' }), c({ cpu: '250m', memory: '64Mi' })] }),
      { cpu: '350m', memory: '128Mi' },
    ],
    [
      'an init container alone where larger',
      pod({ containers: [c({ cpu: '100m' })], initContainers: [c({ cpu: '1', memory: '1Gi' })] }),
      { cpu: '1', memory: '1Gi' },
    ],
    [
      'a sidecar runs beside the containers (and beside later init containers)',
      pod({
        containers: [c({ cpu: '500m' })],
        initContainers: [c({ cpu: '200m' }, undefined, { restartPolicy: 'Always' }), c({ cpu: '600m' })],
      }),
      { cpu: '800m', memory: null },
    ],
    [
      'overhead added',
      pod({ containers: [c({ cpu: '100m' })], overhead: { cpu: '50m' } }),
      { cpu: '150m', memory: null },
    ],
    [
      'decimal and binary memory summed exactly',
      pod({ containers: [c({ memory: '1G' }), c({ memory: '1Gi' })] }),
      { cpu: null, memory: '2073741824' },
    ],
    ['nothing requested', pod({ containers: [c()] }), { cpu: null, memory: null }],
  ];
  it.each(cases)('%s', (_what, p, want) => {
    const r = podResources(p).requests;
    expect({ cpu: r.cpu, memory: r.memory }).toEqual(want);
    expect(r.cpuCores).toBe(want.cpu === null ? null : Number(parseQuantity(want.cpu).milliValue()) / 1000);
    expect(r.memoryBytes).toBe(want.memory === null ? null : Number(parseQuantity(want.memory).value()));
  });

  it('sums over pods keep every resource and stay exact', () => {
    const a = podResources(pod({ containers: [c({ cpu: '100m', 'nvidia.com/gpu': '1' }, { memory: '128Mi' })] }));
    const b = podResources(pod({ containers: [c({ cpu: '900m', 'nvidia.com/gpu': '2' }, { memory: '896Mi' })] }));
    const total = sumResources([a, b]);
    expect(total.requests).toEqual({
      cpu: '1',
      memory: null,
      cpuCores: 1,
      memoryBytes: null,
      all: { cpu: '1', 'nvidia.com/gpu': '3' },
    });
    expect(total.limits.memory).toBe('1Gi');
    expect(total.limits.memoryBytes).toBe(1024 ** 3);
  });
});

describe('the QoS class, derived when the status has none', () => {
  const cases: [string, StoredObject, string][] = [
    ['no cpu or memory anywhere', pod({ containers: [c({ 'ephemeral-storage': '1Gi' })] }), 'BestEffort'],
    [
      'limits only: requests default to them',
      pod({ containers: [c(undefined, { cpu: '1', memory: '1Gi' })] }),
      'Guaranteed',
    ],
    [
      'requests equal to limits, written differently',
      pod({ containers: [c({ cpu: '1000m', memory: '1024Mi' }, { cpu: '1', memory: '1Gi' })] }),
      'Guaranteed',
    ],
    [
      'requests below limits',
      pod({ containers: [c({ cpu: '500m', memory: '1Gi' }, { cpu: '1', memory: '1Gi' })] }),
      'Burstable',
    ],
    [
      'one container without limits',
      pod({ containers: [c(undefined, { cpu: '1', memory: '1Gi' }), c({ cpu: '100m' })] }),
      'Burstable',
    ],
    ['the status says so', pod({ containers: [c()] }, { qosClass: 'Burstable' }), 'Burstable'],
  ];
  it.each(cases)('%s: %s', (_what, p, want) => {
    expect(podSpecView.qosClass(p)).toBe(want);
  });
});
