// Starts a sandbox cluster for a test file and hands out real clients for it: @kubernetes/client-node over HTTPS,
// and the kubectl and helm binaries (unpacked by `npm run tools`) with a kubeconfig file.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../services/sandbox/sandbox.js';

export const TOOLS_BIN = resolve(import.meta.dirname, '../../.tools/bin');

export interface TestSandbox {
  sandbox: Sandbox;
  kc: k8s.KubeConfig;
  kubeconfigPath: string;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  batch: k8s.BatchV1Api;
  objects: k8s.KubernetesObjectApi;
  /** Runs kubectl against this sandbox; resolves with stdout, rejects with stderr on a non-zero exit. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Runs kubectl and reports its exit code and both streams (stderr only on failure), for commands expected to fail. */
  kubectlResult(args: string[], opts?: { input?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  helm(args: string[], opts?: { timeoutMs?: number }): Promise<string>;
  /** Starts kubectl in the background (for `logs -f`, `get -w`). */
  spawnKubectl(args: string[]): ChildProcess;
  close(): Promise<void>;
}

const run = promisify(execFile);

export async function startTestSandbox(opts: SandboxOptions = {}): Promise<TestSandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'kubegraph-sandbox-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const sandbox = await startSandbox({
    port: 0,
    speed: 10,
    seed: { kind: 'empty', nodes: 3 },
    ...opts,
    kubeconfigPath,
  });
  writeFileSync(kubeconfigPath, sandbox.kubeconfig);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(sandbox.kubeconfig);
  // kubectl and helm keep caches and config under HOME; each test file gets its own.
  const env = {
    ...process.env,
    HOME: dir,
    KUBECONFIG: kubeconfigPath,
    HELM_CACHE_HOME: join(dir, 'helm-cache'),
    HELM_CONFIG_HOME: join(dir, 'helm-config'),
    HELM_DATA_HOME: join(dir, 'helm-data'),
  };
  const tool =
    (bin: string) =>
    async (args: string[], o: { input?: string; timeoutMs?: number } = {}) => {
      const child = run(join(TOOLS_BIN, bin), args, {
        env,
        timeout: o.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      if (o.input !== undefined) {
        child.child.stdin?.end(o.input);
      }
      try {
        return (await child).stdout;
      } catch (e) {
        const err = e as { stderr?: string; stdout?: string; message: string };
        throw new Error(`${bin} ${args.join(' ')} failed: ${err.stderr || err.message}`, { cause: e });
      }
    };
  const kubectl = tool('kubectl');
  return {
    sandbox,
    kc,
    kubeconfigPath,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
    kubectl,
    async kubectlResult(args, opts = {}) {
      try {
        return { code: 0, stdout: await kubectl(args, opts), stderr: '' };
      } catch (e) {
        const cause = (e as Error).cause as { code?: number; stdout?: string; stderr?: string } | undefined;
        if (typeof cause?.code !== 'number') throw e;
        return { code: cause.code, stdout: cause.stdout ?? '', stderr: cause.stderr ?? '' };
      }
    },
    helm: tool('helm'),
    spawnKubectl: (args) => spawn(join(TOOLS_BIN, 'kubectl'), args, { env, stdio: ['ignore', 'pipe', 'pipe'] }),
    async close() {
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value that is not undefined/false, or throws after the timeout. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
