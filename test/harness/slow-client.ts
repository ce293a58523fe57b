// The client a gateway must drop: a graphql-transport-ws connection that stops reading, and the large Kubernetes
// Events that fill its socket and then its queue at the gateway.
import type * as k8s from '@kubernetes/client-node';
import WebSocket from 'ws';

/**
 * A graphql-transport-ws connection on a bare socket, for the tests of a client the gateway must drop: one that stops
 * reading (pause) and so stops answering pings and lets its queue fill.
 */
export interface RawWsClient {
  ws: WebSocket;
  /** Resolves when the connection is closed (by the gateway, in these tests). */
  closed: Promise<void>;
  /** connection_init with payload; resolves on the gateway's answer (connection_ack). */
  init(payload?: Record<string, unknown>): Promise<void>;
  subscribe(id: string, query: string): void;
  /** Stops reading from the socket: the kernel's buffers fill and the gateway's writes queue up. */
  pause(): void;
  resume(): void;
}

export async function openRawWs(gatewayUrl: string): Promise<RawWsClient> {
  const ws = new WebSocket(gatewayUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  await new Promise((r) => ws.once('open', r));
  // ws keeps its net.Socket private; pausing it is the only way to stop reading without closing.
  const socket = () => (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  return {
    ws,
    closed,
    async init(payload) {
      ws.send(JSON.stringify({ type: 'connection_init', ...(payload && { payload }) }));
      await new Promise((r) => ws.once('message', r));
    },
    subscribe: (id, query) => ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query } })),
    pause: () => socket().pause(),
    resume: () => socket().resume(),
  };
}

/**
 * Creates Events of 256 KiB about Pod `pod` in namespace `ns`, named big-0, big-1, …, one after another until
 * `enough()` says so (or 400 are made): large enough that a client which stopped reading fills the kernel's buffers
 * and then its queue at the gateway. Returns how many it created.
 */
export async function createBigEvents(
  core: k8s.CoreV1Api,
  ns: string,
  pod: string,
  enough: () => Promise<boolean>,
): Promise<number> {
  const message = 'x'.repeat(256 * 1024);
  let created = 0;
  while (created < 400 && !(await enough())) {
    await core.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { name: `big-${created}`, namespace: ns },
        involvedObject: { kind: 'Pod', name: pod, namespace: ns },
        reason: 'Test',
        message,
        type: 'Normal',
      },
    });
    created++;
  }
  return created;
}
