// Helm's release storage, read from the cluster: the Secrets Helm writes for every revision of a release
// (`sh.helm.release.v1.<name>.v<revision>`, type helm.sh/release.v1, label owner=helm), followed by one informer with
// that label selector, so releases made by kubegraph, by `helm` on a laptop or by any other tool are all seen and
// listing them costs no API call. Each Secret is decoded when it arrives and kept only in its compact form (the chart's
// templates and files, which make most of a stored release, are dropped).
import { gunzipSync } from 'node:zlib';
import * as k8s from '@kubernetes/client-node';
import {
  Informer,
  StoppableWatch,
  warnOnRestart,
  type ChangeType,
  type WatchHooks,
} from '../../common/k8s/informer.js';
import type { Logger } from '../../common/log.js';

export const HELM_SECRET_TYPE = 'helm.sh/release.v1';
export const HELM_OWNER_SELECTOR = 'owner=helm';
/** A decoded release larger than this is refused (a Secret holds at most 1 MiB; gzip could inflate it a lot). */
const MAX_DECODED_BYTES = 64 * 1024 * 1024;

/** One revision of one release, as Helm stored it (what kubegraph needs of it). */
export interface ReleaseRecord {
  namespace: string;
  name: string;
  revision: number;
  /** Helm's status text: deployed, failed, pending-install, … */
  status: string;
  chartName: string;
  chartVersion: string;
  appVersion: string | null;
  firstDeployed: string | null;
  lastDeployed: string | null;
  description: string | null;
  notes: string | null;
  /** The values the user supplied (`helm get values`). */
  values: Record<string, unknown>;
  manifest: string;
  /** The hooks' manifests (they are applied too, so they are judged too). */
  hookManifests: string[];
  /** The Secret it came from. */
  secretName: string;
  resourceVersion: string;
}

/** A Secret as the informer keeps it: metadata and the decoded release (undefined: not a Helm release). */
export interface ReleaseSecret extends k8s.KubernetesObject {
  metadata: k8s.V1ObjectMeta;
  release?: ReleaseRecord;
  decodeError?: string;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * Decodes the `release` field of a Helm storage Secret: the Secret's own base64 (already undone by the caller when it
 * passes bytes), then Helm's base64, then gzip when the magic bytes 1f 8b say so (Helm may store plain JSON), then JSON.
 */
export function decodeReleaseField(helmBase64: string): Record<string, unknown> {
  let bytes = Buffer.from(helmBase64.trim(), 'base64');
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = gunzipSync(bytes, { maxOutputLength: MAX_DECODED_BYTES });
  }
  const value: unknown = JSON.parse(bytes.toString('utf8'));
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('the release is not a JSON object');
  return value as Record<string, unknown>;
}

/** The compact record of a decoded release (the JSON Helm stores: name, namespace, version, info, chart, config, …). */
export function releaseRecordOf(
  json: Record<string, unknown>,
  secret: { name: string; resourceVersion: string },
): ReleaseRecord {
  const info = (json.info ?? {}) as Record<string, unknown>;
  const chart = (json.chart ?? {}) as Record<string, unknown>;
  const meta = (chart.metadata ?? {}) as Record<string, unknown>;
  const hooks = Array.isArray(json.hooks) ? (json.hooks as Record<string, unknown>[]) : [];
  const config = json.config;
  if (typeof json.name !== 'string' || typeof json.namespace !== 'string' || typeof json.version !== 'number') {
    throw new Error('the release has no name, namespace or version');
  }
  return {
    namespace: json.namespace,
    name: json.name,
    revision: json.version,
    status: str(info.status) ?? 'unknown',
    chartName: str(meta.name) ?? '',
    chartVersion: str(meta.version) ?? '',
    appVersion: str(meta.appVersion),
    firstDeployed: str(info.first_deployed),
    lastDeployed: str(info.last_deployed),
    description: str(info.description),
    notes: str(info.notes),
    values: config && typeof config === 'object' && !Array.isArray(config) ? (config as Record<string, unknown>) : {},
    manifest: typeof json.manifest === 'string' ? json.manifest : '',
    hookManifests: hooks.map((h) => (typeof h?.manifest === 'string' ? h.manifest : '')).filter(Boolean),
    secretName: secret.name,
    resourceVersion: secret.resourceVersion,
  };
}

