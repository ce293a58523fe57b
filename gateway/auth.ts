// Who each request and graphql-ws connection is, at the gateway (the tokens themselves are checked by an
// Authenticator, gateway/identity.ts):
// - HTTP: the request's context carries the verified viewer, the client's address and a request id; a refused token
//   makes the caller anonymous for logging in again and fails every other operation with UNAUTHENTICATED;
// - graphql-ws: connection_init must carry a valid token, and each open connection is checked again every
//   wsSessionCheckMs, so that one whose session ended (or whose user may no longer act) is closed.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { ApolloServerPlugin, ContextFunction } from '@apollo/server';
import { Kind, type OperationDefinitionNode } from 'graphql';
import type { WebSocket } from 'ws';
import { ANONYMOUS, isAnonymous } from '../services/common/authz.js';
import type { Logger } from '../services/common/log.js';
import type { GatewayContext } from './datasource.js';
import {
  bearerToken,
  connectionToken,
  isNotAllowed,
  isUnauthenticated,
  type Authenticator,
  type Identity,
} from './identity.js';

/** graphql-ws close codes of refused connections (README "Subscriptions"). */
const WS_UNAUTHORIZED = 4401;
const WS_FORBIDDEN = 4403;
const WS_TRY_AGAIN_LATER = 1013;

/** Root fields that need no identity: a caller with a stale token must still be able to log in again. */
const SESSION_FIELDS = new Set(['login', 'refreshToken', 'logout']);

/**
 * Whether an operation only logs in, refreshes or logs out: a mutation whose root selections are only those fields
 * (no fragments, whose content would have to be checked too). Only such an operation runs when the caller's token is
 * refused, as the anonymous caller; every other one answers UNAUTHENTICATED (401), so a bad token never passes as
 * no token.
 */
export function sessionOperationOnly(operation: OperationDefinitionNode): boolean {
  const roots = operation.selectionSet.selections;
  return (
    operation.operation === 'mutation' &&
    roots.length > 0 &&
    roots.every((s) => s.kind === Kind.FIELD && SESSION_FIELDS.has(s.name.value))
  );
}

/** Fails the operation of a caller whose token was refused, unless it only logs in, refreshes or logs out. */
export const refusedTokensPlugin: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart(rc) {
    const refused = rc.contextValue.refusedToken;
    if (!refused) return;
    return {
      async didResolveOperation(rc2) {
        if (!rc2.operation || !sessionOperationOnly(rc2.operation)) throw refused;
      },
    };
  },
};

/**
 * The context of an HTTP request. No token is the anonymous caller. A refused token fails the request with
 * UNAUTHENTICATED (HTTP 401) once the operation is known (refusedTokensPlugin), unless it only logs in or refreshes.
 */
export function httpContext(
  authenticator: Authenticator,
  trustProxy: number,
): ContextFunction<[{ req: IncomingMessage }], GatewayContext> {
  return async ({ req }) => {
    const requestId = requestIdOf(req.headers['x-request-id']);
    const client = clientOf(req, trustProxy);
    try {
      return {
        req,
        requestId,
        client,
        viewer: await authenticator.authenticate(bearerToken(req.headers.authorization)),
      };
    } catch (e) {
      if (isUnauthenticated(e)) return { req, requestId, client, viewer: ANONYMOUS, refusedToken: e };
      throw e;
    }
  };
}

/** The client's X-Request-Id when it is a sane one; else a new id. */
export function requestIdOf(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  return v && /^[A-Za-z0-9._-]{1,128}$/.test(v) ? v : randomUUID();
}

/** The client's address (through GATEWAY_TRUST_PROXY proxies) and user agent, forwarded for login records. */
function clientOf(req: IncomingMessage, trustProxy: number): { ip?: string; userAgent?: string } {
  const socketAddress = req.socket.remoteAddress;
  let ip = socketAddress;
  if (trustProxy > 0) {
    const header = req.headers['x-forwarded-for'];
    const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    // Each trusted proxy appended the address it saw: from the right, the entry `trustProxy` places in is the
    // client's; entries further left came from the client itself and may be forged.
    const chain = [socketAddress, ...entries.reverse()];
    const picked = chain[Math.min(trustProxy, chain.length - 1)];
    ip = picked && isIP(picked) ? picked : socketAddress;
  }
  const ua = req.headers['user-agent'];
  const client: { ip?: string; userAgent?: string } = {};
  if (ip) client.ip = ip;
  if (typeof ua === 'string') client.userAgent = ua.slice(0, 512);
  return client;
}

