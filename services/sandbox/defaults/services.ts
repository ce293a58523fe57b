// Services: validation, and the allocation of cluster IPs (10.96.0.0/12) and node ports per store.
import type { StatusCause } from '../errors.js';
import type { KindHooks, Store, StoreEvent } from '../store.js';
import type { KObject, ServicePort } from '../types.js';

/** A port as the request sent it: the typed view of what validation then checks field by field. */
type PortInput = Partial<ServicePort>;
import { required, invalidValue, forbidden, notSupported, duplicate, same } from './messages.js';

const SVC_CIDR_BASE = (10 << 24) | (96 << 16); // 10.96.0.0/12
const SVC_CIDR_SIZE = 1 << 20;
const ipToInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const intToIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const inServiceCIDR = (ip: string) => {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const n = ipToInt(ip);
  return n > SVC_CIDR_BASE && n < SVC_CIDR_BASE + SVC_CIDR_SIZE - 1;
};
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

/** Cluster IPs and node ports in use, kept from the store's own changes (so dry runs and failed writes allocate nothing). */
class Allocations {
  readonly ips = new Map<string, string>(); // ip -> service key
  readonly nodePorts = new Map<number, string>(); // port -> service key

  constructor(store: Store) {
    const svc = store.type('', 'services');
    for (const s of store.list(svc)) this.track(s, undefined);
    store.subscribe((ev: StoreEvent) => {
      if (ev.rt.group !== '' || ev.rt.kind !== 'Service') return;
      this.track(ev.type === 'DELETED' ? undefined : ev.object, ev.old);
    });
  }

  private track(obj: KObject | undefined, old: KObject | undefined): void {
    const key = (o: KObject) => `${o.metadata.namespace}/${o.metadata.name}`;
    if (old) {
      for (const ip of old.spec?.clusterIPs ?? []) if (this.ips.get(ip) === key(old)) this.ips.delete(ip);
      for (const p of old.spec?.ports ?? [])
        if (p?.nodePort && this.nodePorts.get(p.nodePort) === key(old)) this.nodePorts.delete(p.nodePort);
    }
    if (obj) {
      for (const ip of obj.spec?.clusterIPs ?? []) if (ip !== 'None') this.ips.set(ip, key(obj));
      for (const p of obj.spec?.ports ?? []) if (p?.nodePort) this.nodePorts.set(p.nodePort, key(obj));
    }
  }

  freeIP(): string {
    // The lower band of the range is for static allocation (as the real allocator): dynamic IPs come from above it.
    const low = 256;
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const ip = intToIp(SVC_CIDR_BASE + low + Math.floor(Math.random() * (SVC_CIDR_SIZE - low - 1)));
      if (!this.ips.has(ip)) return ip;
    }
    throw new Error('service IP range exhausted');
  }

  freeNodePort(taken: Set<number>): number {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const p = NODE_PORT_MIN + Math.floor(Math.random() * (NODE_PORT_MAX - NODE_PORT_MIN + 1));
      if (!this.nodePorts.has(p) && !taken.has(p)) return p;
    }
    throw new Error('node port range exhausted');
  }
}

const allocationsByStore = new WeakMap<Store, Allocations>();

