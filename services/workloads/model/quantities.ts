// Requests and limits as a console shows them: the quantities as written, cpu and memory parsed (cores, bytes), and the
// sums over a pod's containers and over a node's pods. Parsing is services/common/k8s/quantity.ts (apimachinery's
// rules); sums are exact (mantissa and exponent), and a sum is written back the way apimachinery writes a quantity.
import { Quantity, quantityOf } from '../../common/k8s/quantity.js';
import type { StoredObject } from '../../common/k8s/object.js';

/** A requests or limits map: the quantity strings by resource name, and cpu and memory parsed. */
export interface ResourceQuantities {
  cpu: string | null;
  memory: string | null;
  cpuCores: number | null;
  memoryBytes: number | null;
  all: Record<string, string>;
}

export interface ResourcesView {
  requests: ResourceQuantities;
  limits: ResourceQuantities;
}

type QuantityMap = Map<string, Quantity>;

/** The quantities of a requests or limits map as stored (malformed entries left out: the API server refuses them). */
function parsedMap(raw: unknown): QuantityMap {
  const out: QuantityMap = new Map();
  if (!raw || typeof raw !== 'object') return out;
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    const q = quantityOf(v);
    if (q) out.set(name, q);
  }
  return out;
}

function viewOf(written: Record<string, string>, parsed: QuantityMap): ResourceQuantities {
  const cpu = parsed.get('cpu');
  const memory = parsed.get('memory');
  return {
    cpu: written.cpu ?? null,
    memory: written.memory ?? null,
    // Milli-cores are exact integers; a core count is them over 1000.
    cpuCores: cpu ? Number(cpu.milliValue()) / 1000 : null,
    memoryBytes: memory ? Number(memory.value()) : null,
    all: written,
  };
}

/** One container's (or a template's) `resources`, as written. */
export function containerResources(resources: unknown): ResourcesView {
  const r = (resources ?? {}) as { requests?: unknown; limits?: unknown };
  const side = (raw: unknown) => {
    const parsed = parsedMap(raw);
    const written = Object.fromEntries(
      [...parsed.keys()].map((k) => [k, String((raw as Record<string, unknown>)[k]).trim()]),
    );
    return viewOf(written, parsed);
  };
  return { requests: side(r.requests), limits: side(r.limits) };
}

/** a + b, exactly; the format stays when both agree (a sum of Mi stays binary), else decimal. */
function add(a: Quantity, b: Quantity): Quantity {
  const e = Math.min(a.exponent, b.exponent);
  const m = a.mantissa * 10n ** BigInt(a.exponent - e) + b.mantissa * 10n ** BigInt(b.exponent - e);
  return new Quantity(m, e, a.format === b.format ? a.format : 'DecimalSI');
}

function addInto(into: QuantityMap, from: QuantityMap): void {
  for (const [k, q] of from) {
    const have = into.get(k);
    into.set(k, have ? add(have, q) : q);
  }
}

function maxInto(into: QuantityMap, from: QuantityMap): void {
  for (const [k, q] of from) {
    const have = into.get(k);
    if (!have || have.cmp(q) < 0) into.set(k, q);
  }
}

const BINARY: [string, bigint][] = [
  ['Ei', 1n << 60n],
  ['Pi', 1n << 50n],
  ['Ti', 1n << 40n],
  ['Gi', 1n << 30n],
  ['Mi', 1n << 20n],
  ['Ki', 1n << 10n],
];
const DECIMAL: Record<number, string> = {
  [-9]: 'n',
  [-6]: 'u',
  [-3]: 'm',
  0: '',
  3: 'k',
  6: 'M',
  9: 'G',
  12: 'T',
  15: 'P',
  18: 'E',
};

/**
 * A quantity written as apimachinery's canonical form writes it: binary quantities of whole multiples of 1024 with
 * the largest binary suffix that divides them, everything else with the largest decimal suffix (n to E) that keeps the
 * number whole (below nano, rounded up to it). Quantities written with exponents (1e3) come out with SI suffixes.
 */
export function formatQuantity(q: Quantity): string {
  let m = q.mantissa;
  let e = q.exponent;
  if (m === 0n) return '0';
  if (q.format === 'BinarySI' && e >= 0) {
    const v = m * 10n ** BigInt(e);
    for (const [suffix, base] of BINARY) if (v % base === 0n) return `${v / base}${suffix}`;
  }
  while (m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  let e3 = Math.min(18, Math.floor(e / 3) * 3);
  if (e3 < -9) {
    // Finer than nano: round away from zero to whole nanos, as apimachinery does.
    const d = 10n ** BigInt(-9 - e);
    const q0 = m / d;
    m = q0 * d === m ? q0 : m > 0n ? q0 + 1n : q0 - 1n;
    e = -9;
    e3 = -9;
  }
  return `${m * 10n ** BigInt(e - e3)}${DECIMAL[e3]}`;
}

function summed(parsed: QuantityMap): ResourceQuantities {
  const written = Object.fromEntries([...parsed].map(([k, q]) => [k, formatQuantity(q)]));
  return viewOf(written, parsed);
}

interface ContainerJson {
  resources?: { requests?: unknown; limits?: unknown };
  restartPolicy?: string;
}

/**
 * A pod's requests and limits as the scheduler counts them (k8s.io/component-helpers' PodRequests and PodLimits):
 * the sum over its containers, and sidecars (init containers with restartPolicy Always) with them; a plain init
 * container, which runs alone before them, counts where it alone is larger; plus spec.overhead.
 */
export function podResources(pod: StoredObject): ResourcesView {
  const side = (which: 'requests' | 'limits'): ResourceQuantities => {
    const total: QuantityMap = new Map();
    for (const c of (pod.spec?.containers ?? []) as ContainerJson[]) addInto(total, parsedMap(c.resources?.[which]));
    // Init containers run in order; sidecars started before one keep running beside it and after.
    const sidecars: QuantityMap = new Map();
    const initPeak: QuantityMap = new Map();
    for (const c of (pod.spec?.initContainers ?? []) as ContainerJson[]) {
      const own = parsedMap(c.resources?.[which]);
      if (c.restartPolicy === 'Always') {
        addInto(sidecars, own);
        maxInto(initPeak, sidecars);
      } else {
        const during: QuantityMap = new Map(sidecars);
        addInto(during, own);
        maxInto(initPeak, during);
      }
    }
    addInto(total, sidecars);
    maxInto(total, initPeak);
    addInto(total, parsedMap(pod.spec?.overhead));
    return summed(total);
  };
  return { requests: side('requests'), limits: side('limits') };
}

/** The sum of pods' requests and limits (what is allocated on a node). */
export function sumResources(views: ResourcesView[]): ResourcesView {
  const side = (which: 'requests' | 'limits') => {
    const total: QuantityMap = new Map();
    for (const v of views) addInto(total, parsedMap(v[which].all));
    return summed(total);
  };
  return { requests: side('requests'), limits: side('limits') };
}
