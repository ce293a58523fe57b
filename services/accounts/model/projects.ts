// The cluster's namespaces as accounts needs them: a project's workspace is the namespace's kubesphere.io/workspace
// label, read at the moment of a check, and a membership belongs to the namespace (uid) it was granted on. Served by
// a namespace watch (services/common/tenancy.ts); without a cluster, project memberships cannot be managed at all.
// Projects and their members (KubeSphere's RoleBindings in a namespace) are decided against that directory here.
import DataLoader from 'dataloader';
import { badUserInput, forbiddenError, notFoundError, upstreamUnavailable } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { WORKSPACE_LABEL, type NamespaceEntry } from '../../common/tenancy.js';
import type { Db, Queryable } from '../clients/db.js';
import { store, type UserRow } from '../clients/store.js';
import { memo, type Access, type RequestScope } from './access.js';
import { projectRole, validProjectName, validUsername } from './roles.js';
import { unauthenticated } from './tokens.js';
import type { Member } from './workspaces.js';

export interface ProjectDirectory {
  /** Whether the namespaces have been listed: before that, nothing about projects can be decided. */
  isSynced(): boolean;
  /** Why project decisions cannot be made now (for the UPSTREAM_UNAVAILABLE error). */
  unavailableReason(): string;
  uidOf(namespace: string): string | undefined;
  workspaceOf(namespace: string): string | undefined;
  namespacesOf(workspace: string): readonly string[];
  /** The namespace as the API server says it at this moment (undefined: there is none). */
  fresh(name: string): Promise<NamespaceEntry | undefined>;
}

/** accounts started without a cluster (KUBECONFIG unset and not in a pod). */
export const NO_CLUSTER: ProjectDirectory = {
  isSynced: () => false,
  unavailableReason: () =>
    'accounts has no cluster configured (KUBECONFIG): projects and their members cannot be read or changed',
  uidOf: () => undefined,
  workspaceOf: () => undefined,
  namespacesOf: () => [],
  fresh: async () => undefined,
};

const VIEW_ALL_PROJECTS = new Set(['workspace-admin', 'workspace-viewer']);

const denied = (project: string) =>
  forbiddenError(
    `only a platform-admin, a workspace-admin of its workspace or a project-admin may manage the members of project ${project}`,
  );

export class Projects {
  private readonly directory: ProjectDirectory;

  constructor(
    private readonly db: Db,
    private readonly access: Access,
    private readonly log: Logger,
  ) {
    this.directory = access.projects;
  }

  /**
   * The projects of a workspace (namespaces labelled with it): all of them for platform admins, workspace admins and
   * viewers; for others the ones they are members of.
   */
  async workspaceProjects(req: RequestScope, workspace: string): Promise<string[]> {
    const names = [...this.directory.namespacesOf(workspace)].sort();
    if (
      (await this.access.isPlatformAdmin(req)) ||
      VIEW_ALL_PROJECTS.has((await this.access.myWorkspaceRoles(req)).get(workspace) ?? '')
    )
      return names;
    const mine = await this.access.myProjectRoles(req);
    return names.filter((n) => mine.has(n));
  }

  /**
   * A project (namespace) as the cluster says it: NOT_FOUND without one, UPSTREAM_UNAVAILABLE while the namespace
   * watch has not listed yet. Read from the watch, so the decision needs no upstream call of its own.
   */
  private project(name: string, a: UserRow): { name: string; uid: string; workspace?: string } {
    if (!this.directory.isSynced()) throw upstreamUnavailable('kubernetes', this.directory.unavailableReason());
    const uid = this.directory.uidOf(name);
    // Whether a namespace exists is for platform admins to learn: others get the denial they get for any project
    // that is not theirs.
    if (uid === undefined)
      throw a.platform_role === 'platform-admin' ? notFoundError(`project ${name} not found`) : denied(name);
    const workspace = this.directory.workspaceOf(name);
    return workspace ? { name, uid, workspace } : { name, uid };
  }

  /**
   * Member management: a platform admin, a workspace-admin of the workspace the namespace's label names, or a
   * project-admin granted on this very namespace. A namespace without the label is the platform admins' alone.
   */
  private async requireProjectAdmin(
    a: UserRow,
    q: Queryable,
    p: { name: string; uid: string; workspace?: string },
  ): Promise<void> {
    if (a.platform_role === 'platform-admin') return;
    if (!p.workspace) throw denied(p.name);
    if ((await store.workspaceRole(q, p.workspace, a.username)) === 'workspace-admin') return;
    if ((await store.projectRole(q, p.name, p.uid, a.username)) === 'project-admin') return;
    throw denied(p.name);
  }

  /** Adds a project member (or changes their role). Members must belong to the workspace the namespace's label names. */
  async addProjectMember(
    req: RequestScope,
    project: string,
    username: string,
    role: string,
  ): Promise<{ name: string }> {
    validProjectName(project);
    validUsername(username);
    projectRole(role);
    const a = await this.access.actor(req);
    const p = this.project(project, a);
    await this.db.transaction(async (tx) => {
      await this.requireProjectAdmin(a, tx, p);
      if (!p.workspace)
        throw badUserInput(
          `project ${project} belongs to no workspace (no ${WORKSPACE_LABEL} label): only platform admins work in it`,
          { field: 'project' },
        );
      if (!(await store.getUser(tx, username))) throw notFoundError(`user ${username} not found`);
      if (!(await store.workspaceRole(tx, p.workspace, username)))
        throw badUserInput(`${username} is no member of workspace ${p.workspace}: add them there first`, {
          field: 'username',
        });
      await store.upsertProjectMember(tx, project, p.uid, username, role);
      await store.bumpRevision(tx);
    });
    return { name: project };
  }

