// Starts a sandbox cluster: store, controllers, exporters and the HTTP(S) API server, and writes its kubeconfig.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { createControllerContext, type Controller } from './controllers/base.js';
import { startControllers } from './controllers/index.js';
import { installKindHooks } from './defaults.js';
import { createMetricsExporter } from './metrics.js';
import { seedCluster, type SeedOptions } from './seed.js';
import { SandboxServer } from './server.js';
import { Store } from './store.js';
import { generateTls } from './tls.js';

export interface SandboxOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** HTTPS with a generated CA (default), or plain HTTP. */
  tls?: boolean;
  /** Where to write the kubeconfig; unset writes none. */
  kubeconfigPath?: string;
  /** What the cluster holds at start: the demo cluster (default), a sized cluster for benchmarks, or nothing but nodes. */
  seed?: SeedOptions;
  /** Simulated time runs this many times faster (tests use 5-20). */
  speed?: number;
  /** How many changes the store remembers for watch resumption and continue tokens. */
  historySize?: number;
  bookmarkIntervalMs?: number;
  watchTimeoutSeconds?: number;
  /** Run the simulated controllers (default true). */
  controllers?: boolean;
  /** The wall clock CronJobs follow (default: the real one); tests move it forward instead of waiting. */
  now?: () => Date;
}

export interface Sandbox {
  url: string;
  port: number;
  /** The kubeconfig as YAML, for KubeConfig.loadFromString or a file. */
  kubeconfig: string;
  kubeconfigPath?: string;
  token: string;
  store: Store;
  server: SandboxServer;
  controllers: Controller[];
  close(): Promise<void>;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const speed = opts.speed ?? 1;
  const store = new Store({ historySize: opts.historySize });
  installKindHooks(store);

  const { ctx, cancelTimers } = createControllerContext(store, (_step, ms) => Math.max(1, Math.round(ms / speed)));
  const controllers = opts.controllers === false ? [] : startControllers(ctx, { now: opts.now });
  await seedCluster(store, opts.seed ?? { kind: 'demo' });

  const exporter = createMetricsExporter(store);
  const tls = opts.tls === false ? undefined : generateTls();
  const token = randomBytes(24).toString('hex');
  const server = new SandboxServer({
    store,
    token,
    // Plain HTTP: kubectl and helm (client-go) send no credentials to an http:// server, whatever the kubeconfig
    // says, so callers on this machine may come without the token (see ServerOptions.anonymousLoopback).
    anonymousLoopback: !tls,
    tls: tls && { key: tls.key, cert: tls.cert },
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    watchTimeoutSeconds: opts.watchTimeoutSeconds,
    speed,
    metrics: async () => ({ contentType: exporter.contentType, body: await exporter.metrics() }),
  });
  const port = await server.listen(opts.port ?? 0, host);
  const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  const kubeconfig = kubeconfigYaml(url, token, tls?.caCert);
  if (opts.kubeconfigPath) {
    mkdirSync(dirname(opts.kubeconfigPath), { recursive: true });
    writeFileSync(opts.kubeconfigPath, kubeconfig, { mode: 0o600 });
  }
  return {
    url,
    port,
    kubeconfig,
    kubeconfigPath: opts.kubeconfigPath,
    token,
    store,
    server,
    controllers,
    async close() {
      for (const c of controllers) c.stop();
      cancelTimers();
      exporter.close();
      await server.close();
    },
  };
}

function kubeconfigYaml(server: string, token: string, caCert?: string): string {
  const name = 'kubegraph-sandbox';
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: caCert
          ? { server, 'certificate-authority-data': Buffer.from(caCert).toString('base64') }
          : // @kubernetes/client-node refuses an http:// server unless the cluster is marked insecure-skip-tls-verify;
            // it sends the token over http, client-go does not (served anyway from loopback, see above).
            { server, 'insecure-skip-tls-verify': true },
      },
    ],
    users: [{ name: 'sandbox-admin', user: { token } }],
    contexts: [{ name, context: { cluster: name, user: 'sandbox-admin', namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}
