// graphql-ws on the gateway's HTTP server, on the same path as HTTP: connections authenticated at connection_init
// (gateway/auth.ts), subscriptions parsed, validated and costed here and run by the SubscriptionExecutor, and
// queries and mutations over graphql-ws sent through Apollo's HTTP pipeline (limits, plans, caches).
import type { Server } from 'node:http';
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
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCode } from '../services/common/errors.js';
import { wsServerHandle, type SubscriptionServer } from '../services/common/subscriptions.js';
import type { ConnectionAuth } from './auth.js';
import type { GatewayContext } from './datasource.js';
import { withoutSuggestions } from './http-errors.js';
import type { Identity } from './identity.js';
import { costError, limitRules, operationCost, type QueryLimits } from './limits.js';
import type { SubscriptionExecutor } from './subscriptions.js';

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

type WsContext = GatewayContext & { identity: Identity; cutOff: () => void };

export function attachGatewayWsServer(opts: GatewayWsServerOptions): SubscriptionServer {
  const { apollo, executor, auth, limits, introspection } = opts;
  const wsRules = [...specifiedRules, ...limitRules(limits)];
  const wss = new WebSocketServer({ server: opts.server, path: '/graphql' });
  const cleanup = useServer<Record<string, unknown> | undefined, { socket: WebSocket }>(
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
        const contextValue: WsContext = { requestId: `ws-${id}`, identity, cutOff: () => socket.terminate() };
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