export function serviceHooks(store: Store): KindHooks {
  const alloc = () => {
    let a = allocationsByStore.get(store);
    if (!a) allocationsByStore.set(store, (a = new Allocations(store)));
    return a;
  };
  alloc();
  // Allocation problems found while defaulting, reported by validate (which runs right after on the same object).
  const pending = new WeakMap<KObject, StatusCause[]>();
  return {
    defaults(svc, _store, old) {
      svc.spec ??= {};
      const spec = svc.spec;
      const causes: StatusCause[] = [];
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      const ports: PortInput[] = Array.isArray(spec.ports) ? spec.ports : [];
      for (const p of ports) {
        if (!p || typeof p !== 'object') continue;
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      if (spec.type === 'ExternalName') {
        pending.set(svc, causes);
        return;
      }
      if (old) {
        // Kept on update when the client leaves them out (as `kubectl replace` of a stripped manifest).
        spec.clusterIP ??= old.spec?.clusterIP;
        spec.clusterIPs ??= old.spec?.clusterIPs;
        if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
          for (const p of ports) {
            if (p && typeof p === 'object' && p.nodePort === undefined) {
              const was = (old.spec?.ports ?? []).find(
                (q: PortInput) => q.port === p.port && (q.protocol ?? 'TCP') === p.protocol,
              );
              if (was?.nodePort) p.nodePort = was.nodePort;
            }
          }
        }
      }
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      if (spec.clusterIP === undefined || spec.clusterIP === '') {
        if (spec.clusterIPs?.[0]) spec.clusterIP = spec.clusterIPs[0];
        else if (!old) spec.clusterIP = alloc().freeIP();
      } else if (!old && spec.clusterIP !== 'None') {
        if (!inServiceCIDR(spec.clusterIP)) {
          causes.push(
            invalidValue(
              'spec.clusterIPs',
              [spec.clusterIP],
              `failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is 10.96.0.0/12`,
            ),
          );
        } else if (alloc().ips.has(spec.clusterIP) && alloc().ips.get(spec.clusterIP) !== key) {
          causes.push(
            invalidValue(
              'spec.clusterIPs',
              [spec.clusterIP],
              `failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`,
            ),
          );
        }
      }
      if (spec.clusterIP !== undefined) spec.clusterIPs = [spec.clusterIP];
      if (spec.clusterIP !== 'None' || spec.selector) {
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
      }
      spec.internalTrafficPolicy ??= 'Cluster';
      if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
        spec.externalTrafficPolicy ??= 'Cluster';
        const taken = new Set<number>();
        for (const p of ports) {
          if (!p || typeof p !== 'object') continue;
          if (p.nodePort !== undefined) {
            const owner = alloc().nodePorts.get(p.nodePort);
            if (owner && owner !== key)
              causes.push(
                invalidValue(
                  `spec.ports[${ports.indexOf(p)}].nodePort`,
                  p.nodePort,
                  'provided port is already allocated',
                ),
              );
            taken.add(p.nodePort);
          }
        }
        for (const p of ports) {
          if (p && typeof p === 'object' && p.nodePort === undefined) {
            p.nodePort = alloc().freeNodePort(taken);
            taken.add(p.nodePort);
          }
        }
        if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
      }
      if (!old) svc.status ??= { loadBalancer: {} };
      pending.set(svc, causes);
    },
    validate(svc, old) {
      const spec = svc.spec ?? {};
      const causes = [...(pending.get(svc) ?? [])];
      const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
      if (!types.includes(spec.type)) causes.push(notSupported('spec.type', spec.type, types));
      if (spec.sessionAffinity && !['ClientIP', 'None'].includes(spec.sessionAffinity)) {
        causes.push(notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']));
      }
      const ports: PortInput[] = Array.isArray(spec.ports) ? spec.ports : [];
      if (spec.type === 'ExternalName') {
        if (!spec.externalName) causes.push(required('spec.externalName'));
      } else if (!ports.length && spec.clusterIP !== 'None') {
        causes.push(required('spec.ports'));
      }
      const names = new Set<string>();
      ports.forEach((p, i) => {
        const path = `spec.ports[${i}]`;
        if (ports.length > 1 && !p?.name) causes.push(required(`${path}.name`));
        else if (p?.name) {
          if (names.has(p.name)) causes.push(duplicate(`${path}.name`, p.name));
          names.add(p.name);
        }
        if (p?.port === undefined) causes.push(required(`${path}.port`));
        else if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
          causes.push(invalidValue(`${path}.port`, p.port, 'must be between 1 and 65535, inclusive'));
        if (p?.protocol && !['TCP', 'UDP', 'SCTP'].includes(p.protocol))
          causes.push(notSupported(`${path}.protocol`, p.protocol, ['SCTP', 'TCP', 'UDP']));
        const tp = p?.targetPort;
        if (typeof tp === 'number' && (!Number.isInteger(tp) || tp < 1 || tp > 65535))
          causes.push(invalidValue(`${path}.targetPort`, tp, 'must be between 1 and 65535, inclusive'));
        if (p?.nodePort !== undefined && (p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX)) {
          causes.push(
            invalidValue(
              `${path}.nodePort`,
              p.nodePort,
              `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`,
            ),
          );
        }
        if (p?.nodePort !== undefined && spec.type === 'ClusterIP')
          causes.push(forbidden(`${path}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
      });
      if (old && old.spec?.type !== 'ExternalName' && spec.type !== 'ExternalName') {
        const before = old.spec?.clusterIPs ?? [];
        if (before.length && !same(spec.clusterIPs, before))
          causes.push(invalidValue('spec.clusterIPs[0]', spec.clusterIPs, 'may not change once set'));
      }
      return causes;
    },
  };
}