/** A graphql-ws connection as the auth side sees it: its context object (the key) and its socket. */
export interface WsConnection {
  ctx: object;
  socket: WebSocket;
  connectionParams?: Readonly<Record<string, unknown>>;
}

export interface ConnectionAuth {
  /** Checks connection_init's token; false when the connection was refused (and closed with its code). */
  connect(connection: WsConnection): Promise<boolean>;
  disconnect(ctx: object): void;
  /** The connection's identity as last verified. */
  identityOf(ctx: object): Identity | undefined;
  close(): void;
}

/**
 * The graphql-ws connections' identities. The token arrives in connection_init and is checked before any
 * subscription: missing, invalid, expired or revoked closes with 4401; a genuine token of a user who may not act
 * (disabled, locked) with 4403; accounts unreachable with 1013 (try again later). Closed here with our code:
 * graphql-ws's own close (4403) that follows `false` is then a no-op.
 */
export function connectionAuth(authenticator: Authenticator, log: Logger, sessionCheckMs: number): ConnectionAuth {
  /** The identity of each graphql-ws connection, from its connection_init. */
  const identities = new WeakMap<object, Identity>();
  /** Open, authenticated graphql-ws connections (their context → socket), for the session check. */
  const connections = new Map<object, WebSocket>();
  const sweep = sessionSweep(authenticator, log, sessionCheckMs, identities, connections);
  return {
    async connect({ ctx, socket, connectionParams }) {
      let identity: Identity;
      try {
        identity = await authenticator.authenticate(connectionToken(connectionParams));
      } catch (e) {
        log.info('graphql-ws connection refused', { reason: e instanceof Error ? e.message : String(e) });
        if (isNotAllowed(e)) socket.close(WS_FORBIDDEN, 'Forbidden');
        else if (isUnauthenticated(e)) socket.close(WS_UNAUTHORIZED, 'Unauthorized');
        else socket.close(WS_TRY_AGAIN_LATER, 'Try again later');
        return false;
      }
      // Nothing can be subscribed to anonymously: a connection without a token is refused outright.
      if (isAnonymous(identity)) {
        socket.close(WS_UNAUTHORIZED, 'Unauthorized');
        return false;
      }
      identities.set(ctx, identity);
      connections.set(ctx, socket);
      return true;
    },
    disconnect: (ctx) => connections.delete(ctx),
    identityOf: (ctx) => identities.get(ctx),
    close: () => {
      if (sweep) clearInterval(sweep);
    },
  };
}

/**
 * Credentials are checked at connection_init only; a session ended since (or a user disabled, locked, deleted) must
 * not keep its socket: each connection is checked again (cheap while accounts' revision is unchanged).
 */
function sessionSweep(
  authenticator: Authenticator,
  log: Logger,
  everyMs: number,
  identities: WeakMap<object, Identity>,
  connections: Map<object, WebSocket>,
): NodeJS.Timeout | undefined {
  const refresh = authenticator.refresh?.bind(authenticator);
  if (!refresh) return undefined;
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    void Promise.all(
      [...connections].map(async ([ctx, socket]) => {
        const identity = identities.get(ctx);
        if (!identity) return;
        try {
          identities.set(ctx, await refresh(identity));
        } catch (e) {
          // accounts unreachable: keep the connection (its subscriptions' renewals will tell).
          if (!isUnauthenticated(e) && !isNotAllowed(e)) return;
          connections.delete(ctx);
          log.info('graphql-ws connection closed: credentials no longer valid', {
            reason: e instanceof Error ? e.message : String(e),
          });
          socket.close(
            isNotAllowed(e) ? WS_FORBIDDEN : WS_UNAUTHORIZED,
            isNotAllowed(e) ? 'Forbidden' : 'Unauthorized',
          );
        }
      }),
    ).finally(() => (sweeping = false));
  }, everyMs);
  timer.unref();
  return timer;
}
