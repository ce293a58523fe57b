// The authorization matrix: users holding each KubeSphere role (in the demo-shop workspace and its project shop, none
// in data-platform), signed in through the gateway with real tokens, against every root field, mutation and
// subscription of the supergraph, and every entity type through `_entities` as the gateway calls it. The list of
// fields and entity types comes from the checked-in supergraph: a new one without a rule here fails the test.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import * as k8s from '@kubernetes/client-node';
import { createClient } from 'graphql-ws';
import { Kind, parse, type ObjectTypeDefinitionNode, type InterfaceTypeDefinitionNode } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUPERGRAPH_PATH } from '../gateway/compose.js';
import { accountsAuthenticator } from '../gateway/identity.js';
import { IDENTITY_HEADER, identityKey, signIdentity } from '../services/common/identity.js';
import { gql } from './harness/graphql.js';
import { eventually } from './harness/sandbox.js';
import { STACK_IDENTITY_SECRET, startTestStack, type TestStack } from './harness/stack.js';

const WHO = [
  'admin',
  'wsAdmin',
  'wsRegular',
  'wsViewer',
  'pAdmin',
  'pOperator',
  'pViewer',
  'outsider',
  'anonymous',
] as const;
type Who = (typeof WHO)[number];
const SIGNED_IN: Who[] = WHO.filter((w) => w !== 'anonymous');
/** Who may read in project shop (workspace demo-shop); nobody but the admin has a role in analytics (data-platform). */
const READ_SHOP: Who[] = ['admin', 'wsAdmin', 'wsViewer', 'pAdmin', 'pOperator', 'pViewer'];
const WRITE_SHOP: Who[] = ['admin', 'wsAdmin', 'pAdmin', 'pOperator'];
const ADMIN_SHOP: Who[] = ['admin', 'wsAdmin', 'pAdmin'];
const ADMIN_ONLY: Who[] = ['admin'];
/** Project members must be workspace members (workspace-regular here, which alone shows no project): all but outsiders. */
const WS_MEMBERS: Who[] = ['admin', 'wsAdmin', 'wsRegular', 'wsViewer', 'pAdmin', 'pOperator', 'pViewer'];
const PASSWORD = 'matrix-password-1';

interface Rule {
  /** The operation, with NS for the project it is about (run once with shop and once with analytics). */
  op: string;
  /** Who gets an answer (no FORBIDDEN / UNAUTHENTICATED) in shop; in analytics only those of `outside`. */
  allowed: Who[];
  outside?: Who[];
}

const nsRead = (op: string): Rule => ({ op, allowed: READ_SHOP, outside: ADMIN_ONLY });
const nsWrite = (op: string): Rule => ({ op, allowed: WRITE_SHOP, outside: ADMIN_ONLY });
const nsAdmin = (op: string): Rule => ({ op, allowed: ADMIN_SHOP, outside: ADMIN_ONLY });
const cluster = (op: string): Rule => ({ op, allowed: ADMIN_ONLY, outside: ADMIN_ONLY });
const signedIn = (op: string): Rule => ({ op, allowed: SIGNED_IN, outside: SIGNED_IN });
const list = (f: string) => nsRead(`{ ${f}(namespace: "NS", first: 1) { totalCount } }`);
const get = (f: string) => nsRead(`{ ${f}(namespace: "NS", name: "nope") { __typename } }`);