  async removeProjectMember(req: RequestScope, project: string, username: string): Promise<{ name: string }> {
    validProjectName(project);
    validUsername(username);
    const a = await this.access.actor(req);
    const p = this.project(project, a);
    await this.db.transaction(async (tx) => {
      await this.requireProjectAdmin(a, tx, p);
      if (!(await store.deleteProjectMember(tx, project, p.uid, username)))
        throw notFoundError(`${username} is no member of project ${project}`);
      await store.bumpRevision(tx);
    });
    return { name: project };
  }

  /**
   * Visible to platform admins, members of the project's workspace and members of the project. The projects a request
   * asks in one pass (a page of projects, an entity fetch) are decided one by one, then read in one query.
   */
  async projectMembers(req: RequestScope, project: string): Promise<Member[]> {
    if (!req.viewer) throw unauthenticated('authentication required');
    if (!this.directory.isSynced()) throw upstreamUnavailable('kubernetes', this.directory.unavailableReason());
    const loader = memo(
      req,
      'projectMembers',
      // Not cached: a mutation of the request may change the members between two reads; only the batching is wanted.
      () => new DataLoader<string, Member[]>((names) => this.loadProjectMembers(req, names), { cache: false }),
    );
    return loader.load(project);
  }

  private async loadProjectMembers(req: RequestScope, names: readonly string[]): Promise<(Member[] | Error)[]> {
    const decided: (Member[] | Error | { project: string; namespaceUid: string })[] = [];
    for (const project of names) {
      const uid = this.directory.uidOf(project);
      if (uid === undefined) {
        decided.push([]);
        continue;
      }
      const workspace = this.directory.workspaceOf(project);
      const allowed =
        (await this.access.isPlatformAdmin(req)) ||
        (workspace !== undefined && (await this.access.myWorkspaceRoles(req)).has(workspace)) ||
        (await this.access.myProjectRoles(req)).has(project);
      decided.push(
        allowed
          ? { project, namespaceUid: uid }
          : forbiddenError(`${req.viewer?.username} may not see the members of project ${project}`),
      );
    }
    const wanted = decided.filter((d): d is { project: string; namespaceUid: string } => 'namespaceUid' in d);
    const byProject = new Map<string, Member[]>();
    if (wanted.length)
      for (const r of await store.projectMembers(this.db, wanted)) {
        const key = `${r.project}\u0000${r.namespace_uid}`;
        const members = byProject.get(key) ?? [];
        if (!members.length) byProject.set(key, members);
        members.push({ username: r.username, role: r.role });
      }
    return decided.map((d) =>
      'namespaceUid' in d ? [...(byProject.get(`${d.project}\u0000${d.namespaceUid}`) ?? [])] : d,
    );
  }

  /**
   * Whoever creates a project becomes its project-admin, as in KubeSphere (internal: the workloads subgraph, right
   * after it created the namespace). Granted only on that namespace (its uid, read from the cluster now), and only to
   * a member of the workspace its label names; false when there is nothing to grant (a platform admin outside it).
   */
  async grantCreator(project: string, namespaceUid: string, username: string): Promise<boolean> {
    validProjectName(project, 'name');
    validUsername(username);
    const ns = await this.directory.fresh(project);
    if (!ns || ns.uid !== namespaceUid) throw notFoundError(`project ${project} (uid ${namespaceUid}) not found`);
    if (!ns.workspace) return false;
    const workspace = ns.workspace;
    return this.db.transaction(async (tx) => {
      if (!(await store.workspaceRole(tx, workspace, username))) return false;
      await store.upsertProjectMember(tx, project, ns.uid, username, 'project-admin');
      await store.bumpRevision(tx);
      return true;
    });
  }

  /** Drops the memberships of a namespace that is gone (the namespace watch's DELETED, or a new uid under its name). */
  async namespaceDeleted(project: string, namespaceUid: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      const n = await store.deleteMembershipsOfNamespace(tx, project, namespaceUid);
      if (n) await store.bumpRevision(tx);
      return n;
    });
  }

  /**
   * After every list of the namespaces: memberships of namespaces that no longer exist (or exist under a new uid) are
   * dropped. Rows from before uids were recorded were granted by a rule that trusted the caller's workspace, so they
   * are kept (adopting the current uid) only where they would be granted today: the namespace is labelled with a
   * workspace the member belongs to.
   */
  async reconcileProjects(): Promise<{ dropped: number; adopted: number }> {
    let dropped = 0;
    let adopted = 0;
    await this.db.transaction(async (tx) => {
      for (const m of await store.memberNamespaces(tx)) {
        const uid = this.directory.uidOf(m.project);
        if (m.namespace_uid === null) {
          const workspace = this.directory.workspaceOf(m.project);
          if (uid !== undefined && workspace !== undefined) {
            const n = await store.dropLegacyOutside(tx, m.project, workspace);
            dropped += n;
            adopted += await store.adoptNamespaceUid(tx, m.project, uid);
          } else dropped += await store.deleteMembershipsOfNamespace(tx, m.project, '');
        } else if (m.namespace_uid !== uid)
          dropped += await store.deleteMembershipsOfNamespace(tx, m.project, m.namespace_uid);
      }
      if (dropped || adopted) await store.bumpRevision(tx);
    });
    if (dropped || adopted) this.log.info('project memberships reconciled with the cluster', { dropped, adopted });
    return { dropped, adopted };
  }
}
