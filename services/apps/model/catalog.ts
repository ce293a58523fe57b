// The chart catalog (issue 16 §1): Helm repositories, platform-wide or per workspace, their charts from a compact
// in-memory index per repository, and chart archives on demand. Every method authorizes first, then reads.
//
// What the resolvers call (all async; errors are GraphQL errors with extensions.code):
//   Catalog.open(opts: CatalogOptions): Promise<Catalog>          loads the repositories, starts the periodic sync
//   listRepositories(viewer, workspace?: string | null): Promise<HelmRepositoryView[]>
//       workspace given: that workspace's repositories and the platform ones (FORBIDDEN unless a member);
//       none: every repository the viewer sees
//   repository(viewer, name): Promise<HelmRepositoryView | null>  null when unknown; FORBIDDEN when not visible
//   addRepository(viewer, input: HelmRepositoryInput): Promise<HelmRepositoryView>   syncs first; stores only if that works
//   removeRepository(viewer, name): Promise<boolean>
//   syncRepository(viewer, name): Promise<HelmRepositoryView>    a failed sync shows in syncError (old charts kept)
//   charts(viewer, { repository?, search?, first?, after? }): Promise<ChartConnectionView>
//   chart(viewer, repository, name): Promise<ChartView | null>
//   chartVersionFiles(viewer, repository, chart, version): Promise<{ readme, values, valuesSchema }>
//   fetchChartArchive(viewer, repository, chart, version?): Promise<{ bytes: Buffer; version: string; digest: string }>
//       version undefined/null: the newest non-prerelease (the newest if all are prereleases); unknown: NOT_FOUND.
//       The archive is verified against the index digest and refused if unsafe (same checks as the files).
//   close(): Promise<void>                                       stops the timer, closes the store
// Views (HelmRepositoryView, ChartView, ChartVersionView, ChartConnectionView): plain objects, model/catalog-search.ts;
// HelmRepositoryView.workspace is the workspace's name (the resolver makes it a Workspace reference).
//
// Who may do what: platform repositories are seen by everyone signed in; a workspace's repositories by its members
// (a workspace role, or a role in one of its projects: authorizeWorkspaceScope); platform admins add, remove and sync
// platform repositories, workspace admins (and platform admins) their workspace's.
import { authorizeWorkspace, authorizeWorkspaceScope, isPlatformAdmin, type Viewer } from '../../common/authz.js';
import { badUserInput, conflictError, forbiddenError, notFoundError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { ChartArchives, type ArchiveRequest } from '../clients/chart-archive.js';
import { fetchIndex, type IndexFetchState } from '../clients/chart-repo.js';
import type { IndexedChart, ParsedIndex } from '../clients/chart-repo-index.js';
import type { RepositoryRow, RepositoryStore } from '../clients/repository-store.js';
import { checkUrlSyntax, resolveChecked, systemResolver, type Resolver } from '../clients/url-check.js';
import { CredentialsCipher, type Credentials } from './catalog-credentials.js';
import { checkCredentials, checkName, signedIn } from './catalog-input.js';
import { chartView, searchCharts, type ChartConnectionView, type ChartView } from './catalog-search.js';

export type { ChartConnectionView, ChartVersionView, ChartView } from './catalog-search.js';

export interface HelmRepositoryView {
  name: string;
  url: string;
  /** The workspace's name; null: a platform repository. */
  workspace: string | null;
  /** ISO-8601 of the last successful sync. */
  syncedAt: string | null;
  syncError: string | null;
}

export interface HelmRepositoryInput {
  name: string;
  url: string;
  workspace?: string | null;
  username?: string | null;
  password?: string | null;
}

export interface ChartVersionFiles {
  readme: string | null;
  values: string | null;
  valuesSchema: unknown;
}

export interface CatalogOptions {
  store: RepositoryStore;
  /** The secret repository credentials are encrypted with (APPS_CREDENTIALS_KEY or KUBEGRAPH_IDENTITY_SECRET). */
  credentialsSecret: string;
  /** DNS for repository hosts (tests: a stub). */
  resolver?: Resolver;
  /** Periodic sync (default 10 min; 0: none). */
  syncIntervalMs?: number;
  /** Largest index.yaml (default 100 MiB). */
  indexMaxBytes?: number;
  /** Largest index not in helm's layout parsed whole (default 16 MiB). */
  fullParseMaxBytes?: number;
  /** Largest chart archive (default 20 MiB). */
  archiveMaxBytes?: number;
  /** Memory for cached archives (default 64 MiB). */
  archiveCacheBytes?: number;
  /** Deadline of one HTTP exchange (default 30 s). */
  timeoutMs?: number;
  log?: Logger;
}

/** What this replica holds of a repository. */
interface RepositoryState {
  row: RepositoryRow;
  index?: ParsedIndex;
  /** The URL the index was read from (relative chart URLs resolve against it). */
  indexUrl?: string;
  fetchState: IndexFetchState;
  syncing?: Promise<void>;
  /** When the last sync failed (ms since the epoch). */
  failedAt?: number;
}

const RETRY_AFTER_FAILURE_MS = 30_000;

export class Catalog {
  private readonly states = new Map<string, RepositoryState>();
  private readonly archives: ChartArchives;
  private readonly cipher: CredentialsCipher;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Aborts the repository requests in flight when the catalog closes. */
  private readonly closing = new AbortController();

  private constructor(private readonly opts: CatalogOptions) {
    this.cipher = new CredentialsCipher(opts.credentialsSecret);
    this.archives = new ChartArchives({
      resolver: opts.resolver,
      maxArchiveBytes: opts.archiveMaxBytes,
      cacheBytes: opts.archiveCacheBytes,
      timeoutMs: opts.timeoutMs,
      signal: this.closing.signal,
    });
  }

  static async open(opts: CatalogOptions): Promise<Catalog> {
    const catalog = new Catalog(opts);
    await catalog.reload();
    const interval = opts.syncIntervalMs ?? 600_000;
    if (interval > 0) {
      catalog.timer = setInterval(() => void catalog.syncAll(), interval);
      catalog.timer.unref();
    }
    // Indexes are per replica: read them now, in the background (queries wait for the one they need).
    for (const state of catalog.states.values()) void catalog.sync(state);
    return catalog;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.states.values()].map((s) => s.syncing));
    await this.opts.store.close();
  }

  // ---------------------------------------------------------------- repositories

  async listRepositories(viewer: Viewer, workspace?: string | null): Promise<HelmRepositoryView[]> {
    signedIn(viewer);
    if (workspace !== null && workspace !== undefined) {
      checkName(workspace, 'workspace');
      authorizeWorkspaceScope(viewer, workspace);
    }
    await this.reload();
    return [...this.states.values()]
      .filter((s) =>
        workspace !== null && workspace !== undefined
          ? s.row.workspace === null || s.row.workspace === workspace
          : this.sees(viewer, s.row),
      )
      .sort((a, b) => (a.row.name < b.row.name ? -1 : 1))
      .map((s) => repositoryView(s.row));
  }

  async repository(viewer: Viewer, name: string): Promise<HelmRepositoryView | null> {
    signedIn(viewer);
    const state = await this.find(name);
    if (!state) return null;
    this.authorizeRead(viewer, state.row);
    return repositoryView(state.row);
  }

  async addRepository(viewer: Viewer, input: HelmRepositoryInput): Promise<HelmRepositoryView> {
    signedIn(viewer);
    const workspace = input.workspace ?? null;
    if (workspace !== null) checkName(workspace, 'workspace');
    this.authorizeManage(viewer, workspace);
    checkName(input.name, 'name');
    const url = checkUrlSyntax(input.url).toString();
    const credentials = checkCredentials(input.username, input.password);
    // The host is checked before anything is stored or fetched (and again at every connection).
    await resolveChecked(new URL(url), this.opts.resolver ?? systemResolver);
    if (await this.opts.store.get(input.name))
      throw conflictError(`a Helm repository named ${input.name} exists already (names are unique platform-wide)`);
    const row: RepositoryRow = {
      name: input.name,
      url,
      workspace,
      credentials: credentials ? this.cipher.encrypt(input.name, credentials) : null,
      created_at: new Date(),
      synced_at: null,
      sync_error: null,
    };
    // Like `helm repo add`: a repository whose index cannot be read is not added.
    const state: RepositoryState = { row, fetchState: {} };
    await this.fetchInto(state);
    row.synced_at = new Date();
    if (!(await this.opts.store.insert(row)))
      throw conflictError(`a Helm repository named ${input.name} exists already (names are unique platform-wide)`);
    this.states.set(row.name, state);
    this.opts.log?.info('helm repository added', {
      repository: row.name,
      workspace: row.workspace,
      charts: state.index?.charts.length,
      by: viewer.username,
    });
    return repositoryView(row);
  }

  async removeRepository(viewer: Viewer, name: string): Promise<boolean> {
    await this.manageable(viewer, name);
    const removed = await this.opts.store.delete(name);
    this.states.delete(name);
    if (removed) this.opts.log?.info('helm repository removed', { repository: name, by: viewer.username });
    return removed;
  }

  async syncRepository(viewer: Viewer, name: string): Promise<HelmRepositoryView> {
    const state = await this.manageable(viewer, name);
    await this.sync(state);
    return repositoryView(state.row);
  }

  /** The repository `name`, once the viewer may see it (NOT_FOUND otherwise) and manage it (FORBIDDEN otherwise). */
  private async manageable(viewer: Viewer, name: string) {
    signedIn(viewer);
    checkName(name, 'name');
    const state = await this.find(name);
    if (!state) throw notFoundError(`no Helm repository named ${name}`);
    this.authorizeRead(viewer, state.row);
    this.authorizeManage(viewer, state.row.workspace);
    return state;
  }

  // ---------------------------------------------------------------- charts

  async charts(
    viewer: Viewer,
    args: { repository?: string | null; search?: string | null; first?: number | null; after?: string | null },
  ): Promise<ChartConnectionView> {
    signedIn(viewer);
    let states: RepositoryState[];
    if (args.repository !== null && args.repository !== undefined) {
      checkName(args.repository, 'repository');
      const state = await this.find(args.repository);
      if (!state) throw notFoundError(`no Helm repository named ${args.repository}`);
      this.authorizeRead(viewer, state.row);
      states = [state];
    } else {
      await this.reload();
      states = [...this.states.values()].filter((s) => this.sees(viewer, s.row));
    }
    await Promise.all(states.map((s) => this.loaded(s)));
    return searchCharts(
      states.map((s) => ({ repository: s.row.name, charts: s.index?.charts ?? [] })),
      args,
    );
  }

  async chart(viewer: Viewer, repository: string, name: string): Promise<ChartView | null> {
    const { state, chart } = await this.findChart(viewer, repository, name);
    return state && chart ? chartView(state.row.name, chart) : null;
  }

  async chartVersionFiles(
    viewer: Viewer,
    repository: string,
    chart: string,
    version: string,
  ): Promise<ChartVersionFiles> {
    const files = await this.archives.chartFiles(await this.archiveRequest(viewer, repository, chart, version));
    return { readme: files.readme, values: files.values, valuesSchema: files.valuesSchema };
  }

  async fetchChartArchive(
    viewer: Viewer,
    repository: string,
    chart: string,
    version?: string | null,
  ): Promise<{ bytes: Buffer; version: string; digest: string }> {
    const req = await this.archiveRequest(viewer, repository, chart, version ?? null);
    // Read through once: an archive with unsafe entries is refused here too, before helm sees it.
    const { bytes } = await this.archives.verifiedArchive(req);
    return { bytes, version: req.version, digest: req.digest };
  }

  // ---------------------------------------------------------------- internals

  private async findChart(
    viewer: Viewer,
    repository: string,
    name: string,
  ): Promise<{ state?: RepositoryState; chart?: IndexedChart }> {
    signedIn(viewer);
    checkName(repository, 'repository');
    if (typeof name !== 'string' || name.length === 0 || name.length > 250)
      throw badUserInput('chart must be a chart name', { argument: 'chart' });
    const state = await this.find(repository);
    if (!state) throw notFoundError(`no Helm repository named ${repository}`);
    this.authorizeRead(viewer, state.row);
    await this.loaded(state);
    return { state, chart: findIndexed(state.index, name) };
  }

  private async archiveRequest(
    viewer: Viewer,
    repository: string,
    chartName: string,
    version: string | null,
  ): Promise<ArchiveRequest & { version: string }> {
    const { state, chart } = await this.findChart(viewer, repository, chartName);
    if (!state || !chart) throw notFoundError(`no chart ${chartName} in repository ${repository}`);
    if (version !== null && (typeof version !== 'string' || version.length > 128))
      throw badUserInput('version must be a chart version', { argument: 'version' });
    const v = version === null ? chart.latest : chart.versions.find((x) => x.version === version);
    if (!v) throw notFoundError(`chart ${chartName} of repository ${repository} has no version ${version}`);
    if (v.urls.length === 0)
      throw badUserInput(
        `chart ${chartName} ${v.version} of repository ${repository} has no download URL in the index`,
      );
    const base = state.indexUrl ?? state.row.url.replace(/\/*$/, '/');
    const what = `chart ${chartName} ${v.version} of repository ${repository}`;
    let url: string;
    try {
      url = new URL(v.urls[0], base).toString();
    } catch {
      throw badUserInput(`${what}: its URL in the index is not valid`);
    }
    return {
      url,
      digest: v.digest ?? '',
      what,
      version: v.version,
      auth: this.credentialsOf(state.row),
      authOrigin: new URL(state.row.url).origin,
    };
  }

  private credentialsOf(row: RepositoryRow): Credentials | undefined {
    if (!row.credentials) return undefined;
    try {
      return this.cipher.decrypt(row.name, row.credentials);
    } catch {
      // The secret changed since they were stored: the repository is read without them (and says why if it fails).
      this.opts.log?.warn('helm repository credentials do not decrypt with the configured key', {
        repository: row.name,
      });
      return undefined;
    }
  }

  private sees(viewer: Viewer, row: RepositoryRow): boolean {
    if (row.workspace === null || isPlatformAdmin(viewer)) return true;
    try {
      authorizeWorkspaceScope(viewer, row.workspace);
      return true;
    } catch {
      return false;
    }
  }

  private authorizeRead(viewer: Viewer, row: RepositoryRow): void {
    if (!this.sees(viewer, row))
      throw forbiddenError(`${viewer.username} may not use Helm repository ${row.name} of workspace ${row.workspace}`);
  }

  private authorizeManage(viewer: Viewer, workspace: string | null): void {
    if (workspace === null) {
      if (!isPlatformAdmin(viewer))
        throw forbiddenError(`${viewer.username} may not manage platform Helm repositories (platform admins only)`);
    } else authorizeWorkspace(viewer, 'admin', workspace);
  }

  /** The repository's state, from the store when this replica does not know it yet (added on another one). */
  private async find(name: string): Promise<RepositoryState | undefined> {
    const known = this.states.get(name);
    if (known) return known;
    const row = await this.opts.store.get(name);
    if (!row) return undefined;
    const state: RepositoryState = { row, fetchState: {} };
    this.states.set(name, state);
    return state;
  }

  /** Brings the set of repositories in line with the store (another replica may have added or removed some). */
  private async reload(): Promise<void> {
    const rows = await this.opts.store.list();
    const names = new Set(rows.map((r) => r.name));
    for (const name of this.states.keys()) if (!names.has(name)) this.states.delete(name);
    for (const row of rows) {
      const state = this.states.get(row.name);
      if (!state) this.states.set(row.name, { row, fetchState: {} });
      else if (state.row.url !== row.url || state.row.credentials !== row.credentials) {
        state.row = row;
        state.fetchState = {};
      } else {
        state.row.synced_at = row.synced_at ?? state.row.synced_at;
        state.row.sync_error = row.sync_error;
      }
    }
  }

  /**
   * Waits for the repository's index when this replica has none yet; after a failed attempt, queries answer with no
   * charts for a while instead of each asking the repository again (the periodic and requested syncs still do).
   */
  private async loaded(state: RepositoryState): Promise<void> {
    if (state.index) return;
    if (state.syncing) return state.syncing;
    if (state.failedAt !== undefined && Date.now() - state.failedAt < RETRY_AFTER_FAILURE_MS) return;
    await this.sync(state);
  }

  /** One sync per repository at a time; a failure is recorded, never thrown. */
  private sync(state: RepositoryState): Promise<void> {
    state.syncing ??= (async () => {
      let error: string | null = null;
      try {
        await this.fetchInto(state);
      } catch (e) {
        error = (e as Error).message;
        this.opts.log?.warn('helm repository sync failed', { repository: state.row.name, error });
      }
      state.failedAt = error === null ? undefined : Date.now();
      const syncedAt = error === null ? new Date() : null;
      if (syncedAt) state.row.synced_at = syncedAt;
      state.row.sync_error = error;
      if (!this.closed && this.states.get(state.row.name) === state)
        await this.opts.store.recordSync(state.row.name, syncedAt, error).catch((e: unknown) => {
          this.opts.log?.warn('could not record a helm repository sync', {
            repository: state.row.name,
            error: (e as Error).message,
          });
        });
    })().finally(() => {
      state.syncing = undefined;
    });
    return state.syncing;
  }

  private async fetchInto(state: RepositoryState): Promise<void> {
    const result = await fetchIndex(state.row.url, state.index ? state.fetchState : {}, {
      repository: state.row.name,
      resolver: this.opts.resolver,
      maxBytes: this.opts.indexMaxBytes ?? 100 << 20,
      fullParseMaxBytes: this.opts.fullParseMaxBytes,
      timeoutMs: this.opts.timeoutMs ?? 30_000,
      signal: this.closing.signal,
      auth: this.credentialsOf(state.row),
    });
    state.fetchState = result.state;
    if (result.changed) {
      state.index = result.index;
      state.indexUrl = result.url;
    }
  }

  private async syncAll(): Promise<void> {
    if (this.closed) return;
    try {
      await this.reload();
    } catch (e) {
      this.opts.log?.warn('could not list helm repositories', { error: (e as Error).message });
      return;
    }
    // One after another: a periodic sync must not fetch every index at once.
    for (const state of [...this.states.values()]) {
      if (this.closed) return;
      await this.sync(state);
    }
  }
}

function findIndexed(index: ParsedIndex | undefined, name: string): IndexedChart | undefined {
  const charts = index?.charts ?? [];
  let lo = 0;
  let hi = charts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (charts[mid].name < name) lo = mid + 1;
    else hi = mid;
  }
  return charts[lo]?.name === name ? charts[lo] : undefined;
}

const repositoryView = (row: RepositoryRow): HelmRepositoryView => ({
  name: row.name,
  url: row.url,
  workspace: row.workspace,
  syncedAt: row.synced_at ? new Date(row.synced_at).toISOString() : null,
  syncError: row.sync_error,
});
