// A client that resumes a live log subscription (resumeToken) after time away gets the lines it missed or a clear
// final RESUME_EXPIRED, never a silent gap: when its pod (or one of its workload's pods) was deleted meanwhile, and
// when the kubelet no longer holds the lines after its position (the log was rotated: the sandbox keeps the last
// 5,000 lines of a container, and at this speed an nginx container writes them in a few seconds).
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/gateway.js';
import { startLoggingSubgraph, type LoggingSubgraph } from '../services/logging/server.js';
import { startWorkloadsSubgraph, type WorkloadsSubgraph } from '../services/workloads/server.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';
import { quietLogger } from './harness/stack.js';
import { liveGateway, nginxDeployment, watch, type Watcher } from './logging-live-helpers.js';

const NS = 'live-resume';
const POD_LOGS = `subscription($ns: String!, $pod: String!, $tail: Int, $token: String) {
  podLogs(namespace: $ns, pod: $pod, tailLines: $tail, resumeToken: $token) {
    resumeToken lines { timestamp message podName container }
  }
}`;
const WORKLOAD_LOGS = `subscription($ns: String!, $token: String) {
  workloadLogs(namespace: $ns, kind: DEPLOYMENT, name: "resumed", tailLines: 2, resumeToken: $token) {
    resumeToken lines { timestamp message podName container }
  }
}`;

