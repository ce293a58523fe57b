// The namespace controller: a new namespace gets its `default` ServiceAccount (service account controller) and
// `kube-root-ca.crt` ConfigMap (root CA publisher); a namespace being deleted is emptied of every namespaced
// object, then its `kubernetes` finalizer is removed so it goes.
import { ApiError } from '../errors.js';
import type { ResourceType } from '../registry.js';
import type { StoreEvent } from '../store.js';
import { timestamp } from '../store.js';
import type { Condition, KObject } from '../types.js';
import { Controller, type ControllerContext } from './base.js';

export const ROOT_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIDBTCCAe2gAwIBAgIIZ2xYcGFuZGJveDANBgkqhkiG9w0BAQsFADAVMRMwEQYD
VQQDEwprdWJlcm5ldGVzMB4XDTI1MDEwMTAwMDAwMFoXDTM1MDEwMTAwMDAwMFow
FTETMBEGA1UEAxMKa3ViZXJuZXRlczCCASIwDQYJKoZIhvcNAQEBBQADggEPADCC
AQoCggEBAMKubegraphSandboxCertificateAuthorityForSimulationOnly0
-----END CERTIFICATE-----
`;

const CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

export class NamespaceController extends Controller {
  private readonly terminating = new Set<string>();
  private readonly resyncing = new Set<string>();

  constructor(ctx: ControllerContext) {
    super(ctx);
  }

  protected override initialKeys(): string[] {
    return this.store.list(this.store.type('', 'namespaces')).map((n) => n.metadata.name!);
  }

  protected keysFor(ev: StoreEvent): string[] {
    const { rt, object } = ev;
    if (rt.group === '' && rt.kind === 'Namespace') {
      const name = object.metadata.name!;
      if (ev.type === 'DELETED') {
        this.terminating.delete(name);
        return [];
      }
      if (object.metadata.deletionTimestamp) this.terminating.add(name);
      return [name];
    }
    if (!rt.namespaced) return [];
    const ns = object.metadata.namespace;
    if (!ns) return [];
    if (ev.type === 'DELETED' && this.terminating.has(ns)) return [ns];
    // The default ServiceAccount and the root CA ConfigMap come back when removed from a live namespace.
    if (
      ev.type === 'DELETED' &&
      rt.group === '' &&
      ((rt.kind === 'ServiceAccount' && object.metadata.name === 'default') ||
        (rt.kind === 'ConfigMap' && object.metadata.name === 'kube-root-ca.crt'))
    ) {
      return [ns];
    }
    return [];
  }

  protected reconcile(name: string): void {
    const nsRT = this.store.type('', 'namespaces');
    const ns = this.store.get(nsRT, undefined, name);
    if (!ns) return;
    if (ns.metadata.deletionTimestamp) this.finalize(ns);
    else this.populate(name);
  }

  private populate(ns: string): void {
    const saRT = this.store.type('', 'serviceaccounts');
    const cmRT = this.store.type('', 'configmaps');
    this.createIfMissing(saRT, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: ns },
    });
    this.createIfMissing(cmRT, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'kube-root-ca.crt',
        namespace: ns,
        annotations: { 'kubernetes.io/description': CA_DESCRIPTION },
      },
      data: { 'ca.crt': ROOT_CA_PEM },
    });
  }

  private createIfMissing(rt: ResourceType, obj: KObject): void {
    if (this.store.get(rt, obj.metadata.namespace, obj.metadata.name!)) return;
    try {
      this.store.create(rt, obj);
    } catch (e) {
      // Already there, or the namespace started terminating meanwhile.
      if (!(e instanceof ApiError && (e.code === 409 || e.code === 403 || e.code === 404))) throw e;
    }
  }

  private namespacedTypes(): ResourceType[] {
    const seen = new Set<string>();
    const out: ResourceType[] = [];
    for (const rt of this.store.registry.all()) {
      const k = `${rt.group}/${rt.plural}`;
      if (!rt.namespaced || seen.has(k)) continue;
      seen.add(k);
      out.push(rt);
    }
    return out;
  }

  private finalize(ns: KObject): void {
    const name = ns.metadata.name!;
    for (const rt of this.namespacedTypes()) {
      for (const o of this.store.list(rt, name)) {
        if (o.metadata.deletionTimestamp) continue;
        try {
          this.store.delete(rt, name, o.metadata.name!, { propagationPolicy: 'Background' });
        } catch (e) {
          if (!(e instanceof ApiError && e.code === 404)) throw e;
        }
      }
    }
    // What is left after this pass (terminating pods, objects with finalizers) decides whether we are done.
    let left = 0;
    const leftBy: string[] = [];
    for (const rt of this.namespacedTypes()) {
      const n = this.store.list(rt, name).length;
      if (n) {
        left += n;
        leftBy.push(`${rt.plural}${rt.group ? '.' + rt.group : ''} has ${n} resource instances`);
      }
    }
    if (left) {
      this.setContentCondition(ns, leftBy);
      // Deletions of the remaining objects requeue us; the timer is a safety net for objects that never change.
      if (!this.resyncing.has(name)) {
        this.resyncing.add(name);
        this.ctx.setTimer(
          () => {
            this.resyncing.delete(name);
            this.enqueue(name);
          },
          Math.max(50, this.ctx.clock.delay('namespaceResync', 1000)),
        );
      }
      return;
    }
    const current = this.store.get(this.store.type('', 'namespaces'), undefined, name)!;
    const spec = {
      ...(current.spec ?? {}),
      finalizers: (current.spec?.finalizers ?? []).filter((f: string) => f !== 'kubernetes'),
    };
    if (!spec.finalizers.length) delete spec.finalizers;
    const metadata = { ...current.metadata };
    const finalizers = (metadata.finalizers ?? []).filter((f) => f !== 'kubernetes');
    if (finalizers.length) metadata.finalizers = finalizers;
    else delete metadata.finalizers;
    this.store.update(this.store.type('', 'namespaces'), { ...current, metadata, spec });
  }

  private setContentCondition(ns: KObject, leftBy: string[]): void {
    const message = `Some resources are remaining: ${leftBy.join(', ')}`;
    const conditions: Condition[] = (ns.status?.conditions ?? []).filter(
      (c: Condition) => c.type !== 'NamespaceContentRemaining',
    );
    const old = (ns.status?.conditions ?? []).find((c: Condition) => c.type === 'NamespaceContentRemaining');
    if (old?.message === message) return;
    conditions.push({
      type: 'NamespaceContentRemaining',
      status: 'True',
      lastTransitionTime: timestamp(),
      reason: 'SomeResourcesRemain',
      message,
    });
    this.store.update(
      this.store.type('', 'namespaces'),
      { ...ns, status: { ...(ns.status ?? {}), conditions } },
      { subresource: 'status' },
    );
  }
}
