// The kubelets of every node in one controller: for each pod bound to a node it runs the simulated pod lifecycle
// (sandbox and IP, image pulls, init containers, containers starting, readiness, crashes with CrashLoopBackOff,
// image pull failures with ImagePullBackOff, finite workloads completing) and graceful termination, writing pod
// status and the kubelet's Events as a real node would. State is kept per pod (keyed ns/name) so each step is O(1).
// Its per-pod state and the container runtime's helpers are in kubelet-runtime.ts.
import type { StoreEvent } from '../store.js';
import type {
  Condition,
  Container,
  ContainerState,
  ContainerStatus,
  KNode,
  KObject,
  KPod,
  PodStatus,
} from '../types.js';
import { Controller, nsKey, splitKey, type ControllerContext } from './base.js';
import { recordEvent } from './events.js';
import {
  type ContainerRun,
  type PodRun,
  iso,
  normalizeImage,
  hashHex,
  randomHex,
  isBadImage,
  commandOf,
  isCrashing,
  LONG_RUNNING,
  sameExceptStatus,
  isReady,
  isTerminalPhase,
  podIPFor,
  fmtSecs,
} from './kubelet-runtime.js';

export class Kubelet extends Controller {
  private readonly pods = new Map<string, PodRun>();
  private readonly podsByNode = new Map<string, Set<string>>();
  private readonly nodeOfPod = new Map<string, string>();
  private readonly deletedNodes = new Set<string>();
  private readonly nodeIndexes = new Map<string, number>();
  private readonly usedIndexes = new Set<number>();
  private readonly slots = new Map<string, { next: number; free: number[] }>();
  /** Images already pulled on each node. */
  private readonly images = new Map<string, Set<string>>();

  constructor(ctx: ControllerContext) {
    super(ctx);
  }

  /** Number of pods the kubelets are tracking (for tests and metrics). */
  get trackedPods(): number {
    return this.pods.size;
  }

  protected override initialKeys(): string[] {
    const keys: string[] = [];
    for (const pod of this.store.list(this.store.type('', 'pods'))) {
      if (!pod.spec?.nodeName) continue;
      const key = nsKey(pod.metadata.namespace, pod.metadata.name!);
      this.index(key, pod.spec.nodeName);
      keys.push(key);
    }
    return keys;
  }

  private index(key: string, node: string | undefined): void {
    const before = this.nodeOfPod.get(key);
    if (before === node) return;
    if (before) {
      this.podsByNode.get(before)?.delete(key);
      this.nodeOfPod.delete(key);
    }
    if (node) {
      let set = this.podsByNode.get(node);
      if (!set) this.podsByNode.set(node, (set = new Set()));
      set.add(key);
      this.nodeOfPod.set(key, node);
    }
  }