describe('resuming live logs after time away', () => {
  let sb: TestSandbox;
  let workloads: WorkloadsSubgraph;
  let logging: LoggingSubgraph;
  let gateway: Gateway;
  const clients: Client[] = [];
  const wsClient = () => {
    const c = createClient({ url: gateway.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    clients.push(c);
    return c;
  };
  const lastToken = (w: Watcher) => {
    const chunk = Object.values(w.results.at(-1)!.data!)[0]!;
    return chunk.resumeToken;
  };
  const runningPod = async (name: string) => {
    await sb.core.createNamespacedPod({
      namespace: NS,
      body: { metadata: { name }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } },
    });
    await eventually(
      async () =>
        !!(await sb.core.readNamespacedPod({ namespace: NS, name })).status?.containerStatuses?.[0]?.state?.running,
      30_000,
      `${name} running`,
    );
  };
  /** Reads a little, then goes away: the token of the last chunk it got, and its last line's time. */
  const readThenLeave = async (query: string, variables: Record<string, unknown>) => {
    const w = watch(wsClient(), query, variables);
    await eventually(() => w.lines().length >= 5, 20_000, 'lines before leaving');
    w.stop();
    expect(w.errors()).toEqual([]);
    const lines = w.lines();
    return { token: lastToken(w), last: lines.at(-1)!.split(' ')[0]! };
  };
  const resume = async (query: string, variables: Record<string, unknown>) => {
    const w = watch(wsClient(), query, variables);
    await eventually(() => w.done, 20_000, 'the resumed subscription ended');
    return w;
  };

  beforeAll(async () => {
    sb = await startTestSandbox({ speed: 1000 });
    await sb.core.createNamespace({ body: { metadata: { name: NS } } });
    workloads = await startWorkloadsSubgraph({ port: 0, kubeConfig: sb.kc, log: quietLogger });
    logging = await startLoggingSubgraph({ port: 0, kubeConfig: sb.kc, log: quietLogger });
    gateway = await liveGateway(workloads.url, logging.url);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await gateway?.close();
    await logging?.close();
    await workloads?.close();
    await sb?.close();
  });

  it('podLogs: the pod deleted while the client was away is RESUME_EXPIRED, naming what was lost', async () => {
    await runningPod('away-pod');
    const { token } = await readThenLeave(POD_LOGS, { ns: NS, pod: 'away-pod', tail: 2 });
    await sb.core.deleteNamespacedPod({ namespace: NS, name: 'away-pod', gracePeriodSeconds: 0 });
    await eventually(
      async () =>
        !(await sb.core.listNamespacedPod({ namespace: NS })).items.some((p) => p.metadata?.name === 'away-pod'),
      20_000,
      'the pod gone',
    );
    const w = await resume(POD_LOGS, { ns: NS, pod: 'away-pod', token });
    expect(w.lines()).toEqual([]);
    expect(w.errors()).toHaveLength(1);
    expect(w.errors()[0]!.code).toBe('RESUME_EXPIRED');
    expect(w.errors()[0]!.message).toContain(`pod ${NS}/away-pod was deleted while this subscription was disconnected`);
  });

  it('workloadLogs: a pod of the workload deleted while the client was away is RESUME_EXPIRED', async () => {
    await sb.apps.createNamespacedDeployment({
      namespace: NS,
      body: nginxDeployment('resumed', 2),
    });
    const podsOf = async () =>
      (await sb.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=resumed' })).items.filter(
        (p) => p.status?.containerStatuses?.[0]?.state?.running && !p.metadata?.deletionTimestamp,
      );
    await eventually(async () => (await podsOf()).length === 2, 30_000, 'two replicas running');
    const w = watch(wsClient(), WORKLOAD_LOGS, { ns: NS });
    const podNames = () => new Set(w.results.flatMap((r) => r.data?.workloadLogs.lines.map((l) => l.podName) ?? []));
    await eventually(() => podNames().size === 2, 20_000, 'lines of both replicas');
    w.stop();
    const token = lastToken(w);
    const victim = [...podNames()][0]!;
    await sb.core.deleteNamespacedPod({ namespace: NS, name: victim, gracePeriodSeconds: 0 });
    await eventually(
      async () => !(await sb.core.listNamespacedPod({ namespace: NS })).items.some((p) => p.metadata?.name === victim),
      20_000,
      'the replica gone',
    );
    const again = await resume(WORKLOAD_LOGS, { ns: NS, token });
    expect(again.errors()).toHaveLength(1);
    expect(again.errors()[0]!.code).toBe('RESUME_EXPIRED');
    expect(again.errors()[0]!.message).toContain(`pod ${NS}/${victim} was deleted`);
  });

  it('podLogs: a position the kubelet no longer holds (rotated away) is RESUME_EXPIRED, not a skip', async () => {
    await runningPod('rotating');
    const { token, last } = await readThenLeave(POD_LOGS, { ns: NS, pod: 'rotating', tail: 2 });
    // Away until the kept log starts after the last line the client got.
    await eventually(
      async () => {
        const log = await sb.core.readNamespacedPodLog({
          namespace: NS,
          name: 'rotating',
          container: 'nginx',
          timestamps: true,
        });
        return log.split(' ', 1)[0]! > last;
      },
      60_000,
      'the log rotated past the position',
    );
    const w = await resume(POD_LOGS, { ns: NS, pod: 'rotating', token });
    expect(w.lines()).toEqual([]);
    expect(w.errors()).toHaveLength(1);
    expect(w.errors()[0]!.code).toBe('RESUME_EXPIRED');
    expect(w.errors()[0]!.message).toContain('no longer holds the lines after the resumeToken');
  });

  it('podLogs: a position still held resumes with the next line, no error', async () => {
    const { token, last } = await readThenLeave(POD_LOGS, { ns: NS, pod: 'rotating', tail: 2 });
    const w = watch(wsClient(), POD_LOGS, { ns: NS, pod: 'rotating', token });
    await eventually(() => w.lines().length >= 3, 20_000, 'lines after resuming');
    w.stop();
    expect(w.errors()).toEqual([]);
    const log = (
      await sb.core.readNamespacedPodLog({ namespace: NS, name: 'rotating', container: 'nginx', timestamps: true })
    ).split('\n');
    const at = log.findIndex((l) => l.startsWith(last));
    // The log may have rotated past it by now: then the resumed lines only need to be in order after it.
    const got = w.lines();
    if (at >= 0) expect(log.slice(at + 1, at + 1 + got.length)).toEqual(got);
    expect(got[0]!.split(' ')[0]! >= last).toBe(true);
  });
});
