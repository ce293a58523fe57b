// Install, upgrade, roll back and uninstall releases with the real helm binary. Each mutation validates every argument,
// authorizes, takes the release's lock (one operation per release at a time: CONFLICT otherwise), renders the chart with
// the same values against the cluster (`--dry-run=server`, hooks included) and holds every rendered object to the
// caller's rules (chart-policy.ts), all before helm changes anything; then it starts helm and answers at once with the
// operation RUNNING. helmOperation(id) follows it to its end, helm's output (scrubbed) in `message`.
import { randomUUID } from 'node:crypto';
import { valid as validSemver } from 'semver';
import { parseDocument } from 'yaml';
import { asyncQueue } from '../../common/async-queue.js';
import { authorize, authorizeList, type Viewer } from '../../common/authz.js';
import {
  apiError,
  badUserInput,
  conflictError,
  ErrorCode,
  notFoundError,
  upstreamUnavailable,
} from '../../common/errors.js';
import { dns1123LabelProblems, validateNamespace } from '../../common/k8s/names.js';
import type { Logger } from '../../common/log.js';
import type { HelmClient, HelmResult } from '../clients/helm.js';
import type { AppsKubeClient } from '../clients/kube.js';
import { offences, refuseOffences, renderedObjects } from './chart-policy.js';
import { releaseKey, type ReleaseIndex } from './release-index.js';

export type OperationKind = 'INSTALL' | 'UPGRADE' | 'ROLLBACK' | 'UNINSTALL';
export type OperationState = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** A HelmOperation as the schema has it. */
export interface HelmOperationView {
  id: string;
  kind: OperationKind;
  namespace: string;
  release: string;
  state: OperationState;
  message: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** This state's place in the operation's sequence of states (pass it back to helmOperation to continue after it). */
  resumeToken: string;
}

/** Where chart archives come from (the catalog: model/catalog.ts). */
export interface ChartArchiveSource {
  fetchChartArchive(
    viewer: Viewer,
    repository: string,
    chart: string,
    version?: string,
  ): Promise<{ bytes: Uint8Array; version: string; digest: string }>;
}

export interface ChartArgs {
  namespace: string;
  name: string;
  repository: string;
  chart: string;
  version?: string | null;
  values?: string | null;
}

interface Operation {
  view: HelmOperationView;
  listeners: Set<() => void>;
}

/** Helm's limit on release names (they become label values and object name prefixes). */
export const RELEASE_NAME_MAX = 53;
export const MAX_VALUES_BYTES = 1024 * 1024;
const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Output kept in an operation's message (its tail: where helm's verdict is). */
const MESSAGE_MAX = 16 * 1024;
const FINISHED_KEPT = 1000;

export function validateReleaseName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw badUserInput('name is required', { argument: 'name' });
  const problems = dns1123LabelProblems(name);
  if (name.length > RELEASE_NAME_MAX) problems.push(`must be no more than ${RELEASE_NAME_MAX} characters`);
  if (problems.length)
    throw badUserInput(`invalid release name ${JSON.stringify(name)}: ${problems.join('; ')}`, { argument: 'name' });
}

function validateChartArgs(args: ChartArgs): void {
  validateNamespace(args.namespace);
  validateReleaseName(args.name);
  if (typeof args.chart !== 'string' || !CHART_NAME.test(args.chart))
    throw badUserInput(`invalid chart name ${JSON.stringify(args.chart)}`, { argument: 'chart' });
  // The catalog checks repository names fully; nothing unprintable or oversized gets that far.
  if (typeof args.repository !== 'string' || !/^[\x21-\x7e]{1,253}$/.test(args.repository))
    throw badUserInput(`invalid repository name ${JSON.stringify(args.repository)}`, { argument: 'repository' });
  if (args.version !== null && args.version !== undefined && validSemver(args.version) === null)
    throw badUserInput(`version ${JSON.stringify(args.version)} is not a semantic version (1.2.3)`, {
      argument: 'version',
    });
}

