// The stack for subscription tests: a sandbox, the workloads subgraph (restartable on its port), a small second
// subgraph that extends Pod (so every event needs an entity fetch to another subgraph), and the gateway over a
// supergraph composed from exactly those two. Clients speak graphql-ws to the gateway.
import { readFileSync } from 'node:fs';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { composeSupergraph } from '../../gateway/compose.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../gateway/gateway.js';
import type { SandboxOptions } from '../../services/sandbox/sandbox.js';
import {
  SCHEMA_PATH,
  startWorkloadsSubgraph,
  type WorkloadsSubgraph,
  type WorkloadsSubgraphOptions,
} from '../../services/workloads/server.js';
import { gql, type GraphQLResult } from './graphql.js';
import { eventually, startTestSandbox, type TestSandbox } from './sandbox.js';
import { quietLogger } from './stack.js';
import { startTestSubgraph, type TestSubgraph } from './subgraphs.js';

/** The second subgraph: `Pod.insight` (derived from the key, so a test can check it) and a switch to make it fail. */
const INSIGHT_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
  type Pod @key(fields: "namespace name") {
    namespace: String!
    name: String!
    insight: PodInsight
  }
  type PodInsight { summary: String!  nameLength: Int! }
  type Query { insightVersion: String! }
`;

export interface InsightSubgraph extends TestSubgraph {
  /** _entities requests served, and representations in them. */
  stats: { requests: number; representations: number };
  /** While set, Pod.insight fails for pods whose name contains it. */
  failFor: string | undefined;
}

async function startInsightSubgraph(): Promise<InsightSubgraph> {
  const state = { stats: { requests: 0, representations: 0 }, failFor: undefined as string | undefined };
  // Each request gets a fresh context object: the distinct contexts seen are the _entities requests.
  const seen = new WeakSet<object>();
  const sub = await startTestSubgraph('insight', INSIGHT_SDL, {
    Query: { insightVersion: () => '1' },
    Pod: {
      __resolveReference: (ref: { namespace: string; name: string }, ctx: object) => {
        if (!seen.has(ctx)) {
          seen.add(ctx);
          state.stats.requests++;
        }
        state.stats.representations++;
        return ref;
      },
      insight: (p: { namespace: string; name: string }) => {
        if (state.failFor && p.name.includes(state.failFor)) throw new Error(`insight unavailable for ${p.name}`);
        return { summary: `${p.namespace}/${p.name}`, nameLength: p.name.length };
      },
    },
  });
  return Object.defineProperties(sub, {
    stats: { value: state.stats },
    failFor: { get: () => state.failFor, set: (v: string | undefined) => (state.failFor = v) },
  }) as InsightSubgraph;
}

export interface LiveStack {
  cluster: TestSandbox;
  workloads: WorkloadsSubgraph;
  insight: InsightSubgraph;
  gateway: Gateway;
  /** A GraphQL request over HTTP to the gateway. */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>>;
  /** A graphql-ws client of the gateway (disposed by close()). */
  wsClient(): Client;
  /** Stops the workloads subgraph and starts a new one on the same port (fresh caches, fresh watches). */
  restartWorkloads(downMs?: number): Promise<void>;
  /** A metric's value from the gateway's /metrics (summed over labels), or 0. */
  gatewayMetric(name: string, gateway?: Gateway): Promise<number>;
  /** Another gateway over the same subgraphs, with other options (closed by close()). */
  startGateway(options: Partial<GatewayOptions>): Promise<Gateway>;
  close(): Promise<void>;
}

export async function startLiveStack(
  opts: {
    sandbox?: SandboxOptions;
    gateway?: Partial<GatewayOptions>;
    workloads?: Partial<WorkloadsSubgraphOptions>;
  } = {},
): Promise<LiveStack> {
  const cluster = await startTestSandbox({ seed: { kind: 'demo' }, speed: 20, ...opts.sandbox });
  const workloadsOptions = { kubeConfig: cluster.kc, log: quietLogger, ...opts.workloads };
  let workloads = await startWorkloadsSubgraph({ port: 0, ...workloadsOptions });
  const port = workloads.port;
  const insight = await startInsightSubgraph();
  const supergraphSdl = composeSupergraph([
    { name: 'workloads', sdl: readFileSync(SCHEMA_PATH, 'utf8'), url: workloads.url },
    { name: 'insight', sdl: INSIGHT_SDL, url: insight.url },
  ]);
  const gateway = await startGateway({
    port: 0,
    supergraphSdl,
    logger: quietLogger,
    readyCacheMs: 0,
    resubscribeBackoff: { min: 50, max: 1000 },
    ...opts.gateway,
  });
  const readyz = gateway.url.replace(/\/graphql$/, '/readyz');
  await eventually(async () => (await fetch(readyz)).status === 200, 30_000, 'the live stack to be ready');
  const clients: Client[] = [];
  const extraGateways: Gateway[] = [];
  const stack: LiveStack = {
    cluster,
    get workloads() {
      return workloads;
    },
    insight,
    gateway,
    gql: (query, variables = {}) => gql(gateway.url, query, variables),
    wsClient() {
      const c = createClient({ url: gateway.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
      clients.push(c);
      return c;
    },
    async restartWorkloads(downMs = 0) {
      await workloads.close();
      if (downMs) await new Promise((r) => setTimeout(r, downMs));
      workloads = await startWorkloadsSubgraph({ port, ...workloadsOptions });
      await workloads.ready();
    },
    async startGateway(options) {
      const g = await startGateway({ port: 0, supergraphSdl, logger: quietLogger, readyCacheMs: 0, ...options });
      extraGateways.push(g);
      return g;
    },
    async gatewayMetric(name: string, g: Gateway = gateway) {
      const text = await (await fetch(g.url.replace(/\/graphql$/, '/metrics'))).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
        if (m && m[1] === name) sum += Number(m[3]);
      }
      return sum;
    },
    async close() {
      await Promise.all(clients.map((c) => c.dispose()));
      for (const g of extraGateways) await g.close();
      await gateway.close();
      await insight.close();
      await workloads.close();
      await cluster.close();
    },
  };
  return stack;
}

/** Collects a subscription's results. */
export interface Collected<T> {
  results: { data?: T | null; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }[];
  done: boolean;
  error?: unknown;
  stop(): void;
}

export function collect<T = Record<string, unknown>>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Collected<T> {
  const c: Collected<T> = { results: [], done: false, stop: () => {} };
  c.stop = client.subscribe<T>(
    { query, variables },
    {
      next: (r) => void c.results.push(r as Collected<T>['results'][number]),
      error: (e) => {
        c.error = e;
        c.done = true;
      },
      complete: () => {
        c.done = true;
      },
    },
  );
  return c;
}
