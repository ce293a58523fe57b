// The releases of the cluster, indexed from the release Secrets the informer delivers: every revision of every release,
// the workloads each release's current manifest creates (namespace, kind, name → release), and a feed of release
// changes with a bounded history for resumable subscriptions (tokens are the Secrets' resourceVersions).
import { parseAllDocuments } from 'yaml';
import { resourceVersionValue } from '../../common/k8s/resource-version.js';
import type { ChangeType } from '../../common/k8s/informer.js';
import type { ReleaseRecord, ReleaseSecret } from '../clients/release-secrets.js';

export type WorkloadKindName = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';
export const WORKLOAD_KINDS: Record<WorkloadKindName, { apiVersions: string[]; enumValue: string }> = {
  Deployment: { apiVersions: ['apps/v1'], enumValue: 'DEPLOYMENT' },
  StatefulSet: { apiVersions: ['apps/v1'], enumValue: 'STATEFUL_SET' },
  DaemonSet: { apiVersions: ['apps/v1'], enumValue: 'DAEMON_SET' },
  Job: { apiVersions: ['batch/v1'], enumValue: 'JOB' },
  CronJob: { apiVersions: ['batch/v1', 'batch/v1beta1'], enumValue: 'CRON_JOB' },
};

/** A workload a release's manifest creates. */
export interface ManifestWorkload {
  namespace: string;
  kind: WorkloadKindName;
  apiVersion: string;
  name: string;
}

/** One release: its revisions (ascending) and the newest, which is the release as `helm list` shows it. */
export interface Release {
  key: string;
  namespace: string;
  name: string;
  revisions: ReleaseRecord[];
  current: ReleaseRecord;
}

/** A change of one release, as subscribers get it. */
export interface ReleaseChange {
  type: ChangeType;
  /** The release after the change (for DELETED: as it was last). */
  release: Release;
  token: bigint;
  /** Part of a resync (the token was too old to replay): every release once, as ADDED. */
  snapshot: boolean;
}

export const releaseKey = (namespace: string, name: string) => `${namespace}/${name}`;
const workloadKey = (namespace: string, kind: string, name: string) => `${namespace}/${kind}/${name}`;

/** The objects of a multi-document manifest (kind, apiVersion, metadata) with their YAML; unparsable ones skipped. */
export function manifestObjects(manifest: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const doc of parseAllDocuments(manifest)) {
    if (doc.errors.length) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch {
      continue;
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) out.push(value as Record<string, unknown>);
  }
  return out;
}

/** The workloads a release's manifest creates (objects without a namespace go to the release's). */
export function manifestWorkloads(record: ReleaseRecord): ManifestWorkload[] {
  const out: ManifestWorkload[] = [];
  for (const o of manifestObjects(record.manifest)) {
    const kind = o.kind as string;
    const apiVersion = o.apiVersion as string;
    const meta = (o.metadata ?? {}) as { name?: unknown; namespace?: unknown };
    if (!(kind in WORKLOAD_KINDS) || typeof meta.name !== 'string') continue;
    if (!WORKLOAD_KINDS[kind as WorkloadKindName].apiVersions.includes(apiVersion)) continue;
    const namespace = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : record.namespace;
    out.push({ namespace, kind: kind as WorkloadKindName, apiVersion, name: meta.name });
  }
  return out;
}

interface FeedReader {
  changed(change: ReleaseChange): void;
}

export class ReleaseIndex {
  private readonly releases = new Map<string, Release>();
  /** Secret (namespace/secret name) → the release key it belongs to (a DELETED event carries no release). */
  private readonly secretToRelease = new Map<string, string>();
  private readonly workloads = new Map<string, string>();
  private readonly workloadsOfRelease = new Map<string, ManifestWorkload[]>();
  private readonly history: ReleaseChange[] = [];
  private readonly readers = new Set<FeedReader>();
  /** History covers every change after this token. */
  private historyStart: bigint = 0n;
  private lastToken: bigint = 0n;
  private listedOnce = false;

  constructor(private readonly historySize = 5000) {}