/** One rule per root field. Mutations use names that do not exist: the allowed get NOT_FOUND, the others FORBIDDEN. */
const RULES: Record<string, Rule> = {
  // accounts
  'Query.me': signedIn('{ me { username } }'),
  'Query.users': signedIn('{ users(first: 5) { totalCount } }'),
  'Query.user': signedIn('{ user(username: "admin") { username } }'),
  'Query.workspaces': signedIn('{ workspaces { name } }'),
  'Query.workspace': { op: '{ workspace(name: "WS") { name } }', allowed: WS_MEMBERS, outside: ADMIN_ONLY },
  'Query.apiTokens': signedIn('{ apiTokens { id } }'),
  'Mutation.login': {
    op: `mutation { login(username: "nobody-here", password: "x") { accessToken } }`,
    allowed: [],
    outside: [],
  },
  'Mutation.refreshToken': {
    op: 'mutation { refreshToken(refreshToken: "not-a-token") { accessToken } }',
    allowed: [],
    outside: [],
  },
  // A refresh token is its own credential: an unknown one is UNAUTHENTICATED whoever sends it.
  'Mutation.logout': { op: 'mutation { logout(refreshToken: "not-a-token") }', allowed: [], outside: [] },
  'Mutation.createUser': cluster('mutation { createUser(input: { username: "x!", password: "short" }) { username } }'),
  'Mutation.updateUser': cluster(
    'mutation { updateUser(username: "admin", input: { displayName: "A" }) { username } }',
  ),
  'Mutation.deleteUser': cluster('mutation { deleteUser(username: "nobody-here") }'),
  'Mutation.setUserState': cluster('mutation { setUserState(username: "nobody-here", state: ACTIVE) { username } }'),
  'Mutation.changePassword': signedIn(
    'mutation { changePassword(currentPassword: "wrong-password", newPassword: "another-password-1") }',
  ),
  'Mutation.resetPassword': cluster(
    'mutation { resetPassword(username: "nobody-here", newPassword: "another-password-1") }',
  ),
  'Mutation.createWorkspace': cluster('mutation { createWorkspace(name: "BAD NAME") { name } }'),
  'Mutation.updateWorkspace': {
    op: 'mutation { updateWorkspace(name: "demo-shop", description: "the shop") { name } }',
    allowed: ['admin', 'wsAdmin'],
    outside: ['admin', 'wsAdmin'],
  },
  'Mutation.deleteWorkspace': cluster('mutation { deleteWorkspace(name: "nobody-here") }'),
  'Mutation.addWorkspaceMember': {
    op: 'mutation { addWorkspaceMember(workspace: "demo-shop", username: "nobody-here", role: "workspace-viewer") { name } }',
    allowed: ['admin', 'wsAdmin'],
    outside: ['admin', 'wsAdmin'],
  },
  'Mutation.removeWorkspaceMember': {
    op: 'mutation { removeWorkspaceMember(workspace: "demo-shop", username: "nobody-here") { name } }',
    allowed: ['admin', 'wsAdmin'],
    outside: ['admin', 'wsAdmin'],
  },
  'Mutation.addProjectMember': nsAdmin(
    'mutation { addProjectMember(project: "NS", username: "nobody-here", role: "project-viewer") { name } }',
  ),
  'Mutation.removeProjectMember': nsAdmin(
    'mutation { removeProjectMember(project: "NS", username: "nobody-here") { name } }',
  ),
  'Mutation.createApiToken': signedIn('mutation { createApiToken(name: "") { token } }'),
  'Mutation.revokeApiToken': signedIn('mutation { revokeApiToken(id: "00000000-0000-0000-0000-000000000000") }'),
  // Run for everyone but the admin: rotating the keys in the middle of the matrix would change them under the others.
  'Mutation.rotateSigningKey': cluster('mutation { rotateSigningKey }'),
  // monitoring
  'Query.alerts': nsRead('{ alerts(namespace: "NS") { name } }'),
  'Query.alertingRules': nsRead('{ alertingRules(namespace: "NS") { name } }'),
  'Query.cluster': cluster('{ cluster { __typename } }'),
  // Members of the workspace or of one of its projects; the metrics cover only its projects the viewer may see.
  'Query.workspaceMetrics': {
    op: '{ workspaceMetrics(name: "WS") { __typename } }',
    allowed: WS_MEMBERS,
    outside: ADMIN_ONLY,
  },
  'Query.topPods': nsRead('{ topPods(by: CPU_CORES, namespace: "NS") { name } }'),
  'Query.topWorkloads': nsRead('{ topWorkloads(by: CPU_CORES, namespace: "NS") { name } }'),
  'Query.topProjects': signedIn('{ topProjects(by: CPU_CORES) { name } }'),
  'Query.topNodes': cluster('{ topNodes(by: CPU_CORES) { name } }'),
  'Query.promQuery': cluster('{ promQuery(query: "up") { resultType } }'),
  'Query.promQueryRange': cluster(
    '{ promQueryRange(query: "up", start: "2026-01-01T00:00:00Z", end: "2026-01-01T00:01:00Z", step: "15s") { resultType } }',
  ),
  // workloads
  'Query.projects': signedIn('{ projects(first: 1) { totalCount } }'),
  'Query.project': nsRead('{ project(name: "NS") { name } }'),
  'Query.nodes': cluster('{ nodes(first: 1) { totalCount } }'),
  'Query.pods': list('pods'),
  'Query.pod': get('pod'),
  'Query.workloads': list('workloads'),
  'Query.workload': nsRead('{ workload(namespace: "NS", kind: DEPLOYMENT, name: "nope") { name } }'),
  'Query.replicaSets': list('replicaSets'),
  'Query.replicaSet': get('replicaSet'),
  'Query.services': list('services'),
  'Query.service': get('service'),
  'Query.ingresses': list('ingresses'),
  'Query.ingress': get('ingress'),
  'Query.configMaps': list('configMaps'),
  'Query.configMap': get('configMap'),
  'Query.secrets': list('secrets'),
  'Query.secret': get('secret'),
  'Query.serviceAccounts': list('serviceAccounts'),
  'Query.serviceAccount': get('serviceAccount'),
  'Query.persistentVolumeClaims': list('persistentVolumeClaims'),
  'Query.persistentVolumeClaim': get('persistentVolumeClaim'),
  'Query.persistentVolumes': cluster('{ persistentVolumes(first: 1) { totalCount } }'),
  'Query.persistentVolume': cluster('{ persistentVolume(name: "nope") { name } }'),
  'Query.storageClasses': cluster('{ storageClasses(first: 1) { totalCount } }'),
  'Query.storageClass': cluster('{ storageClass(name: "nope") { name } }'),
  'Query.horizontalPodAutoscalers': list('horizontalPodAutoscalers'),
  'Query.horizontalPodAutoscaler': get('horizontalPodAutoscaler'),
  'Query.networkPolicies': list('networkPolicies'),
  'Query.networkPolicy': get('networkPolicy'),
  'Query.customResourceDefinitions': cluster('{ customResourceDefinitions(first: 1) { totalCount } }'),
  'Query.customResourceDefinition': cluster('{ customResourceDefinition(name: "nope") { name } }'),
  'Query.events': list('events'),
  'Mutation.createProject': {
    op: 'mutation { createProject(workspace: "WS", name: "x!") { name } }',
    allowed: ['admin', 'wsAdmin', 'wsRegular', 'pAdmin', 'pOperator', 'pViewer'],
    outside: ADMIN_ONLY,
  },
  // A project that does not exist belongs to no workspace or project role: platform admins only (deleting real
  // projects by role is in identity.test.ts).
  'Mutation.deleteProject': cluster('mutation { deleteProject(name: "NS-nope") }'),
  'Mutation.applyYaml': nsWrite(
    'mutation { applyYaml(namespace: "NS", yaml: "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: BAD NAME\\n") { name } }',
  ),
  'Mutation.scaleWorkload': nsWrite(
    'mutation { scaleWorkload(namespace: "NS", kind: DEPLOYMENT, name: "nope", replicas: 1) { name } }',
  ),
  'Mutation.restartWorkload': nsWrite(
    'mutation { restartWorkload(namespace: "NS", kind: DEPLOYMENT, name: "nope") { name } }',
  ),
  'Mutation.deletePod': nsWrite('mutation { deletePod(namespace: "NS", name: "nope") }'),
  'Mutation.rollbackDeployment': nsWrite('mutation { rollbackDeployment(namespace: "NS", name: "nope") { name } }'),
  'Mutation.pauseRollout': nsWrite('mutation { pauseRollout(namespace: "NS", name: "nope") { name } }'),
  'Mutation.resumeRollout': nsWrite('mutation { resumeRollout(namespace: "NS", name: "nope") { name } }'),
  'Mutation.deleteResource': nsWrite(
    'mutation { deleteResource(apiVersion: "v1", kind: "ConfigMap", namespace: "NS", name: "nope") }',
  ),
  'Mutation.setLabels': nsWrite(
    'mutation { setLabels(apiVersion: "v1", kind: "ConfigMap", namespace: "NS", name: "nope", labels: { a: "b" }) }',
  ),
  'Mutation.setAnnotations': nsWrite(
    'mutation { setAnnotations(apiVersion: "v1", kind: "ConfigMap", namespace: "NS", name: "nope", annotations: { a: "b" }) }',
  ),
  'Mutation.suspendCronJob': nsWrite('mutation { suspendCronJob(namespace: "NS", name: "nope") { name } }'),
  'Mutation.resumeCronJob': nsWrite('mutation { resumeCronJob(namespace: "NS", name: "nope") { name } }'),
  'Mutation.triggerCronJob': nsWrite('mutation { triggerCronJob(namespace: "NS", name: "nope") { name } }'),
  'Mutation.cordonNode': cluster('mutation { cordonNode(name: "nope") { name } }'),
  'Mutation.uncordonNode': cluster('mutation { uncordonNode(name: "nope") { name } }'),
  // subscriptions (run over graphql-ws, see below)
  'Subscription.podStatusChanged': nsRead('subscription { podStatusChanged(namespace: "NS") { type } }'),
  'Subscription.workloadStatusChanged': nsRead(
    'subscription { workloadStatusChanged(namespace: "NS", kind: DEPLOYMENT, name: "frontend") { type } }',
  ),
  'Subscription.events': nsRead('subscription { events(namespace: "NS") { type } }'),
  // apps: the catalog (platform repositories for everyone signed in, a workspace's for its members, managed by platform
  // admins and the workspace's admins) and releases (read by readers of the project, operated by its operators).
  'Query.helmRepositories': {
    op: '{ helmRepositories(workspace: "WS") { name } }',
    allowed: WS_MEMBERS,
    outside: ADMIN_ONLY,
  },
  'Query.charts': signedIn('{ charts(first: 1) { totalCount } }'),
  'Query.chart': signedIn('{ chart(repository: "nope", name: "nope") { name } }'),
  'Mutation.addHelmRepository': {
    op: 'mutation { addHelmRepository(input: { name: "BAD NAME", url: "http://127.0.0.1:1/", workspace: "WS" }) { name } }',
    allowed: ['admin', 'wsAdmin'],
    outside: ADMIN_ONLY,
  },
  'Mutation.removeHelmRepository': signedIn('mutation { removeHelmRepository(name: "nope") }'),
  'Mutation.syncHelmRepository': signedIn('mutation { syncHelmRepository(name: "nope") { name } }'),
  'Query.helmReleases': list('helmReleases'),
  'Query.helmRelease': get('helmRelease'),
  'Mutation.installRelease': nsWrite(
    'mutation { installRelease(namespace: "NS", name: "nope", repository: "nope", chart: "nope") { id } }',
  ),
  'Mutation.upgradeRelease': nsWrite(
    'mutation { upgradeRelease(namespace: "NS", name: "nope", repository: "nope", chart: "nope") { id } }',
  ),
  'Mutation.rollbackRelease': nsWrite('mutation { rollbackRelease(namespace: "NS", name: "nope") { id } }'),
  'Mutation.uninstallRelease': nsWrite('mutation { uninstallRelease(namespace: "NS", name: "nope") { id } }'),
  'Subscription.helmReleaseChanged': nsRead('subscription { helmReleaseChanged(namespace: "NS") { type } }'),
  // An operation that does not exist: NOT_FOUND for everyone signed in (operations of a project are followed by its
  // readers: test/apps-releases.test.ts).
  'Subscription.helmOperation': {
    op: 'subscription { helmOperation(id: "00000000-0000-0000-0000-000000000000") { state } }',
    allowed: [],
    outside: [],
  },
  // logging: search over the Elasticsearch stand-in, and live logs (PODNAME / WLNAME: a StatefulSet and its first pod
  // in the project, see the subscription test)
  'Query.logs': nsRead('{ logs(filter: { namespaces: ["NS"] }, first: 1) { totalCount } }'),
  'Query.logHistogram': nsRead('{ logHistogram(filter: { namespaces: ["NS"] }) { total } }'),
  'Query.logStatistics': nsRead('{ logStatistics(filter: { namespaces: ["NS"] }) { lines } }'),
  // A cursor is signed by the logging subgraph: a made-up one is BAD_USER_INPUT for everyone signed in (a real cursor
  // of another project: test/logging-authz.test.ts).
  'Query.logContext': signedIn('{ logContext(cursor: "made-up") { message } }'),
  'Subscription.podLogs': nsRead(
    'subscription { podLogs(namespace: "NS", pod: "PODNAME", tailLines: 1) { resumeToken } }',
  ),
  'Subscription.workloadLogs': nsRead(
    'subscription { workloadLogs(namespace: "NS", kind: STATEFUL_SET, name: "WLNAME", tailLines: 1) { resumeToken } }',
  ),
};

