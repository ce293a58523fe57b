// Starts a real Prometheus (the Debian `prometheus` package) for a test: a config in a temporary directory, a free
// port on 127.0.0.1, readiness by asking `/-/ready`, and PromQL helpers over its HTTP API. Optionally backfills
// history from OpenMetrics text with `promtool tsdb create-blocks-from openmetrics` before it starts, so range
// queries and rates can be tested deterministically without waiting for scrapes.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { freePort } from '../../services/common/free-port.js';
import type { InstantSample, RangeSeries } from '../../services/monitoring/clients/prometheus.js';

export interface ScrapeTarget {
  job: string;
  /** The exporter's full URL, e.g. `https://127.0.0.1:6443/metrics`. */
  url: string;
  /** Defaults to the URL's scheme. */
  scheme?: 'http' | 'https';
  /** `tls_config.insecure_skip_verify`. */
  tlsInsecure?: boolean;
  /** A CA certificate (PEM) to verify the target with; written to a file in the temporary directory. */
  caPem?: string;
  /** Keep the target's own `instance`/`job` labels instead of renaming them to `exported_*`. */
  honorLabels?: boolean;
}

export interface PrometheusOptions {
  scrapeTargets?: ScrapeTarget[];
  /** Scrape and rule evaluation interval (default 1 s; the scrape timeout is the same). */
  scrapeIntervalSeconds?: number;
  /** More command-line flags for prometheus. */
  extraArgs?: string[];
  /** OpenMetrics text (`# TYPE` lines, `name{labels} value unix_seconds` samples; `# EOF` is appended if missing)
   *  turned into TSDB blocks before Prometheus starts. Keep timestamps within the retention (15 days by default). */
  backfillOpenMetrics?: string;
  /** How long to wait for `/-/ready` (default 20 s). */
  readyTimeoutMs?: number;
  /** Rule files (recording and alerting rules, Prometheus's YAML format) by file name, loaded at start. */
  ruleFiles?: Record<string, string>;
}

/** One element of an instant vector (`value`: [unix seconds, value as Prometheus renders it]), as the client reads it. */
export type PromSample = InstantSample;
/** One series of a range query. */
export type PromSeries = RangeSeries;

export interface WaitForOptions {
  /** Default 20 s. */
  timeoutMs?: number;
  /** What the result must satisfy (default: not empty). */
  until?: (samples: PromSample[]) => boolean;
}

export interface TestPrometheus {
  /** `http://127.0.0.1:<port>` */
  url: string;
  pid: number;
  dir: string;
  /** An instant query (at `time`, unix seconds, or now); a scalar comes back as one sample without labels. */
  query(promql: string, time?: number): Promise<PromSample[]>;
  queryRange(promql: string, start: number, end: number, stepSeconds: number): Promise<PromSeries[]>;
  /** Polls an instant query until its result satisfies `until` (default: not empty) and returns that result. */
  waitFor(promql: string, opts?: WaitForOptions): Promise<PromSample[]>;
  /** Stops Prometheus by its pid and removes the temporary directory. */
  close(): Promise<void>;
}

