// Who sees which lines, for every role, through the gateway: a viewer of one project never sees another project's
// lines in search, histogram, statistics, context or export; naming a namespace or workspace one may not read is
// FORBIDDEN (never an empty answer); anonymous callers are UNAUTHENTICATED.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShippedDocument } from '../services/es/shipper.js';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';
import { LINES_QUERY, type LogsPage } from './logging-helpers.js';

const PASSWORD = 'logging-password-1';
const USERS = {
  wsAdmin: { username: 'lwsadmin', workspace: 'workspace-admin' },
  wsRegular: { username: 'lwsregular', workspace: 'workspace-regular' },
  wsViewer: { username: 'lwsviewer', workspace: 'workspace-viewer' },
  pAdmin: { username: 'lpadmin', project: 'project-admin' },
  pOperator: { username: 'lpoperator', project: 'project-operator' },
  pViewer: { username: 'lpviewer', project: 'project-viewer' },
  outsider: { username: 'loutsider' },
} as Record<string, { username: string; workspace?: string; project?: string }>;
type Who = 'admin' | 'anonymous' | keyof typeof USERS;
/** The namespaces each role may read ('all': platform admin). */
const VISIBLE: Record<string, 'all' | string[]> = {
  admin: 'all',
  wsAdmin: ['shop', 'shop-staging'],
  wsViewer: ['shop', 'shop-staging'],
  wsRegular: [],
  pAdmin: ['shop'],
  pOperator: ['shop'],
  pViewer: ['shop'],
  outsider: [],
};

let stack: TestStack;
const tokens: Record<string, string | undefined> = {};
let start: number;
let end: number;
let docs: ShippedDocument[];
let analyticsCursor: string;
const iso = (t: number) => new Date(t).toISOString();
const at = (d: ShippedDocument) => Date.parse(d._source['@timestamp']);

beforeAll(async () => {
  stack = await startTestStack();
  for (const ws of ['demo-shop', 'data-platform'])
    expect((await stack.gql(`mutation { createWorkspace(name: "${ws}") { name } }`)).errors).toBeUndefined();
  for (const u of Object.values(USERS)) {
    const run = async (q: string, v: Record<string, unknown> = {}) =>
      expect((await stack.gql(q, v)).errors).toBeUndefined();
    await run(`mutation($p: String!) { createUser(input: { username: "${u.username}", password: $p }) { username } }`, {
      p: PASSWORD,
    });
    if (u.project)
      await run(
        `mutation { addWorkspaceMember(workspace: "demo-shop", username: "${u.username}", role: "workspace-regular") { name } }`,
      );
    if (u.workspace)
      await run(
        `mutation { addWorkspaceMember(workspace: "demo-shop", username: "${u.username}", role: "${u.workspace}") { name } }`,
      );
    if (u.project)
      await run(
        `mutation { addProjectMember(project: "shop", username: "${u.username}", role: "${u.project}") { name } }`,
      );
  }
  tokens.admin = stack.adminToken;
  tokens.anonymous = undefined;
  for (const [who, u] of Object.entries(USERS)) tokens[who] = await stack.login(u.username, PASSWORD);
  await eventually(
    () => new Set(stack.shipped.map((d) => d._source.kubernetes.namespace_name)).size > 3 || undefined,
    60_000,
    'lines of several namespaces shipped',
  );
  end = Date.now() - 1000;
  await stack.shipper!.flush();
  start = Math.min(...stack.shipped.map(at));
  const created = new Map(
    (await stack.cluster.core.listNamespace()).items.map((n) => [
      n.metadata!.name!,
      new Date(n.metadata!.creationTimestamp!).getTime(),
    ]),
  );
  docs = stack.shipped.filter(
    (d) => at(d) <= end && at(d) >= (created.get(d._source.kubernetes.namespace_name) ?? Infinity),
  );
  const a = await stack.gql<LogsPage>(LINES_QUERY, { filter: { namespaces: ['analytics'] }, first: 1 });
  analyticsCursor = a.data!.logs.edges[0]!.cursor;
}, 240_000);
afterAll(async () => {
  await stack?.close();
});

const ROLES: Who[] = ['admin', 'wsAdmin', 'wsRegular', 'wsViewer', 'pAdmin', 'pOperator', 'pViewer', 'outsider'];
const visibleTo = (who: string) => (ns: string) => VISIBLE[who] === 'all' || (VISIBLE[who] as string[]).includes(ns);