/** A StatefulSet of each project and its first pod, for the live-log subscriptions. */
const STATEFUL_SET_OF: Record<string, string> = { shop: 'redis', analytics: 'postgres' };

/** Entity representations per type, inside demo-shop/shop and outside it; who may resolve the inside one. */
interface EntitySample {
  inside: Record<string, unknown>;
  outside: Record<string, unknown>;
  allowed: Who[];
  /** Who may resolve the outside one (default: platform admins). */
  outsideAllowed?: Who[];
  /** Per subgraph, when it differs: who may, and the fields asked (default __typename). */
  graphs?: Record<string, { allowed?: Who[]; outsideAllowed?: Who[]; select?: string }>;
}
const ENTITIES: Record<string, EntitySample> = {
  Pod: {
    inside: { namespace: 'shop', name: 'POD_SHOP' },
    outside: { namespace: 'analytics', name: 'POD_ANALYTICS' },
    allowed: READ_SHOP,
  },
  Project: {
    inside: { name: 'shop' },
    outside: { name: 'analytics' },
    allowed: READ_SHOP,
    // accounts' Project is a stub whose fields authorize: its members are for the members (any role) of the workspace
    // its namespace is labelled with, and the project's.
    graphs: { accounts: { select: 'members { role }', allowed: WS_MEMBERS, outsideAllowed: ADMIN_ONLY } },
  },
  Node: { inside: { name: 'NODE' }, outside: { name: 'NODE' }, allowed: ADMIN_ONLY },
  Workload: {
    inside: { namespace: 'shop', kind: 'DEPLOYMENT', name: 'frontend' },
    outside: { namespace: 'analytics', kind: 'CRON_JOB', name: 'hourly-etl' },
    allowed: READ_SHOP,
  },
  Deployment: {
    inside: { namespace: 'shop', kind: 'DEPLOYMENT', name: 'frontend' },
    outside: { namespace: 'analytics', kind: 'DEPLOYMENT', name: 'nope' },
    allowed: READ_SHOP,
  },
  StatefulSet: {
    inside: { namespace: 'shop', kind: 'STATEFUL_SET', name: 'redis' },
    outside: { namespace: 'analytics', kind: 'STATEFUL_SET', name: 'nope' },
    allowed: READ_SHOP,
  },
  DaemonSet: {
    inside: { namespace: 'shop', kind: 'DAEMON_SET', name: 'nope' },
    outside: { namespace: 'kube-system', kind: 'DAEMON_SET', name: 'log-agent' },
    allowed: READ_SHOP,
  },
  Job: {
    inside: { namespace: 'shop', kind: 'JOB', name: 'nope' },
    outside: { namespace: 'analytics', kind: 'JOB', name: 'nightly-report' },
    allowed: READ_SHOP,
  },
  CronJob: {
    inside: { namespace: 'shop', kind: 'CRON_JOB', name: 'nope' },
    outside: { namespace: 'analytics', kind: 'CRON_JOB', name: 'hourly-etl' },
    allowed: READ_SHOP,
  },
  Workspace: {
    inside: { name: 'demo-shop' },
    outside: { name: 'data-platform' },
    allowed: WS_MEMBERS,
    // monitoring: the workspace's members (its metrics cover the projects they may see); workloads: any signed-in
    // viewer, with the projects it may see in the workspace.
    graphs: {
      monitoring: { allowed: WS_MEMBERS, outsideAllowed: ADMIN_ONLY },
      workloads: { select: 'projects { name }', allowed: SIGNED_IN, outsideAllowed: SIGNED_IN },
    },
  },
  // Users see themselves and the members of their workspaces.
  User: { inside: { username: 'pviewer' }, outside: { username: 'admin' }, allowed: WS_MEMBERS },
  // Releases installed with the helm binary in beforeAll.
  HelmRelease: {
    inside: { namespace: 'shop', name: 'matrix-web' },
    outside: { namespace: 'analytics', name: 'matrix-etl' },
    allowed: READ_SHOP,
  },
};

