// Live logs and one-shot reads for every role through the whole stack (accounts, the gateway's signed identities,
// graphql-ws): a role that may read a project gets its pod's and workload's lines (the sandbox's own log), any other
// role gets FORBIDDEN (anonymous: UNAUTHENTICATED) and no line; Pod.containerLog returns the container's log, with
// `previous` the crash-looping demo worker's last run.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';

const PASSWORD = 'live-logs-password-1';
const USERS: Record<string, { username: string; workspace?: string; project?: string }> = {
  wsAdmin: { username: 'llwsadmin', workspace: 'workspace-admin' },
  wsViewer: { username: 'llwsviewer', workspace: 'workspace-viewer' },
  wsRegular: { username: 'llwsregular', workspace: 'workspace-regular' },
  pAdmin: { username: 'llpadmin', project: 'project-admin' },
  pOperator: { username: 'llpoperator', project: 'project-operator' },
  pViewer: { username: 'llpviewer', project: 'project-viewer' },
  outsider: { username: 'lloutsider' },
};
const ROLES = ['admin', 'anonymous', ...Object.keys(USERS)];
/** Who may read project shop (workspace demo-shop) and shop-staging; nobody but the admin reads analytics. */
const READS_SHOP = ['admin', 'wsAdmin', 'wsViewer', 'pAdmin', 'pOperator', 'pViewer'];
const READS_STAGING = ['admin', 'wsAdmin', 'wsViewer'];

interface Chunk {
  lines: { timestamp: string; message: string; namespace: string; podName: string }[];
  resumeToken: string;
}

let stack: TestStack;
const tokens: Record<string, string | undefined> = {};

beforeAll(async () => {
  stack = await startTestStack();
  const run = async (q: string, v: Record<string, unknown> = {}) =>
    expect((await stack.gql(q, v)).errors).toBeUndefined();
  await run('mutation { createWorkspace(name: "demo-shop") { name } }');
  for (const u of Object.values(USERS)) {
    await run(`mutation($p: String!) { createUser(input: { username: "${u.username}", password: $p }) { username } }`, {
      p: PASSWORD,
    });
    const wsRole = u.workspace ?? (u.project ? 'workspace-regular' : undefined);
    if (wsRole)
      await run(
        `mutation { addWorkspaceMember(workspace: "demo-shop", username: "${u.username}", role: "${wsRole}") { name } }`,
      );
    if (u.project)
      await run(
        `mutation { addProjectMember(project: "shop", username: "${u.username}", role: "${u.project}") { name } }`,
      );
  }
  tokens.admin = stack.adminToken;
  for (const [who, u] of Object.entries(USERS)) tokens[who] = await stack.login(u.username, PASSWORD);
}, 240_000);
afterAll(async () => {
  await stack?.close();
});

/** Subscribes as `who` and waits until it has `lines` lines or an error; the result. */
async function liveAs(who: string, query: string, lines = 3): Promise<{ chunks: Chunk[]; codes: unknown[] }> {
  const client = createClient({
    url: stack.gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: tokens[who] ? { authorization: `Bearer ${tokens[who]}` } : {},
  });
  const chunks: Chunk[] = [];
  const codes: unknown[] = [];
  let done = false;
  const stop = client.subscribe<Record<string, Chunk>>(
    { query },
    {
      next: (r) => {
        for (const c of Object.values(r.data ?? {})) chunks.push(c);
        for (const e of r.errors ?? []) codes.push(e.extensions?.code);
      },
      // A refused connection (anonymous) ends with a close event, not GraphQL errors.
      error: (e) => {
        if (Array.isArray(e))
          for (const x of e) codes.push((x as { extensions?: { code?: unknown } }).extensions?.code);
        else codes.push(`CLOSED ${(e as { code?: number }).code}`);
        done = true;
      },
      complete: () => (done = true),
    },
  );
  try {
    await eventually(
      () => codes.length > 0 || done || chunks.reduce((n, c) => n + c.lines.length, 0) >= lines,
      30_000,
      `${who}: lines or an error`,
    );
  } finally {
    stop();
    await client.dispose();
  }
  return { chunks, codes };
}

const podOf = async (namespace: string, prefix: string) =>
  (await stack.cluster.core.listNamespacedPod({ namespace })).items
    .map((p) => p.metadata!.name!)
    .find((n) => n.startsWith(prefix))!;