describe('what each role sees', () => {
  it.each(ROLES)('%s: search, statistics and histogram cover exactly the readable projects', async (who) => {
    const window = { start: iso(start), end: iso(end) };
    const want = docs.filter((d) => visibleTo(who)(d._source.kubernetes.namespace_name));
    const r = await stack.gqlAs<LogsPage & { logStatistics: { lines: number }; logHistogram: { total: number } }>(
      tokens[who],
      `query($f: LogFilter) {
        logs(filter: $f, first: 1000) { totalCount edges { node { namespace } } }
        logStatistics(filter: $f) { lines }
        logHistogram(filter: $f) { total }
      }`,
      { f: window },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.logStatistics.lines).toBe(want.length);
    expect(r.data!.logHistogram.total).toBe(want.length);
    expect(r.data!.logs.totalCount).toBe(Math.min(10_000, want.length));
    for (const e of r.data!.logs.edges) expect(visibleTo(who)(e.node.namespace), e.node.namespace).toBe(true);
    if (who === 'pViewer') expect(want.length).toBeGreaterThan(0);
  });

  it.each(ROLES)('%s: naming a project or workspace one may not read is FORBIDDEN, in every field', async (who) => {
    for (const filter of [
      { namespaces: ['analytics'] },
      { workspaces: ['data-platform'] },
      { namespaces: ['shop', 'analytics'] },
    ]) {
      for (const op of [
        'query($f: LogFilter) { logs(filter: $f) { totalCount } }',
        'query($f: LogFilter) { logStatistics(filter: $f) { lines } }',
        'query($f: LogFilter) { logHistogram(filter: $f) { total } }',
      ]) {
        const r = await stack.gqlAs(tokens[who], op, { f: filter });
        if (who === 'admin') expect(r.errors, op).toBeUndefined();
        else
          expect(
            r.errors?.map((e) => e.extensions?.code),
            `${who} ${op} ${JSON.stringify(filter)}`,
          ).toEqual(['FORBIDDEN']);
      }
    }
    const c = await stack.gqlAs(tokens[who], 'query($c: String!) { logContext(cursor: $c) { namespace } }', {
      c: analyticsCursor,
    });
    if (who === 'admin') expect(c.errors).toBeUndefined();
    else expect(c.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it.each(ROLES)('%s: the export holds the readable projects only, and refuses a foreign one', async (who) => {
    const url = stack.gateway.url.replace(/\/graphql$/, '/logs/export');
    const headers = { authorization: `Bearer ${tokens[who]}` };
    const all = await fetch(`${url}?start=${iso(start)}&end=${iso(end)}&limit=3000`, { headers });
    expect(all.status).toBe(200);
    const lines = (await all.text()).split('\n').filter(Boolean);
    const want = docs.filter((d) => visibleTo(who)(d._source.kubernetes.namespace_name));
    expect(lines.length).toBe(Math.min(3000, want.length));
    for (const l of lines) expect(visibleTo(who)(l.split('\t')[1]!), l).toBe(true);
    const foreign = await fetch(`${url}?namespaces=analytics`, { headers });
    if (who === 'admin') {
      expect(foreign.status).toBe(200);
      await foreign.body?.cancel();
    } else {
      expect(foreign.status).toBe(403);
      expect(
        ((await foreign.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
      ).toBe('FORBIDDEN');
    }
  });
});

describe('without a token', () => {
  it('refuses every logging field and the export', async () => {
    for (const op of [
      '{ logs { totalCount } }',
      '{ logStatistics { lines } }',
      '{ logHistogram { total } }',
      `{ logContext(cursor: "${analyticsCursor}") { message } }`,
    ]) {
      const r = await stack.gqlAs(undefined, op);
      expect(r.errors?.[0]?.extensions?.code, op).toBe('UNAUTHENTICATED');
    }
    const e = await fetch(stack.gateway.url.replace(/\/graphql$/, '/logs/export'));
    expect(e.status).toBe(401);
    const bad = await fetch(stack.gateway.url.replace(/\/graphql$/, '/logs/export'), {
      headers: { authorization: 'Bearer not-a-token' },
    });
    expect(bad.status).toBe(401);
  });

  it('refuses a direct call to the subgraph export without the gateway signature', async () => {
    const r = await fetch(`${stack.logging.baseUrl}/logs/export`);
    expect(r.status).toBe(401);
  });
});
