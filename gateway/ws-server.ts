// graphql-ws on the gateway's HTTP server, on the same path as HTTP: connections authenticated at connection_init
// (gateway/auth.ts), subscriptions parsed, validated and costed here and run by the SubscriptionExecutor, and
// queries and mutations over graphql-ws sent through Apollo's HTTP pipeline (limits, plans, caches).
//
// Fan-out (issue 19 §2): clients sharing an execution get the same result object, serialized to JSON once
// (`serializedResult`), and each subscription's results go straight to its connection's Outbox (a ResultSink) rather
// than through graphql-ws's per-result loop: a `next` message is the subscription's own envelope (its id, made once
// when it subscribes) around those shared bytes. An Outbox is flushed once per event-loop turn, everything queued for
// its socket in one write, so a client that is behind gets its backlog in one syscall. Backpressure is per client:
// an Outbox whose socket has not drained keeps its messages, and a subscription with more than
// GATEWAY_SUBSCRIPTION_QUEUE_LIMIT results waiting there is cut off; no other socket waits for it. graphql-ws's own
// messages (acks, errors, completions, query results) go through the same Outbox, so their order is kept.
import type { IncomingMessage, Server } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import {
  GraphQLError,
  getOperationAST,
  parse,
  print,
  specifiedRules,
  validate,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCode } from '../services/common/errors.js';
import { wsServerHandle, type SubscriptionServer } from '../services/common/subscriptions.js';
import type { ConnectionAuth } from './auth.js';
import type { GatewayContext } from './datasource.js';
import { withoutSuggestions } from './http-errors.js';
import type { Identity } from './identity.js';
import { costError, limitRules, operationCost, type QueryLimits } from './limits.js';
import type { ResultSink, SubscriptionExecutor } from './subscriptions.js';

export interface GatewayWsServerOptions {
  server: Server;
  apollo: ApolloServer<GatewayContext>;
  executor: SubscriptionExecutor;
  auth: ConnectionAuth;
  limits: QueryLimits;
  /** Without introspection, validation messages lose their schema hints too. */
  introspection: boolean;
  keepAliveMs: number;
}

type WsContext = GatewayContext & { identity: Identity; cutOff: () => void; sink?: ResultSink };