  protected keysFor(ev: StoreEvent): string[] {
    const { rt, object } = ev;
    if (rt.group !== '') return [];
    if (rt.kind === 'Pod') {
      const key = nsKey(object.metadata.namespace, object.metadata.name!);
      if (ev.type === 'DELETED') {
        this.index(key, undefined);
        return this.pods.has(key) ? [key] : [];
      }
      if (!object.spec?.nodeName) return [];
      this.index(key, object.spec.nodeName);
      // Our own status writes need no new pass; spec and metadata changes (deletion, image updates) do.
      if (ev.type === 'MODIFIED' && ev.old && this.pods.has(key) && sameExceptStatus(ev.old, object)) return [];
      return [key];
    }
    if (rt.kind === 'Node') {
      const name = object.metadata.name!;
      if (ev.type === 'DELETED') this.deletedNodes.add(name);
      else this.deletedNodes.delete(name);
      if (
        ev.type === 'MODIFIED' &&
        ev.old &&
        isReady(ev.old) === isReady(object) &&
        ev.old.spec?.podCIDR === object.spec?.podCIDR
      )
        return [];
      return [...(this.podsByNode.get(name) ?? [])];
    }
    return [];
  }

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const podsRT = this.store.type('', 'pods');
    const pod = this.store.get(podsRT, namespace, name);
    let pr = this.pods.get(key);
    if (pr && (!pod || pod.metadata.uid !== pr.uid || pod.spec?.nodeName !== pr.node)) {
      this.forget(key, pr);
      pr = undefined;
    }
    if (!pod || !pod.spec?.nodeName) return;
    const nodeName: string = pod.spec.nodeName;
    if (this.deletedNodes.has(nodeName)) {
      // Pods of a node that is gone are removed (as the pod garbage collector force-deletes them).
      this.finalize(pod);
      return;
    }
    const node = this.store.get(this.store.type('', 'nodes'), undefined, nodeName);
    if (!node) return; // waits for its node to appear
    const now = Date.now();
    if (!pr) {
      if (isTerminalPhase(pod)) return; // finished before we (re)started: nothing to run
      if (pod.metadata.deletionTimestamp) {
        this.finalize(pod);
        return;
      }
      if (!isReady(node)) return; // a NotReady node's kubelet does nothing
      pr = this.admit(key, pod, node, now);
    }
    if (pod.metadata.deletionTimestamp) {
      this.terminate(key, pod, pr, now);
      return;
    }
    if (pr.done) return;
    this.syncSpec(pod, pr);
    this.advance(pod, pr, now);
    this.writeStatus(pod, pr, now);
    this.wakeAt(key, pr, this.nextDue(pr, now));
  }

  // ------------------------------------------------------------------ admission and identity

  private admit(key: string, pod: KPod, node: KNode, now: number): PodRun {
    const nodeName = node.metadata.name!;
    const nodeIndex = this.nodeIndex(node);
    let alloc = this.slots.get(nodeName);
    if (!alloc) this.slots.set(nodeName, (alloc = { next: 0, free: [] }));
    const slot = alloc.free.pop() ?? alloc.next++;
    const hostIP =
      (node.status?.addresses ?? []).find((a) => a.type === 'InternalIP')?.address ??
      `172.18.0.${(nodeIndex % 250) + 2}`;
    const containers: ContainerRun[] = [
      ...(pod.spec?.initContainers ?? []).map((c) => this.newContainer(c, true, c?.restartPolicy === 'Always')),
      ...(pod.spec?.containers ?? []).map((c) => this.newContainer(c, false, false)),
    ];
    const pr: PodRun = {
      uid: pod.metadata.uid!,
      node: nodeName,
      nodeIndex,
      slot,
      podIP: podIPFor(nodeIndex, slot),
      hostIP,
      startTime: iso(now),
      containers,
      token: 0,
      done: false,
    };
    this.pods.set(key, pr);
    return pr;
  }

  private newContainer(c: Container, init: boolean, sidecar: boolean): ContainerRun {
    return {
      name: String(c?.name ?? ''),
      init,
      sidecar,
      image: String(c?.image ?? ''),
      stage: 'waiting',
      due: 0,
      restartCount: 0,
      failures: 0,
      pullFailures: 0,
      everStarted: false,
      readyAt: Infinity,
      state: { waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' } },
      lastState: {},
    };
  }

  private nodeIndex(node: KObject): number {
    const name = node.metadata.name!;
    const cidr = /^10\.244\.(\d+)\.0\/24$/.exec(node.spec?.podCIDR ?? '');
    if (cidr) {
      const n = Number(cidr[1]);
      this.nodeIndexes.set(name, n);
      this.usedIndexes.add(n);
      return n;
    }
    let n = this.nodeIndexes.get(name);
    if (n === undefined) {
      n = 1;
      while (this.usedIndexes.has(n)) n++;
      this.nodeIndexes.set(name, n);
      this.usedIndexes.add(n);
    }
    return n;
  }

  private forget(key: string, pr: PodRun): void {
    pr.token++;
    this.slots.get(pr.node)?.free.push(pr.slot);
    this.pods.delete(key);
  }

  // ------------------------------------------------------------------ timers

  private wakeAt(key: string, pr: PodRun, at: number): void {
    pr.token++;
    if (!Number.isFinite(at)) return;
    const token = pr.token;
    this.ctx.setTimer(
      () => {
        if (this.pods.get(key) === pr && pr.token === token) this.enqueue(key);
      },
      Math.max(0, at - Date.now()),
    );
  }

  private nextDue(pr: PodRun, now: number): number {
    let next = Infinity;
    for (const c of pr.containers) {
      if (c.stage !== 'done' && c.due < next) next = c.due;
      if (c.stage === 'running' && c.readyAt > now && c.readyAt < next) next = c.readyAt;
    }
    return next;
  }

  private delay(step: string, ms: number): number {
    return Math.max(0, this.ctx.clock.delay(step, ms));
  }

  /** Kubelet back-off: base, doubling per failure, capped at 30× the base (10s → 5min in real time). */
  private backoff(step: string, failures: number): number {
    const base = this.delay(step, 10_000);
    return Math.min(base * 2 ** Math.max(0, failures - 1), base * 30);
  }

  // ------------------------------------------------------------------ lifecycle

  private specOf(pod: KPod, c: ContainerRun): Partial<Container> {
    const list = (c.init ? pod.spec?.initContainers : pod.spec?.containers) ?? [];
    return list.find((x) => x?.name === c.name) ?? {};
  }

  /** An image changed in the spec (`kubectl set image pod`): the container is killed and recreated. */
  private syncSpec(pod: KPod, pr: PodRun): void {
    for (const c of pr.containers) {
      const spec = this.specOf(pod, c);
      if (!spec.image || spec.image === c.image || c.stage === 'done') continue;
      if (c.stage === 'running') {
        this.event(pod, c, 'Normal', 'Killing', `Container ${c.name} definition changed, will be restarted`);
        c.lastState = { terminated: this.terminated(c, 0, Date.now()) };
      }
      c.image = spec.image;
      c.stage = 'waiting';
      c.due = 0;
      c.failures = 0;
      c.pullFailures = 0;
      c.readyAt = Infinity;
    }
  }

  private initsComplete(pr: PodRun): boolean {
    return pr.containers.every(
      (c) => !c.init || (c.sidecar ? c.stage === 'running' : c.stage === 'done' && c.exitCode === 0),
    );
  }

  private advance(pod: KPod, pr: PodRun, now: number): void {
    for (let guard = 0; guard < 64; guard++) {
      let changed = false;
      let blocked = false;
      for (const c of pr.containers) {
        if (!c.init) continue;
        if (c.sidecar && c.stage === 'running') {
          if (this.step(pod, pr, c, now)) changed = true;
          continue;
        }
        if (c.stage === 'done') {
          if (c.exitCode !== 0) blocked = true;
          if (blocked) break;
          continue;
        }
        if (this.step(pod, pr, c, now)) changed = true;
        blocked = true;
        break;
      }
      if (!blocked && this.initsComplete(pr)) {
        for (const c of pr.containers) if (!c.init && this.step(pod, pr, c, now)) changed = true;
      }
      if (!changed) break;
    }
  }

  private needsPull(pr: PodRun, spec: Partial<Container>, image: string): boolean {
    const policy = spec.imagePullPolicy ?? 'IfNotPresent';
    if (policy === 'Always') return true;
    if (policy === 'Never') return false;
    return !this.images.get(pr.node)?.has(normalizeImage(image));
  }

  /** Performs the container's next step if it is due; returns whether anything changed. */
  private step(pod: KPod, pr: PodRun, c: ContainerRun, now: number): boolean {
    if (c.stage === 'done' || c.due > now) return false;
    const spec = this.specOf(pod, c);
    switch (c.stage) {
      case 'waiting':
        if (this.needsPull(pr, spec, c.image)) {
          this.event(pod, c, 'Normal', 'Pulling', `Pulling image "${c.image}"`);
          c.stage = 'pulling';
          c.due = now + this.delay('pull', 1000);
        } else {
          this.event(pod, c, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
          c.stage = 'creating';
          c.due = now + this.delay('create', 200);
        }
        return true;
      case 'pulling': {
        if (isBadImage(c.image)) {
          c.pullFailures++;
          const ref = normalizeImage(c.image);
          const why = `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`;
          this.event(pod, c, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${why}`);
          this.event(pod, c, 'Warning', 'Failed', 'Error: ErrImagePull');
          c.state = { waiting: { reason: 'ErrImagePull', message: why } };
          c.stage = 'errImagePull';
          c.due = now + this.delay('pull', 1000);
          return true;
        }
        const took = (this.delay('pull', 1000) / 1000).toFixed(3);
        const size = 10_000_000 + (parseInt(hashHex(c.image, 6), 16) % 90_000_000);
        this.event(
          pod,
          c,
          'Normal',
          'Pulled',
          `Successfully pulled image "${c.image}" in ${took}s (${took}s including waiting). Image size: ${size} bytes.`,
        );
        let cache = this.images.get(pr.node);
        if (!cache) this.images.set(pr.node, (cache = new Set()));
        cache.add(normalizeImage(c.image));
        c.stage = 'creating';
        c.due = now + this.delay('create', 200);
        return true;
      }
      case 'errImagePull':
        this.event(pod, c, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`);
        this.event(pod, c, 'Warning', 'Failed', 'Error: ImagePullBackOff');
        c.state = {
          waiting: {
            reason: 'ImagePullBackOff',
            message: `Back-off pulling image "${c.image}": ErrImagePull: ${c.state.waiting?.message ?? ''}`,
          },
        };
        c.stage = 'pullBackOff';
        c.due = now + this.backoff('imagePullBackOff', c.pullFailures);
        return true;
      case 'pullBackOff':
        c.stage = 'waiting';
        c.due = 0;
        return true;
      case 'creating': {
        if (c.everStarted) c.restartCount++;
        c.everStarted = true;
        c.containerID = `containerd://${randomHex(64)}`;
        c.startedAt = iso(now);
        this.event(pod, c, 'Normal', 'Created', `Created container: ${c.name}`);
        this.event(pod, c, 'Normal', 'Started', `Started container ${c.name}`);
        c.stage = 'running';
        c.state = { running: { startedAt: c.startedAt } };
        const probe = spec.readinessProbe ?? spec.startupProbe;
        c.readyAt = probe
          ? now + this.delay('ready', 300) + this.ctx.clock.delay('ready', (probe.initialDelaySeconds ?? 0) * 1000)
          : now;
        if (isCrashing(spec)) c.due = now + this.delay('crash', 1000);
        else if (this.isFinite(pod, c, spec))
          c.due = now + (c.init ? this.delay('initRun', 1000) : this.delay('jobRun', 3000));
        else c.due = Infinity;
        return true;
      }
      case 'running': {
        const failed =
          isCrashing(spec) || (!c.sidecar && String(c.image).includes('fail') && this.isFinite(pod, c, spec));
        const exitCode = failed ? 1 : 0;
        c.exitCode = exitCode;
        c.readyAt = Infinity;
        const terminated = this.terminated(c, exitCode, now);
        const policy = pod.spec?.restartPolicy ?? 'Always';
        const restart =
          c.sidecar ||
          (c.init
            ? exitCode !== 0 && policy !== 'Never'
            : policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0));
        if (!restart) {
          c.stage = 'done';
          c.due = Infinity;
          c.state = { terminated };
          return true;
        }
        c.failures++;
        c.lastState = { terminated };
        c.stage = 'crashBackOff';
        if (c.failures === 1) {
          // The first restart is immediate; the back-off starts with the second failure.
          c.state = { terminated };
          c.due = now + this.delay('create', 200);
        } else {
          const wait = this.backoff('crashBackOff', c.failures - 1);
          const secs = Math.round(Math.min(10 * 2 ** (c.failures - 2), 300));
          const podRef = `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
          c.state = {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off ${fmtSecs(secs)} restarting failed container=${c.name} pod=${podRef}`,
            },
          };
          this.event(pod, c, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${podRef}`);
          c.due = now + wait;
        }
        return true;
      }
      case 'crashBackOff':
        c.stage = 'waiting';
        c.due = 0;
        return true;
    }
    return false;
  }

  private terminated(c: ContainerRun, exitCode: number, now: number): NonNullable<ContainerState['terminated']> {
    return {
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt: c.startedAt,
      finishedAt: iso(now),
      containerID: c.containerID,
    };
  }

  /** Whether a container runs to completion: Job pods, and run-to-completion pods with a finite-looking workload. */
  private isFinite(pod: KPod, c: ContainerRun, spec: Partial<Container>): boolean {
    if (c.sidecar) return false;
    if (c.init) return true;
    if ((pod.metadata.ownerReferences ?? []).some((o) => o.kind === 'Job')) return true;
    if ((pod.spec?.restartPolicy ?? 'Always') === 'Always') return false;
    const cmd = commandOf(spec);
    if (/job|batch|pi/.test(c.image) || /\bexit 0\b/.test(cmd)) return true;
    return cmd !== '' && !LONG_RUNNING.test(cmd);
  }

  // ------------------------------------------------------------------ termination

  private terminate(key: string, pod: KPod, pr: PodRun, now: number): void {
    const grace = pod.metadata.deletionGracePeriodSeconds ?? 0;
    if (pr.terminatingUntil === undefined) {
      for (const c of pr.containers) {
        if (c.stage === 'running') {
          this.event(pod, c, 'Normal', 'Killing', `Stopping container ${c.name}`);
          c.exitCode = 0;
          c.state = { terminated: this.terminated(c, 0, now) };
        }
        c.stage = 'done';
        c.due = Infinity;
        c.readyAt = Infinity;
      }
      pr.terminatingUntil = now + Math.min(grace * 1000, this.delay('terminate', 1000));
      if (grace > 0) this.writeStatus(pod, pr, now);
    }
    const until = Math.min(pr.terminatingUntil, now + grace * 1000);
    if (grace === 0 || now >= until) {
      this.finalize(pod);
      pr.token++;
      return;
    }
    this.wakeAt(key, pr, until);
  }

  /** The kubelet's last word on a pod: gone from the store (or waiting on its finalizers with no grace left). */
  private finalize(pod: KPod): void {
    const podsRT = this.store.type('', 'pods');
    if (pod.metadata.finalizers?.length) {
      if (pod.metadata.deletionTimestamp && pod.metadata.deletionGracePeriodSeconds === 0) return;
      this.store.delete(podsRT, pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0 });
      return;
    }
    this.store.finalizeDelete(podsRT, pod.metadata.namespace, pod.metadata.name!);
  }

  // ------------------------------------------------------------------ status

  private event(pod: KPod, c: ContainerRun, type: 'Normal' | 'Warning', reason: string, message: string): void {
    recordEvent(
      this.store,
      pod,
      type,
      reason,
      message,
      { component: 'kubelet', host: pod.spec?.nodeName },
      `spec.${c.init ? 'initContainers' : 'containers'}{${c.name}}`,
    );
  }

  private containerStatus(c: ContainerRun, now: number): ContainerStatus {
    const image = normalizeImage(c.image);
    const repo = image.replace(/:[^:/@]+$/, '').replace(/@.*$/, '');
    const running = c.stage === 'running';
    return {
      name: c.name,
      state: c.state,
      lastState: c.lastState,
      ready: running && c.readyAt <= now,
      restartCount: c.restartCount,
      image,
      imageID: c.everStarted ? `${repo}@sha256:${hashHex(image)}` : '',
      ...(c.containerID ? { containerID: c.containerID } : {}),
      started: running,
    };
  }

  private writeStatus(pod: KPod, pr: PodRun, now: number): void {
    const inits = pr.containers.filter((c) => c.init);
    const mains = pr.containers.filter((c) => !c.init);
    const initsDone = this.initsComplete(pr);
    const initFailed = inits.some((c) => !c.sidecar && c.stage === 'done' && c.exitCode !== 0);
    for (const c of mains) {
      // Main containers wait in PodInitializing until the init containers are done.
      if (!c.everStarted && (c.stage === 'waiting' || c.stage === 'pulling' || c.stage === 'creating')) {
        c.state = { waiting: { reason: initsDone ? 'ContainerCreating' : 'PodInitializing' } };
      }
    }
    const deleting = Boolean(pod.metadata.deletionTimestamp);
    let phase = 'Running';
    if (initFailed) phase = 'Failed';
    else if (mains.length && mains.every((c) => c.stage === 'done' && c.exitCode !== undefined) && !deleting) {
      phase = mains.every((c) => c.exitCode === 0) ? 'Succeeded' : 'Failed';
    } else if (!initsDone || mains.some((c) => !c.everStarted)) phase = 'Pending';
    if (deleting) phase = pod.status?.phase ?? phase; // a terminating pod keeps its phase until it is gone
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    if (terminal && !deleting) {
      pr.done = true;
      for (const c of pr.containers) {
        c.due = Infinity;
        if (c.stage === 'running') {
          c.stage = 'done';
          c.exitCode = 0;
          c.state = { terminated: this.terminated(c, 0, now) };
        }
      }
    }
    const statuses = mains.map((c) => this.containerStatus(c, now));
    const allReady = initsDone && !terminal && !deleting && statuses.length > 0 && statuses.every((s) => s.ready);
    const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
    const incomplete = inits
      .filter((c) => !(c.sidecar ? c.stage === 'running' : c.stage === 'done' && c.exitCode === 0))
      .map((c) => c.name);
    const previous: Condition[] = pod.status?.conditions ?? [];
    const cond = (type: string, ok: boolean, reason?: string, message?: string): Condition => {
      const status = ok ? 'True' : 'False';
      const old = previous.find((x) => x.type === type);
      return {
        type,
        status,
        ...(pod.metadata.generation !== undefined ? { observedGeneration: pod.metadata.generation } : {}),
        lastProbeTime: null,
        lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : iso(now),
        ...(reason ? { reason } : {}),
        ...(message ? { message } : {}),
      };
    };
    const notReadyReason = terminal ? 'PodCompleted' : 'ContainersNotReady';
    const notReadyMessage = terminal ? undefined : `containers with unready status: [${unready.join(' ')}]`;
    const conditions = [
      cond('PodReadyToStartContainers', true),
      cond(
        'Initialized',
        initsDone,
        initsDone ? (terminal && !inits.length ? 'PodCompleted' : undefined) : 'ContainersNotInitialized',
        initsDone ? undefined : `containers with incomplete status: [${incomplete.join(' ')}]`,
      ),
      cond('Ready', allReady, allReady ? undefined : notReadyReason, allReady ? undefined : notReadyMessage),
      cond('ContainersReady', allReady, allReady ? undefined : notReadyReason, allReady ? undefined : notReadyMessage),
      cond('PodScheduled', true),
    ];
    const status: PodStatus = {
      ...(pod.metadata.generation !== undefined ? { observedGeneration: pod.metadata.generation } : {}),
      phase,
      conditions,
      hostIP: pr.hostIP,
      hostIPs: [{ ip: pr.hostIP }],
      podIP: pr.podIP,
      podIPs: [{ ip: pr.podIP }],
      startTime: pr.startTime,
      ...(inits.length ? { initContainerStatuses: inits.map((c) => this.containerStatus(c, now)) } : {}),
      containerStatuses: statuses,
      qosClass: pod.status?.qosClass ?? 'BestEffort',
    };
    if (JSON.stringify(status) === JSON.stringify(pod.status)) return;
    this.store.update(this.store.type('', 'pods'), { ...pod, status }, { subresource: 'status' });
  }
}
