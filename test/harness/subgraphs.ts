// Tiny federated subgraphs for gateway tests: real @apollo/subgraph servers on services/common/http.ts, so the
// gateway talks to them over HTTP exactly as to the real ones (with /readyz they can switch on and off).
import type { Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type DocumentNode } from 'graphql';
import { closeServer, createMetricsRegistry, createServiceHttpServer, listen } from '../../services/common/http.js';

type SchemaModule = Exclude<Parameters<typeof buildSubgraphSchema>[0], DocumentNode | readonly unknown[]>;
export type Resolvers = NonNullable<SchemaModule['resolvers']>;

export interface TestSubgraph {
  name: string;
  sdl: string;
  url: string;
  port: number;
  /** What /readyz answers. */
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

export async function startTestSubgraph(
  name: string,
  sdl: string,
  resolvers: Resolvers,
  port = 0,
): Promise<TestSubgraph> {
  const apollo = new ApolloServer({
    schema: buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers }]),
    csrfPrevention: false,
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  let ready = true;
  const server: Server = createServiceHttpServer({
    apollo,
    context: async () => ({}),
    ready: () => ready,
    metrics: createMetricsRegistry(name),
  });
  const actual = await listen(server, port);
  return {
    name,
    sdl,
    port: actual,
    url: `http://127.0.0.1:${actual}/graphql`,
    setReady: (r) => {
      ready = r;
    },
    async close() {
      await closeServer(server);
      await apollo.stop();
    },
  };
}

/** A server that answers every request with an HTTP status and a non-GraphQL body (a broken subgraph). */
export async function startBrokenServer(status: number): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'Content-Type': 'text/html' });
    res.end('<html>upstream error</html>');
  });
  const port = await listen(server, 0);
  return { url: `http://127.0.0.1:${port}/graphql`, close: () => closeServer(server) };
}