/** The values document as the JSON helm gets in a file (JSON is YAML); BAD_USER_INPUT unless it is one YAML mapping. */
export function valuesFile(values: string | null | undefined): string {
  if (values === null || values === undefined || values.trim() === '') return '{}';
  if (Buffer.byteLength(values) > MAX_VALUES_BYTES)
    throw badUserInput(`values are larger than ${MAX_VALUES_BYTES} bytes`, { argument: 'values' });
  const doc = parseDocument(values, { uniqueKeys: true });
  if (doc.errors.length)
    throw badUserInput(`values are not valid YAML: ${doc.errors[0].message.split('\n')[0]}`, { argument: 'values' });
  let parsed: unknown;
  try {
    parsed = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw badUserInput(`values are not valid YAML: ${(e as Error).message}`, { argument: 'values' });
  }
  if (parsed === null || parsed === undefined) return '{}';
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw badUserInput('values must be a YAML mapping (key: value)', { argument: 'values' });
  return JSON.stringify(parsed);
}

/** The first "Error: …" of helm's stderr (what it says went wrong), scrubbed. */
function helmError(result: HelmResult, scrub: (t: string) => string): string {
  const text = scrub(result.stderr.trim() || result.stdout.trim());
  const m = /(?:^|\n)Error: ([\s\S]*)$/.exec(text);
  return (m ? m[1] : text).trim().slice(0, 4000) || `helm exited with ${result.exitCode}`;
}

/** A refused render or pre-check, as the GraphQL error the caller gets. */
function renderError(what: string, message: string): Error {
  if (/cluster unreachable|connection refused|no such host|i\/o timeout|TLS handshake/i.test(message))
    return upstreamUnavailable('apps', `Kubernetes API unreachable: ${what} could not be rendered`);
  if (
    /another operation \(install\/upgrade\/rollback\) is in progress|cannot re-use a name|still in use/i.test(message)
  )
    return conflictError(`${what}: ${message}`);
  if (/has no deployed releases|not found/i.test(message) && /release/i.test(message))
    return notFoundError(`${what}: ${message}`);
  return badUserInput(`${what}: ${message}`);
}

export class OperationsModel {
  private readonly operations = new Map<string, Operation>();
  /** Release key → the running operation's id. */
  private readonly running = new Map<string, string>();
  private readonly finished: string[] = [];

  constructor(
    private readonly deps: {
      helm: HelmClient;
      kube: AppsKubeClient;
      index: ReleaseIndex;
      catalog: ChartArchiveSource;
      log: Logger;
    },
  ) {}

  async install(viewer: Viewer, args: ChartArgs): Promise<HelmOperationView> {
    validateChartArgs(args);
    authorize(viewer, 'create', args.namespace);
    this.assertFree(args.namespace, args.name);
    const values = valuesFile(args.values);
    const existing = this.deps.index.get(args.namespace, args.name);
    if (existing && existing.current.status !== 'uninstalled')
      throw conflictError(`release ${args.name} already exists in ${args.namespace} (upgrade it instead)`);
    return this.chartOperation(viewer, 'INSTALL', args, values);
  }

  async upgrade(viewer: Viewer, args: ChartArgs): Promise<HelmOperationView> {
    validateChartArgs(args);
    authorize(viewer, 'update', args.namespace);
    this.assertFree(args.namespace, args.name);
    const values = args.values === null || args.values === undefined ? undefined : valuesFile(args.values);
    if (!this.deps.index.get(args.namespace, args.name))
      throw notFoundError(`release ${args.name} not found in ${args.namespace}`);
    return this.chartOperation(viewer, 'UPGRADE', args, values);
  }

  async rollback(
    viewer: Viewer,
    args: { namespace: string; name: string; revision?: number | null },
  ): Promise<HelmOperationView> {
    validateNamespace(args.namespace);
    validateReleaseName(args.name);
    authorize(viewer, 'update', args.namespace);
    this.assertFree(args.namespace, args.name);
    const release = this.deps.index.get(args.namespace, args.name);
    if (!release) throw notFoundError(`release ${args.name} not found in ${args.namespace}`);
    const revision = args.revision ?? release.current.revision - 1;
    if (!Number.isInteger(revision) || revision < 1)
      throw badUserInput(`release ${args.name} has no revision to roll back to`, { argument: 'revision' });
    const target = release.revisions.find((r) => r.revision === revision);
    if (!target)
      throw badUserInput(
        `release ${args.name} has no revision ${revision} (it has ${release.revisions.map((r) => r.revision).join(', ')})`,
        {
          argument: 'revision',
        },
      );
    return this.locked(args.namespace, args.name, async () => {
      // A rollback applies that revision's manifest again: it is judged like a new chart.
      refuseOffences(
        viewer,
        `roll ${args.name} back to revision ${revision}`,
        await offences(this.deps.kube, viewer, args.namespace, renderedObjects(target.manifest, target.hookManifests)),
      );
      return this.start('ROLLBACK', args.namespace, args.name, {
        args: () => [
          'rollback',
          args.name,
          String(revision),
          '--namespace',
          args.namespace,
          '--timeout',
          `${this.deps.helm.timeoutSeconds}s`,
        ],
      });
    });
  }

