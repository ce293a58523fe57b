// graphql-ws on a subgraph's HTTP server (same path as its GraphQL endpoint), for the subgraphs that have
// subscriptions. Subscription payloads that describe a change of one object (`{ key, type, resumeToken, object,
// previous? }`, as the live feeds produce) get one refinement: a MODIFIED whose result looks exactly like the last one
// sent for that object — or, for the first one, like the result for `previous` — apart from its type and token is not
// sent: a change of managedFields, or of any field the subscriber did not select, is nothing it can see.
import type { Server } from 'node:http';
import {
  createSourceEventStream,
  execute,
  GraphQLError,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import type { Context as WsContext } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { asyncQueue } from './async-queue.js';
import type { Viewer } from './authz.js';
import { ErrorCode } from './errors.js';
import { IdentityError, verifySignedIdentity } from './identity.js';
import type { Logger } from './log.js';

export interface SubscriptionServerOptions<TContext> {
  server: Server;
  path?: string;
  schema: GraphQLSchema;
  /** The execution context of one subscribe message, given its verified viewer (when identities are checked). */
  context: (ctx: WsContext, viewer: Viewer | undefined) => TContext | Promise<TContext>;
  /** When set, every subscribe message must carry the gateway's signed identity in `extensions.identity`. */
  identityKey?: Uint8Array;
  log: Logger;
  /** Server → client pings (ms); a client that does not answer is dropped. */
  keepAliveMs?: number;
  /** Called for each result sent, and each one skipped as unchanged. */
  observe?: (outcome: 'sent' | 'unchanged') => void;
}

export interface SubscriptionServer {
  /** Open connections. */
  connections(): number;
  close(): Promise<void>;
}

interface ChangePayload {
  key?: unknown;
  type?: unknown;
  resumeToken?: unknown;
  object?: unknown;
  previous?: unknown;
}

/** The result as the subscriber sees it, without the event's type and token (which differ from event to event). */
function fingerprint(result: ExecutionResult, type: unknown, token: unknown): string {
  return JSON.stringify(result, (_k, v: unknown) =>
    typeof v === 'string' && (v === token || v === type) ? undefined : v,
  );
}

/**
 * The code of the error that ends a subgraph subscription whose signed identity expired. Only the gateway sees it: it
 * subscribes again at once from the last resumeToken, with a fresh identity, and its clients notice nothing.
 */
export const IDENTITY_EXPIRED = 'IDENTITY_EXPIRED';

const identityExpired = () =>
  new GraphQLError('the identity this subscription was opened with has expired: subscribe again', {
    extensions: { code: IDENTITY_EXPIRED },
  });

/**
 * The source stream mapped to results, skipping unchanged MODIFIEDs. Pulled one source item per wait of the reader (so
 * a subscriber that reads slowly slows its source, which ends it when it falls too far behind); return() ends it at
 * once (see asyncQueue), and the source with it.
 */
function changesOnly(
  source: AsyncIterable<unknown>,
  args: ExecutionArgs,
  observe?: (o: 'sent' | 'unchanged') => void,
  endAt?: number,
): AsyncIterableIterator<ExecutionResult> {
  const last = new Map<string, string>();
  const it = source[Symbol.asyncIterator]();
  let sourceDone = false;
  const results = asyncQueue<ExecutionResult>({
    onEnd: async () => {
      if (timer) clearTimeout(timer);
      if (!sourceDone) await it.return?.();
    },
    pull: async (queue) => {
      let step: IteratorResult<unknown>;
      try {
        step = await it.next();
      } catch (e) {
        // The stream ended with an error (fell behind, cache gone): one error result, then completion. The
        // connection and its other subscriptions stay; the client resumes from its last token.
        sourceDone = true;
        const err =
          e instanceof GraphQLError
            ? e
            : new GraphQLError(e instanceof Error ? e.message : String(e), {
                extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE },
              });
        queue.push({ errors: [err] });
        return queue.end();
      }
      if (step.done) {
        sourceDone = true;
        return queue.end();
      }
      const result = await changedResult(step.value);
      if (result) queue.push(result);
    },
  });
  // A subscription ends when the identity it was opened with expires, with an IDENTITY_EXPIRED error after what is
  // queued: the gateway opens it again from its last resumeToken with the caller's current roles, so a revoked role
  // stops the events within one identity lifetime. A plain completion is the stream's own end, which the gateway
  // passes on to its clients (a finished helm operation, a log stream whose pod is gone).
  const timer =
    endAt !== undefined
      ? setTimeout(
          () => {
            results.push({ errors: [identityExpired()] });
            results.end();
          },
          Math.max(0, endAt - Date.now()),
        )
      : undefined;
  timer?.unref();

  /** The payload's result, or undefined for a MODIFIED the subscriber cannot tell from what it was last sent. */
  async function changedResult(payload: unknown): Promise<ExecutionResult | undefined> {
    const result = (await execute({ ...args, rootValue: payload })) as ExecutionResult;
    const change = (payload ?? {}) as ChangePayload;
    const { key, type, resumeToken } = change;
    if (typeof key === 'string') {
      if (type === 'DELETED') last.delete(key);
      else {
        const fp = fingerprint(result, type, resumeToken);
        let before = last.get(key);
        if (before === undefined && type === 'MODIFIED' && change.previous) {
          before = fingerprint(
            (await execute({ ...args, rootValue: { ...change, object: change.previous } })) as ExecutionResult,
            type,
            resumeToken,
          );
        }
        if (type === 'MODIFIED' && before === fp) {
          observe?.('unchanged');
          return undefined;
        }
        last.set(key, fp);
      }
    }
    observe?.('sent');
    return result;
  }

  return results;
}

