// How every subgraph starts: its schema (SDL file + resolvers) as a federation subgraph, Apollo Server with the
// plugins every subgraph needs, the shared HTTP bootstrap (/graphql with the gateway's verified identity, /healthz,
// /readyz, /metrics), graphql-ws on the same path when it has subscriptions, and one close for all of it. A subgraph
// passes its own parts (context, readiness, routes, plugins) and keeps its own resources (caches, database, clients).
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { type GraphQLFieldResolver, type GraphQLScalarType, type GraphQLSchema } from 'graphql';
import type { Registry } from 'prom-client';
import { requestMetricsPlugin } from './apollo-metrics.js';
import type { Viewer } from './authz.js';
import { closeServer, createMetricsRegistry, createServiceHttpServer, listen, viewerOf } from './http.js';
import { identityKey as createIdentityKey } from './identity.js';
import type { Logger } from './log.js';
import { attachSubscriptionServer, type SubscriptionServer } from './subscriptions.js';
import { subgraphSchema } from './subgraph-schema.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- the parents of resolvers are typed by each resolver */
/**
 * A subgraph's resolvers, by type and field (with `__resolveReference` for entities), as `buildSubgraphSchema`
 * takes them: the shape of its public parameter, typed by the subgraph's context.
 */
export interface SubgraphResolvers<TContext> {
  [typeName: string]:
    | {
        [fieldName: string]:
          | GraphQLFieldResolver<any, TContext>
          | {
              requires?: string;
              resolve?: GraphQLFieldResolver<any, TContext>;
              subscribe?: GraphQLFieldResolver<any, TContext>;
            };
      }
    | GraphQLScalarType
    | { [enumValue: string]: string | number };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** What a request's context is made from. */
export interface SubgraphRequest {
  /** The identity the gateway signed; undefined when identities are not checked (a subgraph tested on its own). */
  viewer: Viewer | undefined;
  /** The HTTP request (for graphql-ws: the upgrade request of the connection). */
  req: IncomingMessage;
}

export interface SubgraphServerOptions<TContext extends BaseContext> {
  /** The service: its metric names (kubegraph_<name>_…) and its log lines. */
  name: string;
  /** The subgraph's SDL file. */
  schemaPath: string;
  resolvers: SubgraphResolvers<TContext>;
  /** The context of an operation (HTTP request or subscription). */
  context: (request: SubgraphRequest) => TContext | Promise<TContext>;
  /** Ready to serve (/readyz). */
  ready: () => boolean | Promise<boolean>;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  log: Logger;
  /** The service's registry, when its clients and caches report there too; default: a new one. */
  metrics?: Registry;
  /**
   * The secret of the gateway's identity signature (KUBEGRAPH_IDENTITY_SECRET): requests and subscriptions without a
   * valid signed identity are refused. Unset: no check, and the context gets no viewer.
   */
  identitySecret?: string;
  /**
   * The subgraph's own Apollo plugins. They come before the request metrics plugin, so a plugin that changes a
   * response's errors in willSendResponse (monitoring's field errors) does so before the response is counted.
   */
  plugins?: ApolloServerPlugin<TContext>[];
  /** Extra HTTP routes tried before GraphQL (return true when handled). */
  routes?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;
  /** graphql-ws on the GraphQL path, for a subgraph with subscriptions; `observe` counts results sent or skipped. */
  subscriptions?: { observe?: (outcome: 'sent' | 'unchanged') => void };
  /** More fields of the "listening" log line. */
  logFields?: Record<string, unknown>;
}

export interface SubgraphServer {
  /** http://host:port/graphql */
  url: string;
  /** http://host:port */
  baseUrl: string;
  port: number;
  metrics: Registry;
  schema: GraphQLSchema;
  /** Present when started with `subscriptions`. */
  subscriptions?: SubscriptionServer;
  /** Closes subscriptions, connections and Apollo Server, in that order (the subgraph then closes its own parts). */
  close(): Promise<void>;
}

export async function createSubgraphServer<TContext extends BaseContext>(
  opts: SubgraphServerOptions<TContext>,
): Promise<SubgraphServer> {
  const metrics = opts.metrics ?? createMetricsRegistry(opts.name);
  const identityKey = opts.identitySecret ? createIdentityKey(opts.identitySecret) : undefined;
  const schema = subgraphSchema(readFileSync(opts.schemaPath, 'utf8'), opts.resolvers);
  const apollo = new ApolloServer<TContext>({
    schema,
    plugins: [
      ...(opts.plugins ?? []),
      requestMetricsPlugin<TContext>(opts.name, metrics),
      // Federated traces only serve Apollo's hosted studio, which kubegraph does not report to. Nothing is reported
      // to Apollo, whatever APOLLO_KEY says, and no landing page loads from its CDN.
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginLandingPageDisabled(),
    ],
    // Errors keep their extensions (code, service); stack traces stay out of responses.
    includeStacktraceInErrorResponses: false,
    // The process's own signal handlers close everything in order (Apollo's would stop it and re-raise the signal,
    // killing the process before the rest has closed).
    stopOnTerminationSignals: false,
  });
  await apollo.start();
  const server = createServiceHttpServer<TContext>({
    apollo,
    metrics,
    identityKey,
    routes: opts.routes,
    // With identities checked, a request without a valid one never gets here.
    context: async ({ req }) => opts.context({ viewer: identityKey ? viewerOf(req) : undefined, req }),
    ready: opts.ready,
  });
  const subscriptions = opts.subscriptions
    ? attachSubscriptionServer<TContext>({
        server,
        schema,
        log: opts.log,
        identityKey,
        context: (ctx, viewer) => opts.context({ viewer, req: (ctx.extra as { request: IncomingMessage }).request }),
        observe: opts.subscriptions.observe,
      })
    : undefined;
  const close = async () => {
    await subscriptions?.close();
    await closeServer(server);
    await apollo.stop();
  };
  const host = opts.host ?? '127.0.0.1';
  let port: number;
  try {
    port = await listen(server, opts.port, host);
  } catch (e) {
    await close();
    throw e;
  }
  const baseUrl = `http://${host}:${port}`;
  const url = `${baseUrl}/graphql`;
  opts.log.info(`${opts.name} subgraph listening`, { url, ...opts.logFields });
  return { url, baseUrl, port, metrics, schema, subscriptions, close };
}

/** What a subgraph's start function hands over: where it listens, its own parts, and one close. */
export type StartedSubgraph<TParts extends object> = TParts & {
  url: string;
  baseUrl: string;
  port: number;
  close(): Promise<void>;
};

/** A started subgraph whose close stops the server first, then the subgraph's own parts (`closeOwn`). */
export function startedSubgraph<TParts extends object>(
  server: SubgraphServer,
  parts: TParts,
  closeOwn: () => Promise<void>,
): StartedSubgraph<TParts> {
  return {
    ...parts,
    url: server.url,
    baseUrl: server.baseUrl,
    port: server.port,
    async close() {
      await server.close();
      await closeOwn();
    },
  };
}