describe('live logs for every role', () => {
  it.each(ROLES)('%s: podLogs and workloadLogs of project shop, and of a project it is no member of', async (who) => {
    const shopPod = await podOf('shop', 'redis-');
    const analyticsPod = await podOf('analytics', 'postgres-');
    const cases: [string, string, string[]][] = [
      ['shop', shopPod, READS_SHOP],
      ['analytics', analyticsPod, ['admin']],
    ];
    for (const [ns, pod, readers] of cases) {
      for (const query of [
        `subscription { podLogs(namespace: "${ns}", pod: "${pod}", tailLines: 3) { resumeToken lines { timestamp message namespace podName } } }`,
        `subscription { workloadLogs(namespace: "${ns}", kind: STATEFUL_SET, name: "${pod.replace(/-\d+$/, '')}", tailLines: 3) { resumeToken lines { timestamp message namespace podName } } }`,
      ]) {
        const { chunks, codes } = await liveAs(who, query);
        const lines = chunks.flatMap((c) => c.lines);
        if (readers.includes(who)) {
          expect([who, query, codes]).toEqual([who, query, []]);
          expect(lines.length).toBeGreaterThanOrEqual(3);
          for (const l of lines) expect(l.namespace).toBe(ns);
          // The lines are the pod's own: each one is in the sandbox's log of it.
          const first = lines.find((l) => l.podName === pod);
          if (first) {
            const truth = await stack.cluster.core.readNamespacedPodLog({ namespace: ns, name: pod, timestamps: true });
            expect(truth).toContain(`${first.timestamp} ${first.message}\n`);
          }
        } else {
          expect([who, query, lines.length]).toEqual([who, query, 0]);
          // Anonymous: the gateway closes a graphql-ws connection without a token (4401 Unauthorized).
          expect([who, query, codes]).toEqual([who, query, [who === 'anonymous' ? 'CLOSED 4401' : 'FORBIDDEN']]);
        }
      }
    }
  });

  it.each(ROLES)("%s: Pod.containerLog of shop's pod, and previous of the crash-looping worker", async (who) => {
    const shopPod = await podOf('shop', 'redis-');
    const r = await stack.gqlAs<{ pod: { containerLog: string } | null }>(
      tokens[who],
      `{ pod(namespace: "shop", name: "${shopPod}") { containerLog(tailLines: 2) } }`,
    );
    if (READS_SHOP.includes(who)) {
      expect(r.errors).toBeUndefined();
      const lines = r.data!.pod!.containerLog.split('\n').filter(Boolean);
      expect(lines.length).toBe(2);
      const truth = await stack.cluster.core.readNamespacedPodLog({ namespace: 'shop', name: shopPod });
      for (const l of lines) expect(truth).toContain(`${l}\n`);
    } else {
      expect(r.data?.pod?.containerLog).toBeUndefined();
      expect(r.errors?.[0]?.extensions?.code).toBe(who === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN');
    }

    const worker = await podOf('shop-staging', 'payment-worker-');
    const p = await stack.gqlAs<{ pod: { containerLog: string } | null }>(
      tokens[who],
      `{ pod(namespace: "shop-staging", name: "${worker}") { containerLog(previous: true) } }`,
    );
    if (READS_STAGING.includes(who)) {
      const crashed = await eventually(
        async () =>
          (await stack.cluster.core.readNamespacedPod({ namespace: 'shop-staging', name: worker })).status
            ?.containerStatuses?.[0]?.lastState?.terminated,
        60_000,
        'the worker crashed once',
      );
      expect(crashed).toBeDefined();
      const read = () =>
        stack.cluster.core.readNamespacedPodLog({ namespace: 'shop-staging', name: worker, previous: true });
      const before = await read();
      const again = await stack.gqlAs<{ pod: { containerLog: string } | null }>(
        tokens[who],
        `{ pod(namespace: "shop-staging", name: "${worker}") { containerLog(previous: true) } }`,
      );
      const after = await read();
      expect(again.errors).toBeUndefined();
      const previous = again.data!.pod!.containerLog;
      expect(previous.length).toBeGreaterThan(0);
      // The last run's log as the API server gives it (the worker may crash again between the reads).
      expect([before, after]).toContain(previous);
    } else {
      expect(p.errors?.[0]?.extensions?.code).toBe(who === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN');
    }
  });
});