export function attachSubscriptionServer<TContext>(opts: SubscriptionServerOptions<TContext>): SubscriptionServer {
  const wss = new WebSocketServer({ server: opts.server, path: opts.path ?? '/graphql' });
  // The viewer of each subscribe message, verified in onSubscribe, read by the context; when its signature expires.
  const viewers = new WeakMap<object, Map<string, { viewer: Viewer; expiresAt: number }>>();
  const expiries = new WeakMap<object, number>();
  const cleanup = useServer<Record<string, unknown> | undefined>(
    {
      schema: opts.schema,
      onSubscribe: async (ctx, id, payload) => {
        if (!opts.identityKey) return;
        const token = payload.extensions?.identity;
        try {
          const verified = await verifySignedIdentity(opts.identityKey, typeof token === 'string' ? token : undefined);
          let m = viewers.get(ctx);
          if (!m) viewers.set(ctx, (m = new Map()));
          m.set(id, verified);
        } catch (e) {
          if (!(e instanceof IdentityError)) throw e;
          return [new GraphQLError(e.message, { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        }
      },
      onComplete: (ctx, id) => {
        viewers.get(ctx)?.delete(id);
      },
      context: async (ctx, id) => {
        const verified = viewers.get(ctx)?.get(id);
        const value = (await opts.context(ctx, verified?.viewer)) as object;
        if (verified) expiries.set(value, verified.expiresAt);
        return value as never;
      },
      subscribe: async (args: ExecutionArgs) => {
        const source = await createSourceEventStream(args);
        if (!(Symbol.asyncIterator in (source as object))) return source as ExecutionResult;
        return changesOnly(
          source as AsyncIterable<unknown>,
          args,
          opts.observe,
          expiries.get(args.contextValue as object),
        );
      },
      onError: (_ctx, id, _payload, errors) => {
        opts.log.debug('subscription refused', { id, errors: errors.map((e) => e.message) });
      },
    },
    wss,
    opts.keepAliveMs ?? 12_000,
  );
  return wsServerHandle(wss, cleanup);
}

/** A graphql-ws server's open connections, and its close: connections cut, graphql-ws disposed, server closed. */
export function wsServerHandle(wss: WebSocketServer, cleanup: { dispose(): unknown }): SubscriptionServer {
  return {
    connections: () => wss.clients.size,
    async close() {
      for (const c of wss.clients) c.terminate();
      await cleanup.dispose();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
