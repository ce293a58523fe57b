// The namespace controller: a new namespace gets its `default` ServiceAccount (service account controller) and
// `kube-root-ca.crt` ConfigMap (root CA publisher); a namespace being deleted waits the controller's
// namespaceDeletionGracePeriod (5 s, so a `kubectl delete -f` of the namespace and its objects still finds them), is
// emptied of every namespaced object (their finalizers and grace periods honoured) while its five deletion
// conditions tell how far it got, then its `kubernetes` finalizer is removed so it goes.
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
  /** When each terminating namespace's grace period ends (the real controller's queue.AddAfter of 5 s). */
  private readonly graceUntil = new Map<string, number>();

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
        this.graceUntil.delete(name);
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
    if (!ns.metadata.deletionTimestamp) return this.populate(name);
    const now = Date.now();
    if (!this.graceUntil.has(name)) {
      const wait = this.ctx.clock.delay('namespaceDeletionGracePeriod', 5000);
      this.graceUntil.set(name, now + wait);
      this.ctx.setTimer(() => this.enqueue(name), wait);
      return;
    }
    // A timer may fire before Date.now() reaches its end (libuv counts from the loop's cached time, which lags behind
    // a busy loop): then it is armed again for what is left, or the namespace would wait for an event forever.
    const until = this.graceUntil.get(name)!;
    if (now < until) return this.ctx.setTimer(() => this.enqueue(name), until - now + 1);
    this.finalize(ns);
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
    const finalizerCounts = new Map<string, number>();
    for (const rt of this.namespacedTypes()) {
      const objects = this.store.list(rt, name);
      if (!objects.length) continue;
      left += objects.length;
      // The real controller names a resource `plural.group`, so a core one ends with a dot ("pods.").
      leftBy.push(`${rt.plural}.${rt.group} has ${objects.length} resource instances`);
      for (const o of objects)
        for (const f of o.metadata.finalizers ?? []) finalizerCounts.set(f, (finalizerCounts.get(f) ?? 0) + 1);
    }
    this.setDeletionConditions(
      ns,
      leftBy.sort(),
      [...finalizerCounts].sort(([a], [b]) => a.localeCompare(b)),
    );
    if (left) {
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

  /** The deleter's five conditions: its three failure kinds (none here) and what content and finalizers remain. */
  private setDeletionConditions(ns: KObject, leftBy: string[], finalizers: [string, number][]): void {
    const current = this.store.get(this.store.type('', 'namespaces'), undefined, ns.metadata.name!) ?? ns;
    const wanted: Omit<Condition, 'lastTransitionTime'>[] = [
      {
        type: 'NamespaceDeletionDiscoveryFailure',
        status: 'False',
        reason: 'ResourcesDiscovered',
        message: 'All resources successfully discovered',
      },
      {
        type: 'NamespaceDeletionGroupVersionParsingFailure',
        status: 'False',
        reason: 'ParsedGroupVersions',
        message: 'All legacy kube types successfully parsed',
      },
      {
        type: 'NamespaceDeletionContentFailure',
        status: 'False',
        reason: 'ContentDeleted',
        message: 'All content successfully deleted, may be waiting on finalization',
      },
      leftBy.length
        ? {
            type: 'NamespaceContentRemaining',
            status: 'True',
            reason: 'SomeResourcesRemain',
            message: `Some resources are remaining: ${leftBy.join(', ')}`,
          }
        : {
            type: 'NamespaceContentRemaining',
            status: 'False',
            reason: 'ContentRemoved',
            message: 'All content successfully removed',
          },
      finalizers.length
        ? {
            type: 'NamespaceFinalizersRemaining',
            status: 'True',
            reason: 'SomeFinalizersRemain',
            message: `Some content in the namespace has finalizers remaining: ${finalizers.map(([f, n]) => `${f} in ${n} resource instances`).join(', ')}`,
          }
        : {
            type: 'NamespaceFinalizersRemaining',
            status: 'False',
            reason: 'ContentHasNoFinalizers',
            message: 'All content-preserving finalizers finished',
          },
    ];
    const old: Condition[] = current.status?.conditions ?? [];
    let changed = false;
    const conditions = wanted.map((c) => {
      const before = old.find((o) => o.type === c.type);
      if (before && before.status === c.status && before.reason === c.reason && before.message === c.message)
        return before;
      changed = true;
      return {
        ...c,
        lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : timestamp(),
      } as Condition;
    });
    if (!changed) return;
    this.store.update(
      this.store.type('', 'namespaces'),
      { ...current, status: { ...(current.status ?? {}), conditions } },
      { subresource: 'status' },
    );
  }
}