  async uninstall(viewer: Viewer, args: { namespace: string; name: string }): Promise<HelmOperationView> {
    validateNamespace(args.namespace);
    validateReleaseName(args.name);
    authorize(viewer, 'delete', args.namespace);
    this.assertFree(args.namespace, args.name);
    const release = this.deps.index.get(args.namespace, args.name);
    if (!release) throw notFoundError(`release ${args.name} not found in ${args.namespace}`);
    return this.locked(args.namespace, args.name, async () => {
      // Uninstalling deletes what the release applied (and runs its delete hooks) with kubegraph's credentials.
      const current = release.current;
      refuseOffences(
        viewer,
        `uninstall ${args.name}`,
        await offences(
          this.deps.kube,
          viewer,
          args.namespace,
          renderedObjects(current.manifest, current.hookManifests),
        ),
      );
      return this.start('UNINSTALL', args.namespace, args.name, {
        args: () => [
          'uninstall',
          args.name,
          '--namespace',
          args.namespace,
          '--timeout',
          `${this.deps.helm.timeoutSeconds}s`,
        ],
      });
    });
  }

  /** Install or upgrade: the archive from the catalog, rendered and judged, then helm for real with the same files. */
  private chartOperation(
    viewer: Viewer,
    kind: 'INSTALL' | 'UPGRADE',
    args: ChartArgs,
    values: string | undefined,
  ): Promise<HelmOperationView> {
    return this.locked(args.namespace, args.name, async () => {
      const archive = await this.deps.catalog.fetchChartArchive(
        viewer,
        args.repository,
        args.chart,
        args.version ?? undefined,
      );
      const files: Record<string, string | Uint8Array> = { 'chart.tgz': archive.bytes };
      if (values !== undefined) files['values.json'] = values;
      const command = (dir: string, extra: string[]) => [
        kind === 'INSTALL' ? 'install' : 'upgrade',
        args.name,
        `${dir}/chart.tgz`,
        '--namespace',
        args.namespace,
        ...(values !== undefined ? ['--values', `${dir}/values.json`] : []),
        '--timeout',
        `${this.deps.helm.timeoutSeconds}s`,
        ...extra,
      ];
      const what = `${kind === 'INSTALL' ? 'install' : 'upgrade'} ${args.name} (${args.chart} ${archive.version})`;
      const rendered = await this.deps.helm.run({
        args: (dir) => command(dir, ['--dry-run=server', '--output', 'json']),
        files,
      });
      if (rendered.exitCode !== 0) throw renderError(what, helmError(rendered, this.deps.helm.scrub));
      let release: { manifest?: unknown; hooks?: { manifest?: unknown }[] };
      try {
        release = JSON.parse(rendered.stdout) as typeof release;
      } catch {
        throw apiError(ErrorCode.UPSTREAM_UNAVAILABLE, `${what}: helm's dry run answered no release`, {
          service: 'apps',
        });
      }
      const hooks = (release.hooks ?? []).map((h) => (typeof h?.manifest === 'string' ? h.manifest : ''));
      const manifest = typeof release.manifest === 'string' ? release.manifest : '';
      refuseOffences(
        viewer,
        what,
        await offences(this.deps.kube, viewer, args.namespace, renderedObjects(manifest, hooks)),
      );
      return this.start(kind, args.namespace, args.name, { args: (dir) => command(dir, []), files });
    });
  }

  /** CONFLICT while an operation on the release runs (or is being prepared). */
  private assertFree(namespace: string, name: string): void {
    const holder = this.running.get(releaseKey(namespace, name));
    if (holder !== undefined)
      throw conflictError(
        `release ${name} in ${namespace} has an operation running${holder.startsWith('preparing-') ? '' : ` (${holder})`}; wait for its end`,
      );
  }

