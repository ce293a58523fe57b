// Live container logs (issue 15 §2): podLogs and workloadLogs subscriptions and Pod.containerLog, authorized before
// any call to the cluster. Upstream log streams are shared: one per (pod, container, start) whatever the number of
// subscribers, reference counted (closed with its last subscriber), resumed on their own after a drop; each
// subscriber merges its streams into chunks with a resume token (model/live-subscriber.ts).
import type * as k8s from '@kubernetes/client-node';
import { authorize, isPlatformAdmin, withTenancy, type Tenancy, type Viewer } from '../../common/authz.js';
import { badUserInput, notFoundError, resumeExpired } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { validateName, validateNamespace } from '../../common/k8s/names.js';
import { NamespaceWatches, PodLogClient, sinceTimeOf, type WatchedCollection } from '../clients/pod-logs.js';
import { mapPodLogError } from './live-errors.js';
import { ContainerStream, startKey, type StreamStart } from './live-stream.js';
import { DEFAULT_BATCHING, LiveSubscriber, type BatchingOptions, type LiveLogChunk } from './live-subscriber.js';
import { decodeToken, keyOfTime, type Position, type ResumeState } from './live-token.js';
import { WORKLOAD_KINDS, WorkloadPods, type WorkloadKind } from './live-workload.js';

export interface LiveLogsOptions {
  kubeConfig: k8s.KubeConfig;
  log: Logger;
  tenancy?: Tenancy;
  batching?: Partial<BatchingOptions>;
  /** Live subscriptions one user (platform admins aside) may have open at once (default 100). */
  maxSubscriptionsPerUser?: number;
}

export interface PodLogsArgs {
  namespace: string;
  pod: string;
  container?: string | null;
  tailLines?: number | null;
  sinceSeconds?: number | null;
  resumeToken?: string | null;
}

export interface WorkloadLogsArgs {
  namespace: string;
  kind: WorkloadKind;
  name: string;
  container?: string | null;
  tailLines?: number | null;
  resumeToken?: string | null;
}

export interface ContainerLogArgs {
  container?: string | null;
  tailLines?: number | null;
  previous?: boolean | null;
}

/** tailLines bounds (live and one read): the newest lines a screen can use; the API server keeps no more anyway. */
export const MAX_TAIL_LINES = 10_000;
/** Pod.containerLog without tailLines: the newest this many lines (a String! field is held whole in memory). */
export const DEFAULT_CONTAINER_LOG_LINES = 10_000;
/** A one-shot read is cut at this many bytes. */
const MAX_CONTAINER_LOG_BYTES = 16 * 1024 * 1024;
const MAX_SINCE_SECONDS = 30 * 24 * 3600;

function checkInt(value: number | null | undefined, argument: string, min: number, max: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw badUserInput(`${argument} must be an integer from ${min} to ${max}`, { argument });
  return value;
}

