// The helm binary (HELM_BIN), run against the configured cluster. Each call gets a private temporary folder (mode
// 0700) holding a kubeconfig written for it (mode 0600), the files the call needs (chart archive, values) and helm's
// HOME, cache, config and data folders, all removed when the call ends. Arguments are passed as an argv array (no
// shell); values only ever as files. Helm's environment is only what it needs: no proxy variables, no KUBECONFIG or
// HELM_* of the service's own environment, no credentials beyond the kubeconfig file.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type * as k8s from '@kubernetes/client-node';
import { upstreamUnavailable } from '../../common/errors.js';

export interface HelmClientOptions {
  helmBin: string;
  kubeConfig: k8s.KubeConfig;
  /** helm's --timeout for one operation (hooks, waits), in seconds; the process is killed 60 s after it. */
  timeoutSeconds: number;
}

/** Helm's exit and output. stdout and stderr are as helm wrote them (for parsing): pass them through scrub() to show. */
export interface HelmResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface HelmCall {
  /** The arguments, given the call's folder (where `files` are written). */
  args: (dir: string) => string[];
  /** File name (no path) → content, written with mode 0600 into the call's folder. */
  files?: Record<string, string | Uint8Array>;
  /** Helm's output as it comes (stdout and stderr interleaved), scrubbed. */
  onOutput?: (text: string) => void;
}

/** Output kept per stream (a chart's dry run prints the whole chart in JSON; an error tail is what matters). */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const SAFE_FILE = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * The current context of a KubeConfig as a kubeconfig document client-go reads (JSON is YAML): its cluster, its user
 * and nothing else. The service account token file of an in-cluster config becomes client-go's `tokenFile`.
 */
export function kubeconfigDocument(kc: k8s.KubeConfig): string {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user) throw new Error('the cluster configuration has no current context');
  const c: Record<string, unknown> = { server: cluster.server };
  if (cluster.caData) c['certificate-authority-data'] = cluster.caData;
  if (cluster.caFile) c['certificate-authority'] = cluster.caFile;
  if (cluster.skipTLSVerify) c['insecure-skip-tls-verify'] = true;
  if (cluster.tlsServerName) c['tls-server-name'] = cluster.tlsServerName;
  if (cluster.proxyUrl) c['proxy-url'] = cluster.proxyUrl;
  const u: Record<string, unknown> = {};
  if (user.token) u.token = user.token;
  if (user.certData) u['client-certificate-data'] = user.certData;
  if (user.certFile) u['client-certificate'] = user.certFile;
  if (user.keyData) u['client-key-data'] = user.keyData;
  if (user.keyFile) u['client-key'] = user.keyFile;
  if (user.username) u.username = user.username;
  if (user.password) u.password = user.password;
  if (user.exec) u.exec = user.exec;
  if (user.impersonateUser) u.as = user.impersonateUser;
  const provider = user.authProvider as { name?: string; config?: { tokenFile?: string } } | undefined;
  if (provider?.name === 'tokenFile' && provider.config?.tokenFile) u.tokenFile = provider.config.tokenFile;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cluster', cluster: c }],
    users: [{ name: 'user', user: u }],
    contexts: [{ name: 'kubegraph', context: { cluster: 'cluster', user: 'user' } }],
    'current-context': 'kubegraph',
  });
}

/** The secrets a text must not show: the kubeconfig's token and password, and anything that looks like a credential. */
export function scrubber(kc: k8s.KubeConfig, extra: readonly string[] = []): (text: string) => string {
  const user = kc.getCurrentUser();
  const literals = [user?.token, user?.password, user?.keyData, ...extra].filter(
    (s): s is string => typeof s === 'string' && s.length >= 4,
  );
  return (text: string) => {
    let out = text;
    for (const l of literals) out = out.split(l).join('[redacted]');
    return out
      .replace(/(authorization:\s*(?:bearer|basic)\s+)\S+/gi, '$1[redacted]')
      .replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]')
      .replace(
        /((?:token|password|passwd|secret|apikey|api-key|api_key)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi,
        '$1[redacted]',
      )
      .replace(/(https?:\/\/)[^/\s:@]+:[^/\s@]+@/gi, '$1[redacted]@');
  };
}