/** A Secret from the API reduced to what the informer keeps: its metadata and the decoded release. */
export function compactSecret(s: k8s.V1Secret): ReleaseSecret {
  const metadata: k8s.V1ObjectMeta = {
    name: s.metadata?.name,
    namespace: s.metadata?.namespace,
    uid: s.metadata?.uid,
    resourceVersion: s.metadata?.resourceVersion,
    labels: s.metadata?.labels,
  };
  const out: ReleaseSecret = { apiVersion: 'v1', kind: 'Secret', metadata };
  const field = s.data?.release;
  if (s.type !== HELM_SECRET_TYPE || typeof field !== 'string') return out;
  try {
    const json = decodeReleaseField(Buffer.from(field, 'base64').toString('latin1'));
    const record = releaseRecordOf(json, {
      name: metadata.name ?? '',
      resourceVersion: metadata.resourceVersion ?? '',
    });
    // The Secret is the truth of where the release lives: a release JSON naming another namespace is not believed.
    if (record.namespace !== metadata.namespace) throw new Error(`the release names namespace ${record.namespace}`);
    out.release = record;
  } catch (e) {
    out.decodeError = e instanceof Error ? e.message : String(e);
  }
  return out;
}

/** A StoppableWatch that asks only for Helm's Secrets (the shared Informer sends no label selector of its own). */
class HelmSecretWatch extends StoppableWatch {
  override watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, obj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
    hooks: WatchHooks = {},
  ): Promise<AbortController> {
    return super.watch(path, { ...query, labelSelector: HELM_OWNER_SELECTOR }, callback, done, hooks);
  }
}

export interface ReleaseSecretsOptions {
  kubeConfig: k8s.KubeConfig;
  log: Logger;
  /** Every change of a Helm Secret, in watch order; `relist`: found by a LIST (the watch was down) rather than watched. */
  onChange: (type: ChangeType, secret: ReleaseSecret, relist: boolean) => void;
  onListed?: () => void;
}

/** The informer over Helm's release Secrets in every namespace. */
export class ReleaseSecretsClient {
  private readonly watch: HelmSecretWatch;
  private readonly informer: Informer<ReleaseSecret>;
  private listing = false;

  constructor(opts: ReleaseSecretsOptions) {
    const core = opts.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.watch = new HelmSecretWatch(opts.kubeConfig);
    this.informer = new Informer<ReleaseSecret>({
      path: '/api/v1/secrets',
      watch: this.watch,
      list: async () => {
        const l = await core.listSecretForAllNamespaces({ labelSelector: HELM_OWNER_SELECTOR });
        this.listing = true;
        return { ...l, items: l.items.map(compactSecret) } as k8s.KubernetesListObject<ReleaseSecret>;
      },
      transform: (o) => compactSecret(o as k8s.V1Secret),
      onChange: (type, s) => opts.onChange(type, s, this.listing),
      onListed: () => {
        this.listing = false;
        opts.onListed?.();
      },
      onError: warnOnRestart(opts.log, 'helm release secret watch failed; restarting'),
      backoff: { initialMs: 500 },
    });
  }

  /** Resolves once the first attempt has ended (listed and watching, or failed and retrying). */
  async start(): Promise<void> {
    await this.informer.start();
  }

  get synced(): Promise<void> {
    return this.informer.synced;
  }

  isSynced(): boolean {
    return this.informer.isSynced();
  }

  latestResourceVersion(): string {
    return this.informer.latestResourceVersion();
  }

  async stop(): Promise<void> {
    await this.informer.stop();
    this.watch.stop();
  }
}