const DENIED = new Set(['FORBIDDEN', 'UNAUTHENTICATED']);

let stack: TestStack;
const tokens = {} as Record<Who, string | undefined>;
const USERS: Record<Exclude<Who, 'admin' | 'anonymous'>, { username: string; workspace?: string; project?: string }> = {
  wsAdmin: { username: 'wsadmin', workspace: 'workspace-admin' },
  wsRegular: { username: 'wsregular', workspace: 'workspace-regular' },
  wsViewer: { username: 'wsviewer', workspace: 'workspace-viewer' },
  pAdmin: { username: 'padmin', project: 'project-admin' },
  pOperator: { username: 'poperator', project: 'project-operator' },
  pViewer: { username: 'pviewer', project: 'project-viewer' },
  outsider: { username: 'outsider' },
};

/** Root fields and entity types of the checked-in supergraph. */
function supergraphSurface(): { fields: string[]; entities: Map<string, string[]> } {
  const sdl = readFileSync(SUPERGRAPH_PATH, 'utf8');
  const api = Supergraph.build(sdl).apiSchema().toGraphQLJSSchema();
  const fields: string[] = [];
  for (const t of [api.getQueryType(), api.getMutationType(), api.getSubscriptionType()])
    if (t) for (const f of Object.keys(t.getFields())) fields.push(`${t.name}.${f}`);
  const entities = new Map<string, string[]>();
  for (const d of parse(sdl).definitions) {
    if (d.kind !== Kind.OBJECT_TYPE_DEFINITION && d.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    for (const dir of (d as ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode).directives ?? []) {
      if (dir.name.value !== 'join__type') continue;
      const arg = (n: string) => dir.arguments?.find((a) => a.name.value === n)?.value;
      const key = arg('key');
      const resolvable = arg('resolvable');
      if (!key || (resolvable?.kind === Kind.BOOLEAN && !resolvable.value)) continue;
      const graph = (arg('graph') as { value: string }).value.toLowerCase();
      entities.set(d.name.value, [...(entities.get(d.name.value) ?? []), graph]);
    }
  }
  return { fields, entities };
}

const outcome = (errors: { extensions?: { code?: string } }[] | undefined) =>
  (errors ?? []).some((e) => DENIED.has(String(e.extensions?.code))) ? 'denied' : 'answered';

beforeAll(async () => {
  stack = await startTestStack();
  for (const ws of ['demo-shop', 'data-platform'])
    expect((await stack.gql(`mutation { createWorkspace(name: "${ws}") { name } }`)).errors).toBeUndefined();
  for (const u of Object.values(USERS)) {
    expect(
      (
        await stack.gql(
          `mutation($p: String!) { createUser(input: { username: "${u.username}", password: $p }) { username } }`,
          { p: PASSWORD },
        )
      ).errors,
    ).toBeUndefined();
    // A project member must be a member of the project's workspace first.
    if (u.project)
      expect(
        (
          await stack.gql(
            `mutation { addWorkspaceMember(workspace: "demo-shop", username: "${u.username}", role: "workspace-regular") { name } }`,
          )
        ).errors,
      ).toBeUndefined();
    if (u.workspace)
      expect(
        (
          await stack.gql(
            `mutation { addWorkspaceMember(workspace: "demo-shop", username: "${u.username}", role: "${u.workspace}") { name } }`,
          )
        ).errors,
      ).toBeUndefined();
    if (u.project)
      expect(
        (
          await stack.gql(
            `mutation { addProjectMember(project: "shop", username: "${u.username}", role: "${u.project}") { name } }`,
          )
        ).errors,
      ).toBeUndefined();
  }
  tokens.admin = stack.adminToken;
  tokens.anonymous = undefined;
  for (const [who, u] of Object.entries(USERS)) tokens[who as Who] = await stack.login(u.username, PASSWORD);
  // A release in each project, made with the helm binary (the apps subgraph sees them through its Secret informer).
  const chartDir = mkdtempSync(join(tmpdir(), 'kubegraph-matrix-chart-'));
  await stack.cluster.helm(['create', join(chartDir, 'web')]);
  await stack.cluster.helm(['install', 'matrix-web', join(chartDir, 'web'), '-n', 'shop']);
  await stack.cluster.helm(['install', 'matrix-etl', join(chartDir, 'web'), '-n', 'analytics']);
  rmSync(chartDir, { recursive: true, force: true });
  await eventually(
    async () => Boolean(stack.apps.index.get('shop', 'matrix-web') && stack.apps.index.get('analytics', 'matrix-etl')),
    20_000,
    'the matrix releases to be seen',
  );
  // The whole stack, eight users and two helm installs: more than the default hook time on a busy 2-core machine.
}, 180_000);
afterAll(async () => {
  await stack?.close();
});

describe('the authorization matrix', () => {
  it('has a rule for every root field and every entity type of the supergraph', () => {
    const { fields, entities } = supergraphSurface();
    expect(fields.filter((f) => !RULES[f])).toEqual([]);
    expect([...entities.keys()].filter((t) => !ENTITIES[t])).toEqual([]);
  });

  it('answers queries and mutations to exactly the roles that may ask, in the project they hold and outside it', async () => {
    const mismatches: string[] = [];
    for (const [field, rule] of Object.entries(RULES)) {
      if (field.startsWith('Subscription.')) continue;
      for (const [where, ns, ws, allowed] of [
        ['shop', 'shop', 'demo-shop', rule.allowed],
        ['analytics', 'analytics', 'data-platform', rule.outside ?? rule.allowed],
      ] as const) {
        const op = rule.op.replaceAll('NS', ns).replaceAll('WS', ws);
        for (const who of WHO) {
          if (field === 'Mutation.rotateSigningKey' && who === 'admin') continue;
          const r = await stack.gqlAs(tokens[who], op);
          const got = outcome(r.errors);
          const want = allowed.includes(who) ? 'answered' : 'denied';
          if (got !== want)
            mismatches.push(
              `${field} in ${where} as ${who}: ${got}, expected ${want} (${JSON.stringify(r.errors?.map((e) => e.extensions?.code))})`,
            );
        }
      }
    }
    expect(mismatches).toEqual([]);
    // Every root field for 9 callers in 2 projects, one request at a time: minutes, not the default minute.
  }, 300_000);

  it('filters cross-project lists to what each role may see', async () => {
    const nsOf = async (who: Who) => {
      const r = await stack.gqlAs<{ pods: { edges: { node: { namespace: string } }[] } }>(
        tokens[who],
        '{ pods(first: 500) { edges { node { namespace } } } }',
      );
      return [...new Set(r.data!.pods.edges.map((e) => e.node.namespace))].sort();
    };
    expect(await nsOf('pViewer')).toEqual(['shop']);
    expect(await nsOf('wsViewer')).toEqual(['shop', 'shop-staging']);
    expect(await nsOf('wsRegular')).toEqual([]);
    expect(await nsOf('outsider')).toEqual([]);
    expect((await nsOf('admin')).length).toBeGreaterThan(3);
    const projectsOf = async (who: Who) =>
      (
        await stack.gqlAs<{ workspace: { projects: { name: string }[] } }>(
          tokens[who],
          '{ workspace(name: "demo-shop") { projects { name } } }',
        )
      ).data!.workspace.projects.map((p) => p.name);
    expect(await projectsOf('pViewer')).toEqual(['shop']);
    expect(await projectsOf('wsViewer')).toEqual(['shop', 'shop-staging']);
    expect(await projectsOf('wsRegular')).toEqual([]);
  });

  it('answers a workspace: argument only to members of that workspace (or of one of its projects), as a namespace: one', async () => {
    const ops = [
      '{ pods(workspace: "WS", first: 1) { totalCount } }',
      '{ projects(workspace: "WS", first: 1) { totalCount } }',
      '{ workloads(workspace: "WS", first: 1) { totalCount } }',
      '{ secrets(workspace: "WS", first: 1) { totalCount } }',
      '{ events(workspace: "WS", first: 1) { totalCount } }',
      '{ topPods(by: CPU_CORES, workspace: "WS") { name } }',
      '{ topProjects(by: CPU_CORES, workspace: "WS") { name } }',
    ];
    const mismatches: string[] = [];
    for (const op of ops) {
      for (const [ws, allowed] of [
        ['demo-shop', WS_MEMBERS],
        ['data-platform', ADMIN_ONLY],
      ] as const) {
        for (const who of WHO) {
          const r = await stack.gqlAs(tokens[who], op.replaceAll('WS', ws));
          const got = outcome(r.errors);
          const want = allowed.includes(who) ? 'answered' : 'denied';
          if (got !== want)
            mismatches.push(
              `${op} in ${ws} as ${who}: ${got}, expected ${want} (${JSON.stringify(r.errors?.map((e) => e.extensions?.code))})`,
            );
        }
      }
    }
    expect(mismatches).toEqual([]);
    // The same over graphql-ws: a foreign workspace is FORBIDDEN, not an empty stream.
    for (const [who, want] of [
      ['pViewer', undefined],
      ['outsider', 'FORBIDDEN'],
    ] as const) {
      const client = createClient({
        url: stack.gateway.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${tokens[who]}` },
      });
      const codes: (string | undefined)[] = [];
      let done = false;
      const stop = client.subscribe(
        { query: 'subscription { podStatusChanged(workspace: "demo-shop") { type } }' },
        {
          next: (r) => void (r.errors && codes.push(...r.errors.map((e) => e.extensions?.code as string | undefined))),
          error: () => (done = true),
          complete: () => (done = true),
        },
      );
      if (want) {
        await eventually(() => done || undefined, 10_000, 'the refusal');
        expect(codes).toEqual([want]);
      } else {
        // Accepted: the workloads subgraph opens a stream on its pod feed (only after authorizing), and no error came.
        const podStreams = async () =>
          Number(
            /^kubegraph_workloads_subscribers\{[^}]*kind="Pod"[^}]*\} (\d+)/m.exec(
              await (await fetch(stack.workloads.url.replace(/\/graphql$/, '/metrics'))).text(),
            )?.[1] ?? 0,
          );
        await eventually(async () => done || (await podStreams()) > 0, 10_000, 'the subscription to be accepted');
        expect(done).toBe(false);
        expect(codes).toEqual([]);
      }
      stop();
      await client.dispose();
    }
  });

  it('opens subscriptions only for the roles that may read', async () => {
    const mismatches: string[] = [];
    const streams = async (kind: string) => {
      if (kind === 'HelmRelease') return stack.apps.index.readerCount;
      if (kind === 'LiveLog') return stack.logging.live?.upstreamStreams() ?? 0;
      const text = await (await fetch(stack.workloads.url.replace(/\/graphql$/, '/metrics'))).text();
      return Number(
        new RegExp(`^kubegraph_workloads_subscribers\\{[^}]*kind="${kind}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0,
      );
    };
    const KIND_OF: Record<string, string> = {
      'Subscription.podStatusChanged': 'Pod',
      'Subscription.workloadStatusChanged': 'Deployment',
      'Subscription.events': 'Event',
      'Subscription.helmReleaseChanged': 'HelmRelease',
      'Subscription.helmOperation': 'HelmOperation',
      'Subscription.podLogs': 'LiveLog',
      'Subscription.workloadLogs': 'LiveLog',
    };
    for (const [field, rule] of Object.entries(RULES).filter(([f]) => f.startsWith('Subscription.'))) {
      const kind = KIND_OF[field];
      for (const [ns, allowed] of [
        ['shop', rule.allowed],
        ['analytics', rule.outside!],
      ] as const) {
        for (const who of WHO) {
          const client = createClient({
            url: stack.gateway.url.replace(/^http/, 'ws'),
            webSocketImpl: WebSocket,
            retryAttempts: 0,
            connectionParams: tokens[who] ? { authorization: `Bearer ${tokens[who]}` } : {},
          });
          // Refused: an error (or, anonymous, the connection closed) arrives at once. Allowed: the subscription stays
          // open until the upstream has confirmed it (the gateway's upstream count), with no error.
          const state: { error?: unknown; done: boolean } = { done: false };
          const stop = client.subscribe(
            {
              query: rule.op
                .replaceAll('NS', ns)
                .replaceAll('PODNAME', `${STATEFUL_SET_OF[ns]}-0`)
                .replaceAll('WLNAME', STATEFUL_SET_OF[ns]!),
            },
            {
              next: (r) => (r.errors ? ((state.error = r.errors), (state.done = true)) : undefined),
              error: (e) => ((state.error = e), (state.done = true)),
              complete: () => (state.done = true),
            },
          );
          // Accepted: the workloads subgraph opened a stream on its change feed (it does so only after authorizing).
          // Refused: an error arrives (or, anonymous, the connection is refused).
          await eventually(
            async () => state.done || (await streams(kind)) > 0,
            10_000,
            `${field} in ${ns} as ${who} to be accepted or refused`,
          );
          const got = state.error || state.done ? 'denied' : 'answered';
          stop();
          await client.dispose();
          await eventually(async () => (await streams(kind)) === 0, 10_000, 'the stream closed');
          const want = allowed.includes(who) ? 'answered' : 'denied';
          if (got !== want)
            mismatches.push(`${field} in ${ns} as ${who}: ${got}, expected ${want} (${JSON.stringify(state.error)})`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('resolves entity lookups only for the roles that may see the entity, in every subgraph that resolves it', async () => {
    const { entities } = supergraphSurface();
    const auth = accountsAuthenticator({
      accountsUrl: stack.accounts.baseUrl,
      internalToken: 'kubegraph-test-stack-internal-token',
      bindingsCheckMs: 0,
    });
    const key = identityKey(STACK_IDENTITY_SECRET);
    const podOf = async (ns: string) =>
      (
        await stack.gql<{ pods: { edges: { node: { name: string } }[] } }>(
          `{ pods(namespace: "${ns}", first: 1) { edges { node { name } } } }`,
        )
      ).data!.pods.edges[0].node.name;
    const node = (
      await stack.gql<{ nodes: { edges: { node: { name: string } }[] } }>(
        '{ nodes(first: 1) { edges { node { name } } } }',
      )
    ).data!.nodes.edges[0].node.name;
    const fill = async (rep: Record<string, unknown>) =>
      Object.fromEntries(
        await Promise.all(
          Object.entries(rep).map(async ([k, v]) => [
            k,
            v === 'POD_SHOP'
              ? await podOf('shop')
              : v === 'POD_ANALYTICS'
                ? await podOf('analytics')
                : v === 'NODE'
                  ? node
                  : v,
          ]),
        ),
      );
    const urls: Record<string, string> = {
      workloads: stack.workloads.url,
      monitoring: stack.monitoring.url,
      accounts: stack.accounts.url,
      apps: stack.apps.url,
      logging: stack.logging.url,
    };
    const mismatches: string[] = [];
    for (const [type, graphs] of entities) {
      const sample = ENTITIES[type];
      for (const graph of graphs) {
        const g = sample.graphs?.[graph] ?? {};
        const inside = g.allowed ?? sample.allowed;
        const outside = g.outsideAllowed ?? sample.outsideAllowed ?? ADMIN_ONLY;
        for (const [where, rep, allowed] of [
          ['inside', sample.inside, inside],
          ['outside', sample.outside, outside],
        ] as const) {
          const representation = { __typename: type, ...(await fill(rep)) };
          for (const who of WHO) {
            const viewer = await auth.authenticate(tokens[who]);
            const query = `query($r: [_Any!]!) { _entities(representations: $r) { __typename ${g.select ? `... on ${type} { ${g.select} }` : ''} } }`;
            const r = await gql<{ _entities: unknown[] }>(
              urls[graph],
              query,
              { r: [representation] },
              { [IDENTITY_HEADER]: await signIdentity(key, viewer) },
            );
            // Hidden (null) or refused both count as not resolved; a lookup of something that does not exist is
            // null for everyone, so only the existing samples count as answered.
            const got = r.data?._entities?.[0] && !r.errors?.length ? 'answered' : 'denied';
            const exists = !String(JSON.stringify(rep)).includes('nope');
            const want = allowed.includes(who) && exists ? 'answered' : 'denied';
            if (got !== want)
              mismatches.push(
                `${type} ${where} in ${graph} as ${who}: ${got}, expected ${want} (${JSON.stringify(r.errors?.map((e) => e.extensions?.code))})`,
              );
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('tokens at the gateway', () => {
  const whoami = (token: string | undefined) => stack.gqlAs<{ me: { username: string } }>(token, '{ me { username } }');
  const shopPods = (token: string | undefined) =>
    stack.gqlAs<{ pods: { totalCount: number } }>(token, '{ pods(namespace: "shop", first: 1) { totalCount } }');

  it('refuses a forged or garbled access token with UNAUTHENTICATED (401)', async () => {
    const good = tokens.pViewer!;
    const [h, p] = good.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin', platform_role: 'platform-admin' })).toString('base64url')}.${good.split('.')[2]}`;
    for (const t of [forged, 'not-a-token', `${good}x`]) {
      const r = await whoami(t);
      expect(r.status).toBe(401);
      expect(r.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      expect(r.data ?? null).toBeNull();
    }
  });

  it('refuses the tokens of a disabled user; once enabled, API tokens work again and sessions must log in again', async () => {
    await stack.gql('mutation { createUser(input: { username: "dora", password: "matrix-password-1" }) { username } }');
    const access = await stack.login('dora', PASSWORD);
    const api = (
      await stack.gqlAs<{ createApiToken: { token: string } }>(
        access,
        'mutation { createApiToken(name: "ci") { token } }',
      )
    ).data!.createApiToken.token;
    expect((await whoami(access)).data?.me.username).toBe('dora');
    expect((await whoami(api)).data?.me.username).toBe('dora');
    await stack.gql('mutation { setUserState(username: "dora", state: DISABLED) { state } }');
    for (const t of [access, api]) expect((await whoami(t)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    await stack.gql('mutation { setUserState(username: "dora", state: ACTIVE) { state } }');
    // Disabling ended dora's sessions (README: accounts): her old access token stays refused, a new login works.
    expect((await whoami(api)).data?.me.username).toBe('dora');
    expect((await whoami(access)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect((await whoami(await stack.login('dora', PASSWORD))).data?.me.username).toBe('dora');
  });

  it('refuses a revoked API token at once', async () => {
    const created = (
      await stack.gqlAs<{ createApiToken: { token: string; apiToken: { id: string } } }>(
        tokens.pViewer,
        'mutation { createApiToken(name: "to-revoke") { token apiToken { id } } }',
      )
    ).data!.createApiToken;
    expect((await whoami(created.token)).data?.me.username).toBe('pviewer');
    expect(
      (await stack.gqlAs(tokens.pViewer, `mutation { revokeApiToken(id: "${created.apiToken.id}") }`)).errors,
    ).toBeUndefined();
    expect((await whoami(created.token)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('applies a role change to the next request', async () => {
    const dora = await stack.login('dora', PASSWORD);
    expect((await shopPods(dora)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    await stack.gql(
      'mutation { addWorkspaceMember(workspace: "demo-shop", username: "dora", role: "workspace-viewer") { name } }',
    );
    const r = await shopPods(dora);
    expect(r.errors).toBeUndefined();
    expect(r.data?.pods.totalCount).toBeGreaterThan(0);
  });
});

describe('an open subscription', () => {
  it('ends with FORBIDDEN once the subscriber loses the role, within one identity lifetime, with events until then', async () => {
    // Identities of 2 s: the subgraph ends each upstream subscription after 2 s and the gateway renews it with the
    // caller's roles as they are then.
    const gateway = await stack.startGateway({ identityTtlSeconds: 2 });
    await stack.gql(`mutation($p: String!) { createUser(input: { username: "rita", password: $p }) { username } }`, {
      p: PASSWORD,
    });
    await stack.gql(
      'mutation { addWorkspaceMember(workspace: "demo-shop", username: "rita", role: "workspace-regular") { name } }',
    );
    await stack.gql(
      'mutation { addProjectMember(project: "shop", username: "rita", role: "project-viewer") { name } }',
    );
    const rita = await stack.login('rita', PASSWORD);
    const client = createClient({
      url: gateway.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${rita}` },
    });
    const state: {
      results: { data?: unknown; errors?: readonly { extensions?: { code?: string } }[] }[];
      done: boolean;
    } = { results: [], done: false };
    const stop = client.subscribe(
      { query: 'subscription { podStatusChanged(namespace: "shop") { type pod { name labels } } }' },
      {
        next: (r) => void state.results.push(r as (typeof state.results)[number]),
        error: () => (state.done = true),
        complete: () => (state.done = true),
      },
    );
    try {
      // Started once the workloads subgraph has a stream open for it.
      const podStreams = async () =>
        Number(
          /^kubegraph_workloads_subscribers\{[^}]*kind="Pod"[^}]*\} (\d+)/m.exec(
            await (await fetch(stack.workloads.url.replace(/\/graphql$/, '/metrics'))).text(),
          )?.[1] ?? 0,
        );
      await eventually(async () => (await podStreams()) > 0, 10_000, 'the subscription to start');
      const pod = (
        await stack.gql<{ pods: { edges: { node: { name: string } }[] } }>(
          '{ pods(namespace: "shop", first: 1) { edges { node { name } } } }',
        )
      ).data!.pods.edges[0].node.name;
      // Past several renewals, changes still arrive.
      for (let i = 1; i <= 4; i++) {
        await stack.cluster.core.patchNamespacedPod(
          { name: pod, namespace: 'shop', body: { metadata: { labels: { renewal: String(i) } } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
        await eventually(
          () => state.results.some((r) => JSON.stringify(r.data).includes(`"renewal":"${i}"`)) || undefined,
          10_000,
          `change ${i}`,
        );
        await new Promise((r) => setTimeout(r, 1_000));
      }
      expect(state.results.every((r) => !r.errors)).toBe(true);
      await stack.gql('mutation { removeProjectMember(project: "shop", username: "rita") { name } }');
      await eventually(() => state.done || undefined, 15_000, 'the subscription to end');
      expect(state.results[state.results.length - 1].errors?.[0].extensions?.code).toBe('FORBIDDEN');
    } finally {
      stop();
      await client.dispose();
    }
  });
});

describe('projects follow the cluster: the workspace is the namespace label, memberships live on the namespace uid', () => {
  const code = (r: { errors?: readonly { extensions?: { code?: unknown } }[] }) =>
    r.errors?.map((e) => e.extensions?.code);
  const secretValues = (ns: string) => `{ secret(namespace: "${ns}", name: "db-secret") { values } }`;
  let mallory: string | undefined;

  beforeAll(async () => {
    // ws-a holds proj-a1 (with a secret); mallory is workspace-admin of ws-b only.
    for (const ws of ['ws-a', 'ws-b'])
      expect(code(await stack.gql(`mutation { createWorkspace(name: "${ws}") { name } }`))).toBeUndefined();
    expect(
      code(await stack.gql('mutation { createProject(workspace: "ws-a", name: "proj-a1") { name } }')),
    ).toBeUndefined();
    await stack.cluster.core.createNamespacedSecret({
      namespace: 'proj-a1',
      body: { metadata: { name: 'db-secret' }, stringData: { password: 'tenant-a-password' } },
    });
    await stack.gql(`mutation($p: String!) { createUser(input: { username: "mallory", password: $p }) { username } }`, {
      p: PASSWORD,
    });
    await stack.gql(
      'mutation { addWorkspaceMember(workspace: "ws-b", username: "mallory", role: "workspace-admin") { name } }',
    );
    mallory = await stack.login('mallory', PASSWORD);
  });

  it("refuses a workspace admin who names her own workspace for another tenant's project, and every variant of it", async () => {
    // The argument that was trusted is gone: naming a workspace is a validation error, nothing is recorded.
    expect(
      code(
        await stack.gqlAs(
          mallory,
          'mutation { addProjectMember(project: "proj-a1", username: "mallory", role: "project-admin", workspace: "ws-b") { name } }',
        ),
      ),
    ).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    for (const project of ['proj-a1', 'analytics', 'kube-system', 'default']) {
      expect(
        code(
          await stack.gqlAs(
            mallory,
            `mutation { addProjectMember(project: "${project}", username: "mallory", role: "project-admin") { name } }`,
          ),
        ),
        project,
      ).toEqual(['FORBIDDEN']);
      expect(
        code(
          await stack.gqlAs(
            mallory,
            `mutation { removeProjectMember(project: "${project}", username: "mallory") { name } }`,
          ),
        ),
        project,
      ).toEqual(['FORBIDDEN']);
    }
    expect(code(await stack.gqlAs(mallory, secretValues('proj-a1')))).toEqual(['FORBIDDEN']);
    // The real admin of ws-a still manages proj-a1: the project is still hers.
    await stack.gql(`mutation($p: String!) { createUser(input: { username: "alma", password: $p }) { username } }`, {
      p: PASSWORD,
    });
    await stack.gql(
      'mutation { addWorkspaceMember(workspace: "ws-a", username: "alma", role: "workspace-admin") { name } }',
    );
    const alma = await stack.login('alma', PASSWORD);
    const members = await stack.gqlAs<{
      project: { workspace: { name: string }; members: { user: { username: string } }[] };
    }>(alma, '{ project(name: "proj-a1") { workspace { name } members { user { username } } } }');
    expect(members.errors).toBeUndefined();
    expect(members.data!.project.workspace.name).toBe('ws-a');
    expect(members.data!.project.members.map((m) => m.user.username)).not.toContain('mallory');
    // A namespace without a workspace label is the platform admins' alone: nobody can be made a member of it.
    expect(
      code(
        await stack.gql(
          'mutation { addProjectMember(project: "kube-system", username: "mallory", role: "project-viewer") { name } }',
        ),
      ),
    ).toEqual(['BAD_USER_INPUT']);
    // Relabelling a namespace moves it, members management included, at once.
    await stack.cluster.core.patchNamespace(
      { name: 'proj-a1', body: { metadata: { labels: { 'kubesphere.io/workspace': 'ws-b' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    try {
      await eventually(
        async () =>
          code(
            await stack.gqlAs(
              mallory,
              'mutation { addProjectMember(project: "proj-a1", username: "mallory", role: "project-viewer") { name } }',
            ),
          ) === undefined || undefined,
        10_000,
        'the label to count',
      );
      expect(
        code(
          await stack.gqlAs(
            alma,
            'mutation { addProjectMember(project: "proj-a1", username: "alma", role: "project-viewer") { name } }',
          ),
        ),
      ).toEqual(['FORBIDDEN']);
    } finally {
      await stack.cluster.core.patchNamespace(
        { name: 'proj-a1', body: { metadata: { labels: { 'kubesphere.io/workspace': 'ws-a' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await stack
        .gql('mutation { removeProjectMember(project: "proj-a1", username: "mallory") { name } }')
        .catch(() => undefined);
    }
  });

  it('ends memberships with their namespace: a namespace created again under the same name, in another workspace, starts with no members', async () => {
    expect(
      code(await stack.gql('mutation { createProject(workspace: "ws-a", name: "reborn") { name } }')),
    ).toBeUndefined();
    await stack.gql(`mutation($p: String!) { createUser(input: { username: "carol", password: $p }) { username } }`, {
      p: PASSWORD,
    });
    await stack.gql(
      'mutation { addWorkspaceMember(workspace: "ws-a", username: "carol", role: "workspace-regular") { name } }',
    );
    expect(
      code(
        await stack.gql(
          'mutation { addProjectMember(project: "reborn", username: "carol", role: "project-viewer") { name } }',
        ),
      ),
    ).toBeUndefined();
    const carol = await stack.login('carol', PASSWORD);
    expect(
      code(await stack.gqlAs(carol, '{ configMaps(namespace: "reborn", first: 1) { totalCount } }')),
    ).toBeUndefined();

    expect(code(await stack.gql('mutation { deleteProject(name: "reborn") }'))).toBeUndefined();
    await eventually(
      async () =>
        (await stack.cluster.core.listNamespace()).items.every((n) => n.metadata?.name !== 'reborn') || undefined,
      30_000,
      'the namespace to be gone',
    );
    // Another tenant's namespace of the same name, with something to read in it.
    await stack.cluster.core.createNamespace({
      body: { metadata: { name: 'reborn', labels: { 'kubesphere.io/workspace': 'ws-b' } } },
    });
    await stack.cluster.core.createNamespacedConfigMap({
      namespace: 'reborn',
      body: { metadata: { name: 'b-config' }, data: { k: 'v' } },
    });
    await eventually(
      async () =>
        code(await stack.gql('{ configMaps(namespace: "reborn", first: 1) { totalCount } }')) === undefined ||
        undefined,
      10_000,
      'workloads to see it',
    );
    expect(code(await stack.gqlAs(carol, '{ configMaps(namespace: "reborn", first: 1) { totalCount } }'))).toEqual([
      'FORBIDDEN',
    ]);
    const bindings = await stack.gqlAs<{ me: { roleBindings: { projects: { project: string }[] } } }>(
      carol,
      '{ me { roleBindings { projects { project } } } }',
    );
    expect(bindings.data!.me.roleBindings.projects).toEqual([]);
    const members = await stack.gql<{ project: { members: unknown[] } }>(
      '{ project(name: "reborn") { members { role } } }',
    );
    expect(members.data!.project.members).toEqual([]);
  });

  it('a signed identity naming an earlier namespace of the same name grants nothing in the new one', async () => {
    // As if the gateway signed carol's role on the old namespace a moment before it was replaced.
    await stack.cluster.core.createNamespace({
      body: { metadata: { name: 'stale-grant', labels: { 'kubesphere.io/workspace': 'ws-b' } } },
    });
    await eventually(
      async () => code(await stack.gql('{ project(name: "stale-grant") { name } }')) === undefined || undefined,
      10_000,
      'workloads to see it',
    );
    const identity = await signIdentity(identityKey(STACK_IDENTITY_SECRET), {
      username: 'carol',
      platformRole: 'platform-regular',
      projectRoles: { 'stale-grant': 'project-admin' },
      projectUids: { 'stale-grant': '00000000-0000-0000-0000-000000000000' },
    });
    const r = await gql(
      stack.workloads.url,
      '{ configMaps(namespace: "stale-grant", first: 1) { totalCount } }',
      {},
      { [IDENTITY_HEADER]: identity },
    );
    expect(code(r)).toEqual(['FORBIDDEN']);
  });

  it('creates projects only in workspaces that exist, and makes the creator its project-admin', async () => {
    expect(
      code(await stack.gql('mutation { createProject(workspace: "no-such-workspace", name: "orphan") { name } }')),
    ).toEqual(['NOT_FOUND']);
    expect((await stack.cluster.core.listNamespace()).items.map((n) => n.metadata?.name)).not.toContain('orphan');

    await stack.gql(`mutation($p: String!) { createUser(input: { username: "rene", password: $p }) { username } }`, {
      p: PASSWORD,
    });
    await stack.gql(
      'mutation { addWorkspaceMember(workspace: "ws-a", username: "rene", role: "workspace-regular") { name } }',
    );
    const rene = await stack.login('rene', PASSWORD);
    expect(
      code(await stack.gqlAs(rene, 'mutation { createProject(workspace: "ws-a", name: "renes-project") { name } }')),
    ).toBeUndefined();
    // The creator works in it at once (the next request carries the new binding), and manages its members.
    const members = await stack.gqlAs<{ project: { members: { user: { username: string }; role: string }[] } }>(
      rene,
      '{ project(name: "renes-project") { members { user { username } role } } }',
    );
    expect(members.data?.project.members).toEqual([{ user: { username: 'rene' }, role: 'project-admin' }]);
    await stack.cluster.core.createNamespacedSecret({
      namespace: 'renes-project',
      body: { metadata: { name: 'db-secret' }, stringData: { password: 'renes-password' } },
    });
    const values = await eventually(
      async () =>
        (await stack.gqlAs<{ secret: { values: Record<string, string> } | null }>(rene, secretValues('renes-project')))
          .data?.secret?.values,
      10_000,
      'the secret',
    );
    expect(values).toEqual({ password: 'renes-password' });
    expect(
      code(
        await stack.gqlAs(
          rene,
          'mutation { addProjectMember(project: "renes-project", username: "carol", role: "project-viewer") { name } }',
        ),
      ),
    ).toBeUndefined();
    // Someone outside ws-a cannot be added: BAD_USER_INPUT, saying to add them to the workspace first.
    const outside = await stack.gqlAs(
      rene,
      'mutation { addProjectMember(project: "renes-project", username: "mallory", role: "project-viewer") { name } }',
    );
    expect(code(outside)).toEqual(['BAD_USER_INPUT']);
    expect(outside.errors![0].message).toMatch(/add them there first/);
    expect(code(await stack.gqlAs(rene, 'mutation { deleteProject(name: "renes-project") }'))).toBeUndefined();
  });

  it('authorizes workspace metrics before asking Prometheus, and answers a member who sees no project with empty values', async () => {
    // The stack has no Prometheus: an allowed request would be UPSTREAM_UNAVAILABLE, a refused one is FORBIDDEN.
    expect(code(await stack.gqlAs(mallory, '{ workspaceMetrics(name: "ws-a") { cpuCores { value } } }'))).toEqual([
      'FORBIDDEN',
    ]);
    expect(
      code(await stack.gqlAs(tokens.outsider, '{ workspaceMetrics(name: "demo-shop") { cpuCores { value } } }')),
    ).toEqual(['FORBIDDEN']);
    const regular = await stack.gqlAs<{ workspaceMetrics: { cpuCores: { value: number | null } } }>(
      tokens.wsRegular,
      '{ workspaceMetrics(name: "demo-shop") { cpuCores { value } } }',
    );
    expect(regular.errors).toBeUndefined();
    expect(regular.data!.workspaceMetrics.cpuCores.value).toBeNull();
  });
});