export class HelmClient {
  readonly scrub: (text: string) => string;

  constructor(private readonly opts: HelmClientOptions) {
    this.scrub = scrubber(opts.kubeConfig);
  }

  get timeoutSeconds(): number {
    return this.opts.timeoutSeconds;
  }

  /** Runs helm once in a fresh private folder, removed after; resolves with its exit code and (scrubbed) output. */
  async run(call: HelmCall): Promise<HelmResult> {
    // A span around the helm process (when tracing is on): its subcommand and exit code only, never its arguments.
    return trace.getTracer('kubegraph-helm').startActiveSpan('helm', async (span) => {
      try {
        const result = await this.runUntraced(call);
        if (result.exitCode !== null) span.setAttribute('process.exit.code', result.exitCode);
        if (result.exitCode !== 0) span.setStatus({ code: SpanStatusCode.ERROR });
        return result;
      } catch (e) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw e;
      } finally {
        span.end();
      }
    });
  }

  private async runUntraced(call: HelmCall): Promise<HelmResult> {
    const dir = await mkdtemp(join(tmpdir(), 'kubegraph-helm-'));
    try {
      await chmod(dir, 0o700);
      const home = join(dir, 'home');
      for (const d of ['home', 'cache', 'config', 'data', 'plugins', 'kube-cache'])
        await mkdir(join(dir, d), { mode: 0o700 });
      const kubeconfig = join(dir, 'kubeconfig');
      await writeFile(kubeconfig, kubeconfigDocument(this.opts.kubeConfig), { mode: 0o600 });
      for (const [name, content] of Object.entries(call.files ?? {})) {
        if (!SAFE_FILE.test(name)) throw new Error(`not a plain file name: ${name}`);
        await writeFile(join(dir, name), content, { mode: 0o600 });
      }
      const env: NodeJS.ProcessEnv = {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        HOME: home,
        XDG_CACHE_HOME: join(dir, 'cache'),
        XDG_CONFIG_HOME: join(dir, 'config'),
        XDG_DATA_HOME: join(dir, 'data'),
        HELM_CACHE_HOME: join(dir, 'cache'),
        HELM_CONFIG_HOME: join(dir, 'config'),
        HELM_DATA_HOME: join(dir, 'data'),
        HELM_PLUGINS: join(dir, 'plugins'),
        KUBECONFIG: kubeconfig,
        KUBECACHEDIR: join(dir, 'kube-cache'),
        // Helm checks nothing online by itself; these make sure no proxy of the host's environment is used.
        NO_PROXY: '*',
        no_proxy: '*',
      };
      const args = call.args(dir);
      // The subcommand (install, upgrade, …) names the span; the rest of argv is not recorded.
      if (args[0] && /^[a-z]+$/.test(args[0])) trace.getActiveSpan()?.updateName(`helm ${args[0]}`);
      return await this.spawn(args, env, dir, call.onOutput);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private spawn(
    args: string[],
    env: NodeJS.ProcessEnv,
    cwd: string,
    onOutput?: (text: string) => void,
  ): Promise<HelmResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.opts.helmBin, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let errBytes = 0;
      const scrubDir = (t: string) => this.scrub(t.split(cwd).join('.'));
      child.stdout.on('data', (b: Buffer) => {
        if ((outBytes += b.length) <= MAX_OUTPUT_BYTES) out.push(b);
        onOutput?.(scrubDir(b.toString('utf8')));
      });
      child.stderr.on('data', (b: Buffer) => {
        if ((errBytes += b.length) <= MAX_OUTPUT_BYTES) err.push(b);
        onOutput?.(scrubDir(b.toString('utf8')));
      });
      // helm enforces --timeout itself; this is for a helm that hangs regardless.
      const killer = setTimeout(
        () => {
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        },
        (this.opts.timeoutSeconds + 60) * 1000,
      );
      killer.unref();
      child.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(killer);
        reject(
          e.code === 'ENOENT' || e.code === 'EACCES'
            ? upstreamUnavailable('apps', 'the helm binary cannot be run: run npm run tools, or set HELM_BIN')
            : e,
        );
      });
      child.on('close', (code) => {
        clearTimeout(killer);
        resolve({
          exitCode: code,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8').split(cwd).join('.'),
        });
      });
    });
  }
}
