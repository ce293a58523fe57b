// A Prometheus for development: `npm start` on the sandbox with PROMETHEUS_URL unset starts the `prometheus` binary
// found on PATH, its data in a temporary folder, scraping the sandbox's exporters (verified with the sandbox's CA).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { freePort } from '../common/free-port.js';

export interface LocalPrometheus {
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

/** The path of an executable on PATH, or undefined. */
export function findOnPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return join(dir, bin);
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

export interface LocalPrometheusOptions {
  bin: string;
  /** The sandbox's /metrics URL. */
  metricsUrl: string;
  /** PEM of the CA that signed the sandbox's certificate (https sandboxes). */
  caPem?: string;
  scrapeIntervalSeconds?: number;
}

export async function startLocalPrometheus(opts: LocalPrometheusOptions): Promise<LocalPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'kubegraph-prometheus-'));
  const target = new URL(opts.metricsUrl);
  const interval = `${opts.scrapeIntervalSeconds ?? 5}s`;
  const tls: Record<string, unknown> = {};
  if (opts.caPem) {
    writeFileSync(join(dir, 'ca.pem'), opts.caPem);
    tls.ca_file = join(dir, 'ca.pem');
  }
  writeFileSync(
    join(dir, 'prometheus.yml'),
    toYaml({
      global: { scrape_interval: interval, evaluation_interval: interval },
      scrape_configs: [
        {
          job_name: 'sandbox',
          scheme: target.protocol === 'https:' ? 'https' : 'http',
          metrics_path: target.pathname,
          // The sandbox serves every node's node-exporter series from one endpoint, each with its own instance label.
          honor_labels: true,
          ...(Object.keys(tls).length ? { tls_config: tls } : {}),
          static_configs: [{ targets: [target.host] }],
        },
      ],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    opts.bin,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => (log = (log + c).slice(-4000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  // At exit (also when stopped before it was ready): no Prometheus left running, no data folder left behind.
  const kill = () => {
    if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', kill);

  const stop = async () => {
    process.removeListener('exit', kill);
    if (!exited && child.pid !== undefined) {
      const gone = new Promise((r) => child.once('exit', r));
      process.kill(child.pid, 'SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`prometheus exited before it was ready:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready after 20 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, dataDir: dir, close: stop };
}
