// A subscriber that stops reading: the workloads subgraph's graphql-ws keeps sending until the socket pushes back
// (graphql-ws waits for each send), the stream's queue (services/common/async-queue.ts) then fills to the service's
// `live.maxPending`, and one more change ends the stream (services/workloads/model/live.ts): the client, once it reads
// again, gets what was queued, then one error result telling it to resume from its last resumeToken, then completion;
// its connection stays, and a subscription resumed from that token carries on. Real client (graphql-ws over ws, whose
// socket is paused so that nothing is read from the kernel), real subgraph, the sandbox as the cluster.
import * as k8s from '@kubernetes/client-node';
import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkloadsSubgraph, type WorkloadsSubgraph } from '../services/workloads/server.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';
import { quietLogger } from './harness/stack.js';

const MAX_PENDING = 20;
const ns = 'overflow';
const pod = 'big';
// Large events fill the socket buffers in few changes: the annotation rides in every event the subscriber selects.
const BIG = 'x'.repeat(200_000);
/** Changes made at most while waiting for the overflow (it comes after the socket buffers and MAX_PENDING). */
const MAX_CHANGES = 1500;

let cluster: TestSandbox;
let workloads: WorkloadsSubgraph;
let client: Client;
const sockets: WebSocket[] = [];

/** The ws socket graphql-ws opened, recorded so that the test can stop reading from it. */
class RecordedWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    sockets.push(this);
  }
}

interface PodChange {
  type: string;
  resumeToken: string;
  snapshot: boolean;
  pod: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
}
const SUBSCRIPTION = `subscription($ns: String!, $token: String) {
  podStatusChanged(namespace: $ns, resumeToken: $token) {
    type resumeToken snapshot pod { name labels annotations }
  }
}`;

/** A subscription's results as they arrive, and how it ended. */
function subscribe(token?: string) {
  const state = {
    results: [] as FormattedExecutionResult<{ podStatusChanged: PodChange }, unknown>[],
    done: undefined as 'complete' | 'error' | undefined,
    error: undefined as unknown,
    stop: () => {},
  };
  state.stop = client.subscribe<{ podStatusChanged: PodChange }>(
    { query: SUBSCRIPTION, variables: { ns, token } },
    {
      next: (r) => state.results.push(r),
      complete: () => (state.done = 'complete'),
      error: (e) => {
        state.done = 'error';
        state.error = e;
      },
    },
  );
  return state;
}

const rev = (c: PodChange) => Number(c.pod.labels.rev ?? '-1');
const changesOf = (results: FormattedExecutionResult<{ podStatusChanged: PodChange }, unknown>[]) =>
  results.flatMap((r) => (r.data ? [r.data.podStatusChanged] : []));

/** Pod subscribers of the subgraph, from its own gauge (a stream that ended has detached from the feed). */
async function podSubscribers(): Promise<number> {
  const text = await (await fetch(new URL('/metrics', workloads.url))).text();
  const m = /^kubegraph_workloads_subscribers\{[^}]*kind="Pod"[^}]*\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** The resourceVersion each label change was written at (concurrent patches land in any order). */
const writtenAt = new Map<number, bigint>();
async function setRev(n: number): Promise<void> {
  const patched = await cluster.core.patchNamespacedPod(
    { name: pod, namespace: ns, body: { metadata: { labels: { rev: String(n) } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  writtenAt.set(n, BigInt(patched.metadata!.resourceVersion!));
}
const byToken = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

beforeAll(async () => {
  cluster = await startTestSandbox();
  await cluster.core.createNamespace({ body: { metadata: { name: ns } } });
  await cluster.core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: pod, labels: { rev: '0' }, annotations: { big: BIG } },
      spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] },
    },
  });
  workloads = await startWorkloadsSubgraph({
    port: 0,
    kubeConfig: cluster.kc,
    log: quietLogger,
    // History long enough to replay from wherever the stalled subscriber stopped.
    live: { maxPending: MAX_PENDING, historySize: 3 * MAX_CHANGES },
  });
  await workloads.ready();
  client = createClient({
    url: workloads.url.replace(/^http/, 'ws'),
    webSocketImpl: RecordedWebSocket,
    retryAttempts: 0,
    // One connection for the whole test, kept while no subscription is open (the point is that it survives).
    lazy: false,
  });
}, 60_000);

afterAll(async () => {
  await client?.dispose();
  await workloads?.close();
  await cluster?.close();
});

describe('a workloads subscription whose client does not read', () => {
  it('overflows maxPending: what was queued, then the error to resume from the last token, then completion', async () => {
    const stalled = subscribe();
    await eventually(async () => (await podSubscribers()) === 1 || undefined, 20_000, 'the subscription to start');
    // It flows while the client reads.
    await setRev(1);
    await eventually(() => changesOf(stalled.results).some((c) => rev(c) === 1) || undefined, 20_000, 'rev 1');
    expect(sockets).toHaveLength(1);
    const socket = sockets[0];

    // The client stops reading; changes go on until the subgraph ends the stream (its subscriber detaches).
    socket.pause();
    let made = 1;
    let overflowed = false;
    while (!overflowed && made < MAX_CHANGES) {
      await Promise.all(Array.from({ length: 10 }, () => setRev(++made)));
      overflowed = (await podSubscribers()) === 0;
    }
    expect(overflowed, `no overflow after ${made} changes`).toBe(true);
    // Read again: what was queued arrives, then the error, then completion.
    socket.resume();
    await eventually(() => stalled.done, 60_000, 'the stalled subscription to end');
    expect(stalled.done).toBe('complete');
    const last = stalled.results.at(-1)!;
    expect(last.data ?? null).toBeNull();
    expect(last.errors).toHaveLength(1);
    expect(last.errors![0].message).toBe(
      `the subscriber fell more than ${MAX_PENDING} events behind; resume it from its last resumeToken`,
    );
    expect(last.errors![0].extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    // Everything before the error is a change of the pod's label, each as it was written, in the order written, and
    // fewer than were made (the rest were not queued).
    const read = changesOf(stalled.results);
    expect(stalled.results.slice(0, -1).every((r) => r.data && !r.errors)).toBe(true);
    expect(read.length).toBeLessThan(made);
    // The MAX_PENDING queued ones at least (more were in the socket buffers).
    expect(read.length).toBeGreaterThanOrEqual(MAX_PENDING);
    expect(read.every((c) => c.pod.name === pod && c.pod.annotations.big === BIG)).toBe(true);
    expect(read.map((c) => BigInt(c.resumeToken))).toEqual(read.map((c) => writtenAt.get(rev(c))));
    const readTokens = read.map((c) => BigInt(c.resumeToken));
    expect(readTokens).toEqual([...readTokens].sort(byToken));

    // The connection stays: a subscription resumed from the last token read gets every change after it, once each,
    // in order.
    expect(socket.readyState).toBe(WebSocket.OPEN);
    const lastToken = readTokens.at(-1)!;
    const resumed = subscribe(String(lastToken));
    const expected = [...writtenAt.values()].filter((t) => t > lastToken).sort(byToken);
    await eventually(
      () => changesOf(resumed.results).length >= expected.length || undefined,
      60_000,
      `the resumed subscription to bring the ${expected.length} changes after ${lastToken}`,
    );
    const after = changesOf(resumed.results);
    expect(after.every((c) => !c.snapshot && c.type === 'MODIFIED')).toBe(true);
    expect(after.map((c) => BigInt(c.resumeToken))).toEqual(expected);
    expect(after.map((c) => writtenAt.get(rev(c)))).toEqual(expected);
    resumed.stop();
  }, 180_000);
});