  /** Applies a change of one release Secret (from the informer). */
  apply(type: ChangeType, secret: ReleaseSecret, relist: boolean): void {
    const sKey = `${secret.metadata.namespace}/${secret.metadata.name}`;
    const rv = resourceVersionValue(secret.metadata.resourceVersion) ?? 0n;
    // Relist differences may carry old resourceVersions; tokens never go back.
    const token = rv > this.lastToken ? rv : this.lastToken;
    let key = this.secretToRelease.get(sKey);
    const record = type === 'DELETED' ? undefined : secret.release;
    if (record) key = releaseKey(record.namespace, record.name);
    if (key === undefined) return;
    const before = this.releases.get(key);
    const revisions = (before?.revisions ?? []).filter((r) => r.secretName !== secret.metadata.name);
    if (record) {
      this.secretToRelease.set(sKey, key);
      revisions.push(record);
      revisions.sort((a, b) => a.revision - b.revision);
    } else this.secretToRelease.delete(sKey);

    let change: ReleaseChange | undefined;
    if (revisions.length) {
      const [namespace, name] = [revisions[0].namespace, revisions[0].name];
      const release: Release = { key, namespace, name, revisions, current: revisions[revisions.length - 1] };
      this.releases.set(key, release);
      this.indexWorkloads(release);
      change = { type: before ? 'MODIFIED' : 'ADDED', release, token, snapshot: false };
    } else if (before) {
      this.releases.delete(key);
      this.unindexWorkloads(key);
      change = { type: 'DELETED', release: before, token, snapshot: false };
    }
    this.lastToken = token;
    // The first LIST is the starting state, not news.
    if (!change || (relist && !this.listedOnce)) return;
    this.history.push(change);
    if (this.history.length > this.historySize) this.historyStart = this.history.shift()!.token;
    for (const r of this.readers) r.changed(change);
  }

  /**
   * After every LIST (`resourceVersion`: the list's): from the first one on, changes are news, and history covers
   * everything after the first list's resourceVersion.
   */
  listed(resourceVersion?: string): void {
    const rv = resourceVersionValue(resourceVersion) ?? 0n;
    if (rv > this.lastToken) this.lastToken = rv;
    if (!this.listedOnce) {
      this.listedOnce = true;
      this.historyStart = this.lastToken;
    }
  }

  get(namespace: string, name: string): Release | undefined {
    return this.releases.get(releaseKey(namespace, name));
  }

  all(): Release[] {
    return [...this.releases.values()];
  }

  /** The release whose current manifest creates this workload. */
  releaseOfWorkload(namespace: string, kind: string, name: string): Release | undefined {
    const key = this.workloads.get(workloadKey(namespace, kind, name));
    return key === undefined ? undefined : this.releases.get(key);
  }

  workloadsOf(release: Release): ManifestWorkload[] {
    return this.workloadsOfRelease.get(release.key) ?? [];
  }

  /** The newest token seen. */
  get latestToken(): bigint {
    return this.lastToken;
  }

  /**
   * The changes after `after` still in history, or undefined when history does not reach back that far (the caller
   * sends a snapshot instead).
   */
  changesAfter(after: bigint): ReleaseChange[] | undefined {
    if (after < this.historyStart) return undefined;
    return this.history.filter((c) => c.token > after);
  }

  /** Subscribers reading the feed now. */
  get readerCount(): number {
    return this.readers.size;
  }

  attach(reader: FeedReader): () => void {
    this.readers.add(reader);
    return () => this.readers.delete(reader);
  }

  private indexWorkloads(release: Release): void {
    this.unindexWorkloads(release.key);
    // An uninstalled release (kept with --keep-history) created nothing that is still there.
    if (release.current.status === 'uninstalled') return;
    const list = manifestWorkloads(release.current);
    this.workloadsOfRelease.set(release.key, list);
    for (const w of list) this.workloads.set(workloadKey(w.namespace, w.kind, w.name), release.key);
  }

  private unindexWorkloads(key: string): void {
    for (const w of this.workloadsOfRelease.get(key) ?? []) {
      const wk = workloadKey(w.namespace, w.kind, w.name);
      if (this.workloads.get(wk) === key) this.workloads.delete(wk);
    }
    this.workloadsOfRelease.delete(key);
  }
}