export function attachGatewayWsServer(opts: GatewayWsServerOptions): SubscriptionServer {
  const { apollo, executor, auth, limits, introspection } = opts;
  const wsRules = [...specifiedRules, ...limitRules(limits)];
  const wss = new WebSocketServer({ server: opts.server, path: '/graphql' });
  const cleanup = serveGraphqlWs<Record<string, unknown> | undefined>(
    {
      onConnect: (ctx) => auth.connect({ ctx, socket: ctx.extra.socket, connectionParams: ctx.connectionParams }),
      onClose: (ctx) => auth.disconnect(ctx),
      onSubscribe: (ctx, id, payload) => {
        let document;
        try {
          document = parse(payload.query);
        } catch (e) {
          return [e instanceof GraphQLError ? e : new GraphQLError(String(e))];
        }
        const errors = validate(executor.apiSchema, document, wsRules);
        if (errors.length)
          return errors.map(
            (e) =>
              new GraphQLError(introspection ? e.message : withoutSuggestions(e).message, {
                nodes: e.nodes,
                extensions: { ...e.extensions, code: e.extensions.code ?? 'GRAPHQL_VALIDATION_FAILED' },
              }),
          );
        const operation = getOperationAST(document, payload.operationName);
        if (!operation)
          return [new GraphQLError('Unable to identify operation', { extensions: { code: ErrorCode.BAD_USER_INPUT } })];
        const variables = payload.variables ?? {};
        if (limits.maxCost > 0) {
          const cost = operationCost(executor.apiSchema, document, operation, limits, variables);
          if (cost > limits.maxCost) return [costError(cost, limits.maxCost)];
        }
        const socket = ctx.extra.socket;
        const identity = auth.identityOf(ctx);
        if (!identity)
          return [new GraphQLError('not authenticated', { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        const contextValue: WsContext = {
          requestId: `ws-${id}`,
          identity,
          cutOff: () => socket.terminate(),
          // The subscription's results are written straight to its connection (see Outbox).
          sink: operation.operation === 'subscription' ? outboxes.get(socket)?.sink(id) : undefined,
        };
        return {
          schema: executor.apiSchema,
          document,
          operationName: payload.operationName ?? undefined,
          variableValues: variables,
          contextValue,
        } satisfies ExecutionArgs;
      },
      subscribe: (args: ExecutionArgs) => {
        const ctx = args.contextValue as WsContext;
        try {
          return executor.subscribe({
            document: args.document,
            operationName: args.operationName,
            variables: (args.variableValues ?? {}) as Record<string, unknown>,
            identity: ctx.identity,
            context: { requestId: ctx.requestId, viewer: ctx.identity },
            onCutOff: ctx.cutOff,
            sink: ctx.sink,
          });
        } catch (e) {
          return {
            errors: [e instanceof GraphQLError ? e : new GraphQLError(e instanceof Error ? e.message : String(e))],
          } satisfies ExecutionResult;
        }
      },
      // Queries and mutations over graphql-ws take the HTTP path's pipeline (limits, plans, caches).
      execute: async (args: ExecutionArgs) => {
        const ctx = args.contextValue as WsContext;
        const res = await apollo.executeOperation(
          {
            query: print(args.document),
            operationName: args.operationName ?? undefined,
            variables: (args.variableValues ?? {}) as Record<string, unknown>,
          },
          { contextValue: { requestId: ctx.requestId, viewer: ctx.identity } },
        );
        return (res.body.kind === 'single' ? res.body.singleResult : res.body.initialResult) as ExecutionResult;
      },
    },
    wss,
    opts.keepAliveMs,
  );
  return wsServerHandle(wss, cleanup);
}

/** What graphql-ws hands each connection: its ws socket and the upgrade request. */
interface Extra {
  socket: WebSocket;
  request: IncomingMessage;
}

/** The Outbox of each open connection. */
const outboxes = new WeakMap<WebSocket, Outbox>();

/** Bytes of graphql-ws's own messages a connection may have waiting before graphql-ws waits for the socket to drain. */
const OUTBOX_HIGH_WATER = 64 * 1024;
/** Messages queued for one socket in one turn that are written at once rather than at the turn's end. */
const MAX_BATCH = 1024;

const serialized = new WeakMap<object, Buffer>();
/** A result object's JSON, made on its first use and reused for every client the same object goes to. */
export function serializedResult(result: object): Buffer {
  let json = serialized.get(result);
  if (!json) serialized.set(result, (json = Buffer.from(JSON.stringify(result))));
  return json;
}

const CLOSE_BRACE = Buffer.from('}');
/** The length of a server's (unmasked) WebSocket frame header for a payload of n bytes (RFC 6455 §5.2). */
const frameHeaderLength = (n: number) => (n < 126 ? 2 : n < 65_536 ? 4 : 10);
function writeFrameHeader(buf: Buffer, at: number, n: number): number {
  buf[at] = 0x81; // FIN, text
  if (n < 126) {
    buf[at + 1] = n;
    return at + 2;
  }
  if (n < 65_536) {
    buf[at + 1] = 126;
    buf.writeUInt16BE(n, at + 2);
    return at + 4;
  }
  buf[at + 1] = 127;
  buf.writeUInt32BE(Math.floor(n / 2 ** 32), at + 2);
  buf.writeUInt32BE(n >>> 0, at + 6);
  return at + 10;
}

/** One subscription's sink: its `next` envelope, and its results waiting in the Outbox. */
class Sink implements ResultSink {
  pending = 0;
  constructor(
    private readonly outbox: Outbox,
    readonly head: Buffer,
  ) {}
  write(result: ExecutionResult): void {
    this.outbox.queue(this.head, serializedResult(result), this);
  }
  /**
   * Results that wait for the client: those queued while its socket has not drained what it was given. While the
   * socket takes writes, what is queued leaves with this turn's flush and is not waiting for the client.
   */
  waiting(): number {
    return this.outbox.full() ? this.pending : 0;
  }
}

/** Connections with messages to write, flushed together once the current event-loop turn's work is done. */
const dirty = new Set<Outbox>();
let flushQueued = false;
function flushAll(): void {
  flushQueued = false;
  const boxes = [...dirty];
  dirty.clear();
  for (const b of boxes) b.flush();
}

/**
 * A connection's outgoing messages, in order: each is an optional envelope head, a body and (with a head) a closing
 * brace. Flushed as one buffer of WebSocket frames in one write, unless the socket has not drained what it was given
 * last (then on its drain).
 */
class Outbox {
  private heads: (Buffer | undefined)[] = [];
  private bodies: Buffer[] = [];
  private sinks = new Set<Sink>();
  private bytes = 0;
  /** graphql-ws's sends held until the socket drains (it waits on each before its next message). */
  private held: (() => void)[] = [];
  /** Without extensions (no permessage-deflate), frames are written as they are on the wire; else through ws. */
  private readonly raw: boolean;

  constructor(
    private readonly socket: WebSocket,
    private readonly tcp: IncomingMessage['socket'],
  ) {
    this.raw = socket.extensions === '';
    tcp.on('drain', () => this.flush());
  }

  /**
   * The kernel has not taken all that was written (the client is not reading, or not fast enough). Not
   * writableNeedDrain: that stays set until the next tick even when the kernel took everything at once, and a burst
   * delivered in one run of promise callbacks would count as waiting.
   */
  full(): boolean {
    return this.tcp.writableLength > 0;
  }

  sink(id: string): Sink {
    return new Sink(this, Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`));
  }

  queue(head: Buffer | undefined, body: Buffer, sink?: Sink): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.heads.push(head);
    this.bodies.push(body);
    this.bytes += body.length;
    if (sink) {
      sink.pending++;
      this.sinks.add(sink);
    }
    // A long burst in one turn (a replay after a resume) is written in batches rather than held to the turn's end.
    if (this.bodies.length >= MAX_BATCH && !this.tcp.writableNeedDrain) return this.flush();
    if (!dirty.has(this)) {
      dirty.add(this);
      if (!flushQueued) {
        flushQueued = true;
        setImmediate(flushAll);
      }
    }
  }

  /** graphql-ws's own messages: queued in order with the results; its next one waits while the socket is full. */
  send(data: string): Promise<void> {
    this.queue(undefined, Buffer.from(data));
    if (this.bytes + this.socket.bufferedAmount < OUTBOX_HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => this.held.push(resolve));
  }

  flush(): void {
    dirty.delete(this);
    const open = this.socket.readyState === this.socket.OPEN;
    if (open && this.tcp.writableNeedDrain) return; // on the drain that follows
    const { heads, bodies } = this;
    this.heads = [];
    this.bodies = [];
    this.bytes = 0;
    for (const s of this.sinks) s.pending = 0;
    this.sinks.clear();
    if (open && bodies.length) this.write(heads, bodies);
    const held = this.held;
    this.held = [];
    for (const resolve of held) resolve();
  }

  private write(heads: (Buffer | undefined)[], bodies: Buffer[]): void {
    const size = (i: number) => (heads[i] ? heads[i].length + bodies[i].length + 1 : bodies[i].length);
    if (!this.raw) {
      for (let i = 0; i < bodies.length; i++)
        this.socket.send(heads[i] ? Buffer.concat([heads[i]!, bodies[i], CLOSE_BRACE]) : bodies[i], { binary: false });
      return;
    }
    let total = 0;
    for (let i = 0; i < bodies.length; i++) total += frameHeaderLength(size(i)) + size(i);
    const buf = Buffer.allocUnsafe(total);
    let at = 0;
    for (let i = 0; i < bodies.length; i++) {
      at = writeFrameHeader(buf, at, size(i));
      const head = heads[i];
      if (head) at += head.copy(buf, at);
      at += bodies[i].copy(buf, at);
      if (head) buf[at++] = 0x7d; // the envelope's closing brace
    }
    this.tcp.write(buf);
  }

  closed(): void {
    dirty.delete(this);
    this.heads = [];
    this.bodies = [];
    const held = this.held;
    this.held = [];
    for (const resolve of held) resolve();
  }
}

/**
 * graphql-ws's server on a `ws` server, as graphql-ws/use/ws does it (keep-alive pings, a client that does not answer
 * one is dropped), with each connection's messages going through its Outbox.
 */
function serveGraphqlWs<P extends Record<string, unknown> | undefined>(
  options: ServerOptions<P, Extra>,
  wss: WebSocketServer,
  keepAliveMs: number,
): { dispose(): Promise<void> } {
  const server = makeServer<P, Extra>(options);
  wss.options.handleProtocols = handleProtocols;
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const outbox = new Outbox(socket, request.socket);
    outboxes.set(socket, outbox);
    socket.once('error', () => socket.close(CloseCode.InternalServerError, 'Internal server error'));
    let pongWait: NodeJS.Timeout | undefined;
    const pings =
      keepAliveMs > 0
        ? setInterval(() => {
            if (socket.readyState !== socket.OPEN) return;
            pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
            socket.once('pong', () => {
              clearTimeout(pongWait);
              pongWait = undefined;
            });
            socket.ping();
          }, keepAliveMs)
        : undefined;
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => outbox.send(data),
        close: (code, reason) => {
          outbox.flush();
          socket.close(code, reason);
        },
        onMessage: (cb) =>
          socket.on('message', (event: Buffer) => {
            cb(String(event)).catch(() => socket.close(CloseCode.InternalServerError, 'Internal server error'));
          }),
      },
      { socket, request },
    );
    socket.once('close', (code: number, reason: Buffer) => {
      clearTimeout(pongWait);
      clearInterval(pings);
      outbox.closed();
      void closed(code, String(reason));
    });
  });
  return {
    dispose: async () => {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