const isFinishedPod = (pod: k8s.V1Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** A container's state as far as its log goes: a change (restart, start, stop) means new lines may be readable. */
function containerSignature(pod: k8s.V1Pod, container: string): string {
  const st = pod.status;
  const cs = [
    ...(st?.containerStatuses ?? []),
    ...(st?.initContainerStatuses ?? []),
    ...(st?.ephemeralContainerStatuses ?? []),
  ].find((c) => c.name === container);
  return JSON.stringify([st?.phase, pod.spec?.nodeName, cs?.restartCount, cs?.state, cs?.containerID]);
}

/** The container's restartCount in the pod the watch has under that name, if it is still the pod with `uid`. */
function restartCountOf(pod: k8s.V1Pod | undefined, uid: string, container: string): number | undefined {
  if (pod?.metadata?.uid !== uid) return undefined;
  const st = pod.status;
  return [
    ...(st?.containerStatuses ?? []),
    ...(st?.initContainerStatuses ?? []),
    ...(st?.ephemeralContainerStatuses ?? []),
  ].find((c) => c.name === container)?.restartCount;
}

function containersOf(pod: k8s.V1Pod): { all: string[]; main: string[] } {
  const main = (pod.spec?.containers ?? []).map((c) => c.name);
  const all = [
    ...(pod.spec?.initContainers ?? []).map((c) => c.name),
    ...main,
    ...(pod.spec?.ephemeralContainers ?? []).map((c) => c.name),
  ];
  return { all, main };
}

/** A resumed subscription whose pod was deleted while it was disconnected: its last lines cannot be read any more. */
const deletedWhileAway = (namespace: string, pod: string) =>
  resumeExpired(
    `pod ${namespace}/${pod} was deleted while this subscription was disconnected (or after it ended): lines it wrote after the resumeToken's position, if any, can no longer be read from the kubelet; search them with logs (filter.pods), and subscribe again without resumeToken`,
  );

export class LiveLogs {
  readonly client: PodLogClient;
  private readonly watches: NamespaceWatches;
  private readonly tenancy?: Tenancy;
  private readonly log: Logger;
  private readonly batching: BatchingOptions;
  /** Streams new subscribers may join, by (namespace, pod uid, container, start). */
  private readonly joinable = new Map<string, ContainerStream>();
  /** Every open stream. */
  private readonly open = new Set<ContainerStream>();
  private readonly subscribers = new Set<LiveSubscriber>();
  /** Open subscriptions per user (platform admins are not counted). */
  private readonly perUser = new Map<string, number>();
  private readonly maxPerUser: number;
  private closed = false;

  constructor(opts: LiveLogsOptions) {
    this.client = new PodLogClient(opts.kubeConfig);
    this.watches = new NamespaceWatches(opts.kubeConfig, opts.log);
    this.tenancy = opts.tenancy;
    this.log = opts.log;
    this.batching = { ...DEFAULT_BATCHING, ...opts.batching };
    this.maxPerUser = opts.maxSubscriptionsPerUser ?? 100;
  }

  /**
   * Counts a subscription of the viewer (each may open a stream per container): a tenant cannot open streams to the
   * API server without bound. Returns the release, to run when the subscription ends.
   */
  private admit(viewer: Viewer): () => void {
    if (isPlatformAdmin(viewer)) return () => {};
    const user = viewer.username;
    const open = this.perUser.get(user) ?? 0;
    if (open >= this.maxPerUser)
      throw badUserInput(`at most ${this.maxPerUser} live log subscriptions may be open at once; end one first`, {
        limit: this.maxPerUser,
      });
    this.perUser.set(user, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.perUser.get(user) ?? 1) - 1;
      if (n > 0) this.perUser.set(user, n);
      else this.perUser.delete(user);
    };
  }

  /** Open upstream log streams. */
  upstreamStreams(): number {
    return this.open.size;
  }

  /** For the subgraph's metrics: open streams and subscriptions, and pods/log requests made so far. */
  stats(): { upstreamStreams: number; subscriptions: number; logRequests: number } {
    return { upstreamStreams: this.open.size, subscriptions: this.subscribers.size, logRequests: this.client.requests };
  }

  /** Cuts every upstream log connection as a network failure would; each stream resumes by itself. */
  dropUpstreams(): number {
    let n = 0;
    for (const s of this.open) if (s.dropUpstream()) n++;
    return n;
  }

  private authorizeRead(viewer: Viewer, namespace: string): void {
    authorize(withTenancy(viewer, this.tenancy), 'read', namespace);
    validateNamespace(namespace);
  }

  // ------------------------------------------------------------------ podLogs

  async podLogs(viewer: Viewer, args: PodLogsArgs): Promise<AsyncIterableIterator<LiveLogChunk>> {
    this.authorizeRead(viewer, args.namespace);
    validateName('dns1123-subdomain', args.pod, 'pod');
    if (args.container != null) validateName('dns1123-label', args.container, 'container');
    const tailLines = checkInt(args.tailLines, 'tailLines', 0, MAX_TAIL_LINES);
    const sinceSeconds = checkInt(args.sinceSeconds, 'sinceSeconds', 1, MAX_SINCE_SECONDS);
    if (tailLines !== undefined && sinceSeconds !== undefined)
      throw badUserInput('give at most one of tailLines and sinceSeconds', { argument: 'sinceSeconds' });
    const resume = args.resumeToken ? decodeToken(args.resumeToken) : undefined;
    this.ensureOpen();

    const admitted = this.admit(viewer);
    const acquired = await this.acquirePods(args.namespace).catch((e: unknown) => {
      admitted();
      throw e;
    });
    const { collection: pods } = acquired;
    const release = () => {
      acquired.release();
      admitted();
    };
    try {
      // A pod created a moment ago may not have reached the watch yet: the API server has the last word.
      const pod =
        (pods.get(args.pod) as k8s.V1Pod | undefined) ?? (await this.client.readPod(args.namespace, args.pod));
      const uid = pod?.metadata?.uid;
      const before = resume?.pods.get(args.pod);
      if (before && (!pod || before.uid !== uid)) throw deletedWhileAway(args.namespace, args.pod);
      if (!pod || !uid) throw notFoundError(`pod ${args.namespace}/${args.pod} not found`);
      const { all, main } = containersOf(pod);
      if (args.container != null && !all.includes(args.container))
        throw badUserInput(
          `container ${args.container} is not valid for pod ${args.pod}, choose one of: ${all.join(', ')}`,
          { argument: 'container' },
        );
      const containers = args.container != null ? [args.container] : main;
      const state: ResumeState = resume ?? { since: keyOfTime(Date.now()), pods: new Map() };
      const fresh: StreamStart =
        tailLines !== undefined
          ? { kind: 'tail', tailLines }
          : sinceSeconds !== undefined
            ? { kind: 'since', sinceSeconds }
            : { kind: 'all' };
      const sub = this.subscriber(args.namespace, state, release, (_pod, error, remaining) => {
        // Every container's stream ends with the pod: the subscription ends once all of them delivered theirs.
        if (remaining === 0) sub.finish(error);
      });
      for (const container of containers) {
        const { start, after } = this.startFor(state, args.pod, uid, container, resume ? undefined : fresh);
        const stream = this.streamFor(args.namespace, pods, pod, container, start);
        sub.attach(stream, () => (pods.get(args.pod) as k8s.V1Pod | undefined)?.spec?.nodeName ?? null, after);
      }
      return sub.queue;
    } catch (e) {
      release();
      throw mapPodLogError(e);
    }
  }

  // ------------------------------------------------------------------ workloadLogs

  async workloadLogs(viewer: Viewer, args: WorkloadLogsArgs): Promise<AsyncIterableIterator<LiveLogChunk>> {
    this.authorizeRead(viewer, args.namespace);
    if (!(args.kind in WORKLOAD_KINDS)) throw badUserInput(`unknown workload kind ${String(args.kind)}`);
    validateName('dns1123-subdomain', args.name, 'name');
    if (args.container != null) validateName('dns1123-label', args.container, 'container');
    const tailLines = checkInt(args.tailLines, 'tailLines', 0, MAX_TAIL_LINES);
    const resume = args.resumeToken ? decodeToken(args.resumeToken) : undefined;
    this.ensureOpen();

    const admitted = this.admit(viewer);
    const workload = new WorkloadPods(this.watches, args.namespace, args.kind, args.name);
    try {
      await workload.start(resume !== undefined);
    } catch (e) {
      admitted();
      throw mapPodLogError(e);
    }
    const { collection: pods, release } = await this.acquirePods(args.namespace).catch((e: unknown) => {
      workload.stop();
      admitted();
      throw mapPodLogError(e);
    });
    if (resume) {
      // A pod of the token that is gone was deleted while the client was away: what it wrote after the token's
      // position can no longer be read from the kubelet (a pod deleted while connected has left the token).
      const now = new Map(workload.current().map((p) => [p.metadata?.name, p.metadata?.uid]));
      const gone = [...resume.pods].find(([name, { uid }]) => now.get(name) !== uid);
      if (gone) {
        workload.stop();
        release();
        admitted();
        throw deletedWhileAway(args.namespace, gone[0]);
      }
    }
    const state: ResumeState = resume ?? { since: keyOfTime(Date.now()), pods: new Map() };
    const sub = this.subscriber(
      args.namespace,
      state,
      () => {
        workload.stop();
        release();
        admitted();
      },
      // A pod deleted: its lines so far are delivered, and the others go on.
      (pod) => sub.detachPod(pod),
    );
    const nodeOf = (name: string) => () => (pods.get(name) as k8s.V1Pod | undefined)?.spec?.nodeName ?? null;
    const follow = (pod: k8s.V1Pod, fresh: StreamStart | undefined) => {
      if (sub.ended) return;
      const name = pod.metadata!.name!;
      const uid = pod.metadata!.uid!;
      const { main, all } = containersOf(pod);
      const containers = args.container != null ? (all.includes(args.container) ? [args.container] : []) : main;
      for (const container of containers) {
        if (sub.has(name, container)) continue;
        const { start, after } = this.startFor(state, name, uid, container, fresh);
        sub.attach(this.streamFor(args.namespace, pods, pod, container, start), nodeOf(name), after);
      }
    };
    // The pods there now start as asked (the last tailLines); pods that come later, from their first line.
    const initial: StreamStart | undefined = resume
      ? undefined
      : tailLines !== undefined
        ? { kind: 'tail', tailLines }
        : { kind: 'all' };
    for (const pod of workload.current()) follow(pod, initial);
    workload.follow({
      added: (pod) => follow(pod, resume ? undefined : { kind: 'all' }),
      changed: () => {},
      removed: (name) => sub.detachPod(name),
      workloadDeleted: (error) => sub.finish(error),
    });
    return sub.queue;
  }

  // ------------------------------------------------------------------ Pod.containerLog

  async containerLog(
    viewer: Viewer,
    pod: { namespace: string; name: string },
    args: ContainerLogArgs,
  ): Promise<string> {
    this.authorizeRead(viewer, pod.namespace);
    validateName('dns1123-subdomain', pod.name, 'name');
    if (args.container != null) validateName('dns1123-label', args.container, 'container');
    const tailLines = checkInt(args.tailLines, 'tailLines', 0, MAX_TAIL_LINES) ?? DEFAULT_CONTAINER_LOG_LINES;
    this.ensureOpen();
    try {
      return await this.client.read(pod.namespace, pod.name, {
        ...(args.container != null ? { container: args.container } : {}),
        tailLines,
        previous: args.previous === true,
        limitBytes: MAX_CONTAINER_LOG_BYTES,
      });
    } catch (e) {
      throw mapPodLogError(e, `pod ${pod.namespace}/${pod.name}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of [...this.subscribers]) s.finish();
    for (const s of [...this.open]) s.close();
    await this.watches.close();
  }

  // ------------------------------------------------------------------ plumbing

  private ensureOpen(): void {
    if (this.closed) throw new Error('live logs are shut down');
  }

  private async acquirePods(namespace: string) {
    try {
      return await this.watches.acquire(namespace, 'pods');
    } catch (e) {
      throw mapPodLogError(e);
    }
  }

  private subscriber(
    namespace: string,
    state: ResumeState,
    release: () => void,
    onSourceEnded: (pod: string, error: Error, remaining: number) => void,
  ): LiveSubscriber {
    const sub: LiveSubscriber = new LiveSubscriber(namespace, state, this.batching, onSourceEnded, () => {
      this.subscribers.delete(sub);
      release();
    });
    this.subscribers.add(sub);
    return sub;
  }

  /**
   * Where a container's stream starts for a subscriber: `fresh` for a new subscription; for a resumed one the whole
   * second of its position (dropping what it had), or, with no position, the subscription's first start.
   */
  private startFor(
    state: ResumeState,
    pod: string,
    uid: string,
    container: string,
    fresh: StreamStart | undefined,
  ): { start: StreamStart; after?: Position } {
    const entry = state.pods.get(pod);
    const position = entry?.uid === uid ? entry.containers.get(container) : undefined;
    if (position) return { start: { kind: 'time', sinceTime: sinceTimeOf(position.key) }, after: position };
    if (fresh) return { start: fresh };
    return { start: { kind: 'time', sinceTime: sinceTimeOf(state.since) }, after: { key: state.since, n: 0 } };
  }

  /** The shared stream of a container from a start: an open one that can still take a subscriber, or a new one. */
  private streamFor(
    namespace: string,
    pods: WatchedCollection,
    pod: k8s.V1Pod,
    container: string,
    start: StreamStart,
  ): ContainerStream {
    const name = pod.metadata!.name!;
    const uid = pod.metadata!.uid!;
    const key = JSON.stringify([namespace, uid, container, startKey(start)]);
    const existing = this.joinable.get(key);
    if (existing?.joinable) return existing;
    let signature = containerSignature(pod, container);
    let unlisten: () => void = () => {};
    // The pod watch stays while the stream is open (the stream's pod events come from it).
    const hold = this.watches.acquire(namespace, 'pods');
    const stream = new ContainerStream(
      { namespace, pod: name, uid, container },
      start,
      this.client,
      this.log,
      (s) => {
        if (this.joinable.get(key) === s) this.joinable.delete(key);
      },
      (s) => {
        this.open.delete(s);
        unlisten();
        void hold.then(
          (h) => h.release(),
          () => {},
        );
      },
      () => restartCountOf(pods.get(name) as k8s.V1Pod | undefined, uid, container),
    );
    this.joinable.set(key, stream);
    this.open.add(stream);
    unlisten = pods.listen((type, obj) => {
      if (obj.metadata?.uid !== uid) return;
      if (type === 'DELETED') return stream.podDeleted();
      const p = obj as k8s.V1Pod;
      const next = containerSignature(p, container);
      if (next === signature) return;
      signature = next;
      stream.podChanged(isFinishedPod(p));
    });
    if (isFinishedPod(pod)) stream.podChanged(true);
    stream.begin();
    return stream;
  }
}
