// One gateway of the gateway throughput benchmark (bench/gateway-throughput.bench.ts), alone in its process, in front
// of the subgraphs of bench/gateway-throughput-subgraphs.ts, over the supergraph in BENCH_SUPERGRAPH (its routing URLs
// pointed at those subgraphs). BENCH_GATEWAY picks which:
// - ours: startGateway as `npm start` runs it: accounts' authenticator (real access tokens, checked per request),
//   limits, caches, metrics, request logs (JSON lines, written to /dev/null here), identity signing;
// - plain: @apollo/gateway + @apollo/server with default settings (startStandaloneServer); its data sources sign the
//   bootstrap admin's identity once per request, as subgraphs require (services/common/identity.ts);
// - hive: Hive Gateway (@graphql-hive/gateway's runtime) with its default query planner, the same identity signed once
//   per request in an onFetch hook; usage reporting is not configured (it is off unless `reporting` is given);
// - hive-router: the same with @graphql-hive/router-runtime (Hive Router's Rust query planner, in Node);
// - tree:<dir>: ours as the checkout in <dir> has it (e.g. a `git worktree` of an earlier commit, its node_modules a
//   link to this one's), to measure a change before and after in the same run.
//
// Prints { ready: true } at once; IPC { cmd: 'start' } starts the gateway and answers its URL, { cmd: 'cpu' } this
// process's CPU time (µs); exits when the parent disconnects.
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { startGateway } from '../gateway/gateway.js';
import { accountsAuthenticator } from '../gateway/identity.js';
import { createLogger, flushLogs } from '../services/common/log.js';
import type { Viewer } from '../services/common/authz.js';
import { IDENTITY_HEADER, identityKey, signIdentity } from '../services/common/identity.js';

export type GatewayKind = 'ours' | 'plain' | 'hive' | 'hive-router' | `tree:${string}`;

const need = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const kind = need('BENCH_GATEWAY') as GatewayKind;
const supergraphSdl = readFileSync(need('BENCH_SUPERGRAPH'), 'utf8');
const identitySecret = need('BENCH_IDENTITY_SECRET');
const signingKey = identityKey(identitySecret);
/** The bootstrap admin, as accounts' bindings describe it: what the plain gateways forward for every request. */
const ADMIN: Viewer = { username: 'admin', platformRole: 'platform-admin', workspaceRoles: {}, projectRoles: {} };

/** The signed identity of each request (its context object), shared by the request's fetches. */
const signed = new WeakMap<object, Promise<string>>();
const identityOf = (context: object | undefined): Promise<string> => {
  if (!context) return signIdentity(signingKey, ADMIN);
  let token = signed.get(context);
  if (!token) signed.set(context, (token = signIdentity(signingKey, ADMIN)));
  return token;
};

async function ours(tree?: string): Promise<{ url: string; close(): Promise<void> }> {
  const logFile = createWriteStream('/dev/null');
  const start: typeof startGateway = tree
    ? ((await import(join(resolve(tree), 'gateway/gateway.ts'))) as { startGateway: typeof startGateway }).startGateway
    : startGateway;
  // The log lines go to a stream, as npm start's go to stdout (batched per event-loop turn); a tree's own logger,
  // so that a change to it is measured too. A tree from before stream sinks (no flushLogs) gets one write per line.
  const log: typeof import('../services/common/log.js') = tree
    ? await import(join(resolve(tree), 'services/common/log.ts'))
    : { createLogger, flushLogs };
  const logger =
    typeof log.flushLogs === 'function'
      ? log.createLogger('gateway', logFile)
      : log.createLogger('gateway', (line) => logFile.write(line + '\n'));
  const g = await start({
    port: 0,
    supergraphSdl,
    identitySecret,
    authenticator: accountsAuthenticator({
      accountsUrl: need('BENCH_ACCOUNTS_BASE'),
      internalToken: need('BENCH_INTERNAL_TOKEN'),
    }),
    logger,
  });
  return { url: g.url, close: () => g.close() };
}

async function plain(): Promise<{ url: string; close(): Promise<void> }> {
  await import('../gateway/no-telemetry.js');
  const { ApolloServer } = await import('@apollo/server');
  const { startStandaloneServer } = await import('@apollo/server/standalone');
  const { ApolloGateway, RemoteGraphQLDataSource } = await import('@apollo/gateway');
  class SignedDataSource extends RemoteGraphQLDataSource {
    override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions) {
      request.http?.headers.set(IDENTITY_HEADER, await identityOf(context));
    }
  }
  const server = new ApolloServer({
    gateway: new ApolloGateway({ supergraphSdl, buildService: ({ url }) => new SignedDataSource({ url }) }),
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, close: () => server.stop() };
}

async function hive(router: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const { createGatewayRuntime } = await import('@graphql-hive/gateway');
  const unifiedGraphHandler = router ? (await import('@graphql-hive/router-runtime')).unifiedGraphHandler : undefined;
  const runtime = createGatewayRuntime({
    supergraph: () => supergraphSdl,
    logging: false,
    ...(unifiedGraphHandler ? { unifiedGraphHandler } : {}),
    plugins: () => [
      {
        async onFetch({ options, setOptions, context }) {
          const token = await identityOf(context as object | undefined);
          setOptions({
            ...options,
            headers: { ...(options.headers as Record<string, string>), [IDENTITY_HEADER]: token },
          });
        },
      },
    ],
  });
  const server: Server = createServer(runtime);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    close: async () => {
      server.close();
      await runtime.dispose();
    },
  };
}

/** Started on the parent's `start` command (no start-up deadline: a loaded machine may take a while). */
let started: Promise<{ url: string; close(): Promise<void> }> | undefined;
const start = () =>
  kind === 'ours'
    ? ours()
    : kind.startsWith('tree:')
      ? ours(kind.slice(5))
      : kind === 'plain'
        ? plain()
        : hive(kind === 'hive-router');
process.on('message', (m: { id: number; cmd: string }) => {
  if (m.cmd === 'cpu') {
    const u = process.cpuUsage();
    process.send?.({ id: m.id, cpuMicros: u.user + u.system });
  } else if (m.cmd === 'start') {
    (started ??= start()).then(
      (g) => process.send?.({ id: m.id, url: g.url }),
      (e: unknown) => process.send?.({ id: m.id, error: e instanceof Error ? e.message : String(e) }),
    );
  }
});
process.on(
  'disconnect',
  () => void (started ?? Promise.resolve(undefined)).then((g) => g?.close()).finally(() => process.exit(0)),
);
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