  /** Runs `prepare` holding the release's lock; the lock stays with the operation it starts, else is released. */
  private async locked(
    namespace: string,
    name: string,
    prepare: () => Promise<HelmOperationView>,
  ): Promise<HelmOperationView> {
    const key = releaseKey(namespace, name);
    this.assertFree(namespace, name);
    const placeholder = `preparing-${randomUUID()}`;
    this.running.set(key, placeholder);
    try {
      return await prepare();
    } finally {
      if (this.running.get(key) === placeholder) this.running.delete(key);
    }
  }

  private start(
    kind: OperationKind,
    namespace: string,
    release: string,
    call: { args: (dir: string) => string[]; files?: Record<string, string | Uint8Array> },
  ): HelmOperationView {
    const op: Operation = {
      view: {
        id: randomUUID(),
        kind,
        namespace,
        release,
        state: 'RUNNING',
        message: null,
        startedAt: new Date().toISOString(),
        finishedAt: null,
        resumeToken: '1',
      },
      listeners: new Set(),
    };
    const key = releaseKey(namespace, release);
    this.operations.set(op.view.id, op);
    this.running.set(key, op.view.id);
    let output = '';
    let notifyTimer: NodeJS.Timeout | undefined;
    const next = () => String(Number(op.view.resumeToken) + 1);
    const notify = () => {
      for (const l of op.listeners) l();
    };
    const finish = (state: OperationState, message: string) => {
      if (notifyTimer) clearTimeout(notifyTimer);
      op.view = {
        ...op.view,
        state,
        message: message.slice(-MESSAGE_MAX),
        finishedAt: new Date().toISOString(),
        resumeToken: next(),
      };
      if (this.running.get(key) === op.view.id) this.running.delete(key);
      this.finished.push(op.view.id);
      while (this.finished.length > FINISHED_KEPT) this.operations.delete(this.finished.shift()!);
      notify();
      this.deps.log.info('helm operation finished', { id: op.view.id, kind, namespace, release, state });
    };
    this.deps.log.info('helm operation started', { id: op.view.id, kind, namespace, release });
    this.deps.helm
      .run({
        ...call,
        onOutput: (text) => {
          output = (output + text).slice(-MESSAGE_MAX);
          // Progress reaches followers at most every 250 ms.
          notifyTimer ??= setTimeout(() => {
            notifyTimer = undefined;
            if (op.view.state !== 'RUNNING') return;
            op.view = { ...op.view, message: output, resumeToken: next() };
            notify();
          }, 250);
        },
      })
      .then(
        (result) => {
          const scrub = this.deps.helm.scrub;
          if (result.exitCode === 0) finish('SUCCEEDED', scrub(result.stdout.trim() || result.stderr.trim()));
          else finish('FAILED', helmError(result, scrub));
        },
        (e: unknown) => finish('FAILED', `helm could not run: ${(e as Error)?.message ?? String(e)}`),
      );
    return op.view;
  }

  /**
   * The operation's state now and at every change (read in its project), ending after SUCCEEDED or FAILED. With a
   * resumeToken, only states after it are sent (a subscription the gateway renews repeats nothing).
   */
  follow(viewer: Viewer, id: string, resumeToken?: string | null): AsyncIterableIterator<HelmOperationView> {
    authorizeList(viewer, null);
    let after = 0;
    if (resumeToken !== null && resumeToken !== undefined) {
      after = Number(resumeToken);
      if (!/^\d{1,15}$/.test(resumeToken))
        throw badUserInput('resumeToken is not a token this subscription gave', { argument: 'resumeToken' });
    }
    const op = this.operations.get(id);
    if (!op) throw notFoundError(`no helm operation ${id}`);
    authorize(viewer, 'read', op.view.namespace);
    let last: HelmOperationView | undefined;
    const listener = () => {
      if (op.view === last) return;
      if (Number(op.view.resumeToken) > after) {
        last = op.view;
        queue.push(op.view);
      }
      if (op.view.state !== 'RUNNING') queue.end();
    };
    const queue = asyncQueue<HelmOperationView>({ onEnd: () => void op.listeners.delete(listener) });
    op.listeners.add(listener);
    listener();
    return queue;
  }
}