export class PrometheusQueryError extends Error {
  constructor(
    message: string,
    readonly errorType: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A sample's value as a number. */
export const valueOf = (s: PromSample): number => Number(s.value[1]);

const run = promisify(execFile);
const INSTALL_HINT =
  'install the Debian package: `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus` (.ci/run does)';

/** The absolute path of an executable on PATH, or undefined. */
function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function requireBinary(bin: string): string {
  const p = which(bin);
  if (!p) throw new Error(`\`${bin}\` is not on PATH: ${INSTALL_HINT}`);
  return p;
}

function scrapeConfig(target: ScrapeTarget, dir: string, index: number, interval: number): Record<string, unknown> {
  const u = new URL(target.url);
  const scheme = target.scheme ?? (u.protocol === 'https:' ? 'https' : 'http');
  const port = u.port || (scheme === 'https' ? '443' : '80');
  const tls: Record<string, unknown> = {};
  if (target.tlsInsecure) tls.insecure_skip_verify = true;
  if (target.caPem) {
    const caFile = join(dir, `ca-${index}.pem`);
    writeFileSync(caFile, target.caPem);
    tls.ca_file = caFile;
  }
  return {
    job_name: target.job,
    scheme,
    metrics_path: u.pathname || '/metrics',
    ...(u.search
      ? { params: Object.fromEntries([...u.searchParams.keys()].map((k) => [k, u.searchParams.getAll(k)])) }
      : {}),
    scrape_interval: `${interval}s`,
    scrape_timeout: `${interval}s`,
    ...(target.honorLabels ? { honor_labels: true } : {}),
    ...(Object.keys(tls).length ? { tls_config: tls } : {}),
    static_configs: [{ targets: [`${u.hostname}:${port}`] }],
  };
}

export async function startPrometheus(opts: PrometheusOptions = {}): Promise<TestPrometheus> {
  const prometheusBin = requireBinary('prometheus');
  const interval = opts.scrapeIntervalSeconds ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'kubegraph-prometheus-'));
  try {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const configFile = join(dir, 'prometheus.yml');
    const ruleFiles = Object.entries(opts.ruleFiles ?? {}).map(([name, text]) => {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    });
    writeFileSync(
      configFile,
      toYaml({
        global: {
          scrape_interval: `${interval}s`,
          scrape_timeout: `${interval}s`,
          evaluation_interval: `${interval}s`,
        },
        ...(ruleFiles.length ? { rule_files: ruleFiles } : {}),
        scrape_configs: (opts.scrapeTargets ?? []).map((t, i) => scrapeConfig(t, dir, i, interval)),
      }),
    );

    if (opts.backfillOpenMetrics !== undefined) {
      const promtool = requireBinary('promtool');
      let text = opts.backfillOpenMetrics.trimEnd();
      if (!/(^|\n)# EOF$/.test(text)) text += '\n# EOF';
      const file = join(dir, 'backfill.om');
      writeFileSync(file, text + '\n');
      try {
        await run(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', file, dataDir], { timeout: 60_000 });
      } catch (e) {
        const err = e as { stderr?: string; stdout?: string; message: string };
        throw new Error(
          `promtool tsdb create-blocks-from openmetrics failed: ${err.stderr || err.stdout || err.message}`,
          { cause: e },
        );
      }
    }

    // The free port is found by binding and releasing it, so another process may take it first: retry then.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const started = await launch(
        prometheusBin,
        [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${dataDir}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--web.enable-lifecycle',
          ...(opts.extraArgs ?? []),
        ],
        `http://127.0.0.1:${port}`,
        opts.readyTimeoutMs ?? 20_000,
      );
      if ('child' in started) return handle(started.child, `http://127.0.0.1:${port}`, dir);
      if (!/address already in use/i.test(started.log) || attempt >= 3) {
        throw new Error(`prometheus did not become ready: ${started.reason}\n${started.log}`);
      }
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

type Launch = { child: ChildProcess } | { reason: string; log: string };

async function launch(bin: string, args: string[], url: string, timeoutMs: number): Promise<Launch> {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // Prometheus logs to stderr; keep the tail for error messages (and keep reading so the pipe never fills).
  let log = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    log = (log + chunk).slice(-8000);
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? `code ${code}`}`;
  });
  child.once('error', (e) => {
    exited = `failed to start: ${e.message}`;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) return { reason: exited, log };
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return { child };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop(child);
      return { reason: `not ready after ${timeoutMs} ms`, log };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, 'SIGKILL');
  }, 5000);
  await exited;
  clearTimeout(timer);
}

function handle(child: ChildProcess, url: string, dir: string): TestPrometheus {
  // If the test process ends without close() (a crash, an aborted run), do not leave Prometheus behind.
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, 'SIGKILL');
  };
  process.once('exit', onExit);

  async function api<T>(path: string, params: Record<string, string>): Promise<T> {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { status: string; data?: T; errorType?: string; error?: string };
    if (body.status !== 'success') {
      throw new PrometheusQueryError(
        `${params.query}: ${body.errorType ?? 'error'}: ${body.error ?? res.statusText}`,
        body.errorType ?? '',
        res.status,
      );
    }
    return body.data as T;
  }

  const query = async (promql: string, time?: number): Promise<PromSample[]> => {
    const data = await api<{ resultType: string; result: unknown }>('/api/v1/query', {
      query: promql,
      ...(time !== undefined ? { time: String(time) } : {}),
    });
    switch (data.resultType) {
      case 'vector':
        return data.result as PromSample[];
      case 'scalar':
        return [{ metric: {}, value: data.result as [number, string] }];
      default:
        throw new PrometheusQueryError(
          `${promql}: a ${data.resultType} result, not an instant vector or scalar`,
          'bad_data',
          200,
        );
    }
  };

  return {
    url,
    pid: child.pid!,
    dir,
    query,
    async queryRange(promql, start, end, stepSeconds) {
      const data = await api<{ resultType: string; result: PromSeries[] }>('/api/v1/query_range', {
        query: promql,
        start: String(start),
        end: String(end),
        step: String(stepSeconds),
      });
      return data.result;
    },
    async waitFor(promql, o = {}) {
      const until = o.until ?? ((s) => s.length > 0);
      const deadline = Date.now() + (o.timeoutMs ?? 20_000);
      let last: PromSample[] | undefined;
      let lastError: unknown;
      for (;;) {
        try {
          last = await query(promql);
          lastError = undefined;
          if (until(last)) return last;
        } catch (e) {
          // A malformed query never gets better: fail at once.
          if (e instanceof PrometheusQueryError && e.errorType === 'bad_data') throw e;
          lastError = e;
        }
        if (Date.now() > deadline) {
          const seen = lastError ? String(lastError) : JSON.stringify(last).slice(0, 2000);
          throw new Error(`timed out waiting for ${promql} (last: ${seen})`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async close() {
      process.removeListener('exit', onExit);
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
