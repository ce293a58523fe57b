// `npm run sandbox` as a user runs it: services/sandbox/main.ts in a child process (through npx tsx, and from a
// `tsc` build), configured by environment variables, and the real kubectl and helm against the kubeconfig it writes,
// over HTTPS and over plain HTTP. Plus who plain HTTP lets in without the token, on an in-process sandbox.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../services/sandbox/sandbox.js';
import { eventually, TOOLS_BIN } from './harness/sandbox.js';

const REPO = resolve(import.meta.dirname, '..');
const run = promisify(execFile);

let dir: string;
const children = new Set<ChildProcess>();
const sandboxes: Sandbox[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kubegraph-sandbox-main-'));
});

afterAll(async () => {
  await Promise.all([...children].map((c) => stopChild(c)));
  await Promise.all(sandboxes.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  /** What the process printed so far. */
  out: { stdout: string; stderr: string };
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
}

/** Starts a command in its own process group (npx → tsx → node: stopChild ends the whole group). */
function start(cmd: string, args: string[], env: Record<string, string>): Started {
  const child = spawn(cmd, args, {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  void exited.then(() => children.delete(child));
  return { child, out, exited };
}

/** SIGTERM to the child's process group (main.ts closes the sandbox and exits), SIGKILL if it is still there after 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** `npm run sandbox`, with a fresh kubeconfig path and a free port; resolves once it says where it listens. */
async function startMain(
  name: string,
  env: Record<string, string> = {},
): Promise<Started & { url: string; printedKubeconfig: string; kubeconfigPath: string }> {
  const kubeconfigPath = join(dir, name, 'kubeconfig');
  const s = start('npx', ['tsx', 'services/sandbox/main.ts'], {
    SANDBOX_PORT: '0',
    SANDBOX_KUBECONFIG: kubeconfigPath,
    ...env,
  });
  return { ...s, ...(await announced(s)), kubeconfigPath };
}

/** Waits for the two lines main.ts prints at start; fails early, with its output, if the process ends instead. */
async function announced(s: Started): Promise<{ url: string; printedKubeconfig: string }> {
  let ended: number | string | undefined;
  void s.exited.then((code) => (ended = code));
  return eventually(
    () => {
      if (ended !== undefined) throw new Error(`exited with ${ended}: ${s.out.stdout}${s.out.stderr}`);
      const url = /^sandbox Kubernetes API server listening on (\S+)$/m.exec(s.out.stdout)?.[1];
      const printedKubeconfig = /^kubeconfig written to (\S+)$/m.exec(s.out.stdout)?.[1];
      return url && printedKubeconfig ? { url, printedKubeconfig } : undefined;
    },
    90_000,
    'the sandbox to print its URL and kubeconfig path',
  );
}

/** kubectl or helm with a kubeconfig file; HOME (caches) under the test's folder. */
async function tool(bin: 'kubectl' | 'helm', args: string[], kubeconfigPath: string): Promise<string> {
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const env = {
    ...process.env,
    HOME: home,
    KUBECONFIG: '',
    HELM_CACHE_HOME: join(home, 'helm-cache'),
    HELM_CONFIG_HOME: join(home, 'helm-config'),
    HELM_DATA_HOME: join(home, 'helm-data'),
  };
  try {
    return (
      await run(join(TOOLS_BIN, bin), [...args, '--kubeconfig', kubeconfigPath], {
        env,
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      })
    ).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${err.stderr || err.message}`, { cause: e });
  }
}

/** `kubectl get pods -A` until the demo cluster's namespaces show up (its pods are created by its controllers). */
async function demoPods(kubeconfigPath: string): Promise<string> {
  return eventually(
    async () => {
      const out = await tool('kubectl', ['get', 'pods', '-A'], kubeconfigPath);
      const namespaces = new Set(
        out
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(/\s+/)[0]),
      );
      return namespaces.has('shop') && namespaces.has('analytics') ? out : undefined;
    },
    60_000,
    "the demo cluster's pods in kubectl get pods -A",
  );
}

interface Answer {
  status: number;
  body: string;
}

/** One GET with node's own clients (no client library in between: exactly the headers given). */
function get(
  url: string,
  opts: { headers?: Record<string, string>; ca?: string; localAddress?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(
      url,
      { headers: opts.headers, ca: opts.ca, localAddress: opts.localAddress, agent: false, timeout: 10_000 },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The server, token and CA a kubeconfig file names. */
function fromKubeconfig(path: string): { server: string; token: string; ca?: string } {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  const cluster = kc.getCurrentCluster()!;
  return {
    server: cluster.server,
    token: kc.getCurrentUser()!.token!,
    ca: cluster.caData ? Buffer.from(cluster.caData, 'base64').toString() : undefined,
  };
}

describe('npm run sandbox (npx tsx services/sandbox/main.ts)', () => {
  it('serves HTTPS by default and writes a 0600 kubeconfig that kubectl uses as is', async () => {
    const s = await startMain('https');
    expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(s.printedKubeconfig).toBe(s.kubeconfigPath);
    expect(statSync(s.kubeconfigPath).mode & 0o777).toBe(0o600);

    const out = await demoPods(s.kubeconfigPath);
    expect(out.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);

    // HTTPS is not weakened: the token is required, from loopback too.
    const { token, ca } = fromKubeconfig(s.kubeconfigPath);
    expect(ca).toBeDefined();
    expect((await get(`${s.url}/api/v1/namespaces`, { ca })).status).toBe(401);
    expect(
      (await get(`${s.url}/api/v1/namespaces`, { ca, headers: { Authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
    await stopChild(s.child);
  }, 150_000);

  it('with SANDBOX_TLS=false serves plain HTTP that kubectl and helm use with the same kubeconfig', async () => {
    const s = await startMain('http', { SANDBOX_TLS: 'false' });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s.out.stdout).toMatch(/plain HTTP: requests from loopback addresses need no token/);
    expect(statSync(s.kubeconfigPath).mode & 0o777).toBe(0o600);

    await demoPods(s.kubeconfigPath);
    const helm = await tool('helm', ['list', '-A'], s.kubeconfigPath);
    expect(helm.split('\n')[0]).toMatch(/^NAME\s+NAMESPACE\s+REVISION\s+UPDATED\s+STATUS\s+CHART\s+APP VERSION/);

    // @kubernetes/client-node sends the kubeconfig's token over http; it is still checked.
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(s.kubeconfigPath);
    const namespaces = await kc.makeApiClient(k8s.CoreV1Api).listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(['shop', 'analytics']));
    expect((await get(`${s.url}/api/v1/namespaces`, { headers: { Authorization: 'Bearer wrong-token' } })).status).toBe(
      401,
    );
    await stopChild(s.child);
  }, 150_000);

  it('with SANDBOX_PODS=300 runs 300 pods over SANDBOX_PODS/100 nodes', async () => {
    const s = await startMain('sized', { SANDBOX_PODS: '300' });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(s.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const { pods, nodes } = await eventually(
      async () => {
        const pods = (await core.listPodForAllNamespaces()).items;
        const running = pods.filter((p) => p.status?.phase === 'Running');
        return running.length === 300 ? { pods: running, nodes: (await core.listNode()).items } : undefined;
      },
      60_000,
      '300 running pods',
    );
    expect(nodes.map((n) => n.metadata?.name).sort()).toHaveLength(3);
    const perNode = new Map<string, number>();
    for (const p of pods) perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
    expect([...perNode.keys()].sort()).toEqual(nodes.map((n) => n.metadata!.name!).sort());
    expect([...perNode.values()]).toEqual([100, 100, 100]);
    await stopChild(s.child);
  }, 150_000);

  it('stops at a bad variable with a message naming it', async () => {
    const s = start('npx', ['tsx', 'services/sandbox/main.ts'], {
      SANDBOX_PORT: 'abc',
      SANDBOX_KUBECONFIG: join(dir, 'bad', 'kubeconfig'),
    });
    const code = await Promise.race([
      s.exited,
      new Promise<string>((r) => setTimeout(() => r('still running after 60 s'), 60_000).unref()),
    ]);
    expect(code).not.toBe(0);
    expect(typeof code).toBe('number');
    expect(s.out.stderr).toMatch(/SANDBOX_PORT="abc"/);
    expect(s.out.stdout).not.toMatch(/listening on/);
  }, 150_000);
});

describe('the build (npm run build: scripts/build.mjs)', () => {
  it('runs the sandbox from the built output with node', async () => {
    const out = join(dir, 'build');
    await run(process.execPath, ['scripts/build.mjs', '--outdir', out], {
      cwd: REPO,
      timeout: 170_000,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`the build failed: ${e.stderr || e.stdout || e.message}`);
    });
    // What dist/ has in the image's /app: the package's "type": "module" and node_modules beside it.
    cpSync(join(REPO, 'package.json'), join(out, 'package.json'));
    symlinkSync(join(REPO, 'node_modules'), join(out, 'node_modules'), 'dir');

    const kubeconfigPath = join(dir, 'build-run', 'kubeconfig');
    const s = start('node', [join(out, 'services/sandbox/main.js')], {
      SANDBOX_PORT: '0',
      SANDBOX_KUBECONFIG: kubeconfigPath,
    });
    const { url } = await announced(s);
    const { token, ca } = fromKubeconfig(kubeconfigPath);
    const version = await get(`${url}/version`, { ca, headers: { Authorization: `Bearer ${token}` } });
    expect(version.status).toBe(200);
    expect(JSON.parse(version.body)).toMatchObject({ major: '1', gitVersion: expect.stringMatching(/^v1\./) });
    await stopChild(s.child);
  }, 240_000);
});

describe('plain HTTP without the token', () => {
  const nonLoopback = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

  it('is served from loopback only: a wrong token and other addresses still get 401', async () => {
    const sandbox = await startSandbox({
      port: 0,
      tls: false,
      host: '0.0.0.0',
      seed: { kind: 'empty', nodes: 1 },
      controllers: false,
    });
    sandboxes.push(sandbox);
    const path = `/api/v1/nodes`;
    expect((await get(`http://127.0.0.1:${sandbox.port}${path}`)).status).toBe(200);
    expect(
      (await get(`http://127.0.0.1:${sandbox.port}${path}`, { headers: { Authorization: `Bearer ${sandbox.token}` } }))
        .status,
    ).toBe(200);
    expect(
      (await get(`http://127.0.0.1:${sandbox.port}${path}`, { headers: { Authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    if (nonLoopback) {
      // A caller on another address (this machine's own, seen by the server as non-loopback) needs the token.
      const remote = `http://${nonLoopback}:${sandbox.port}${path}`;
      expect((await get(remote, { localAddress: nonLoopback })).status).toBe(401);
      expect(
        (await get(remote, { localAddress: nonLoopback, headers: { Authorization: `Bearer ${sandbox.token}` } }))
          .status,
      ).toBe(200);
    }
  });

  it('is refused over HTTPS, from loopback too', async () => {
    const sandbox = await startSandbox({ port: 0, seed: { kind: 'empty', nodes: 1 }, controllers: false });
    sandboxes.push(sandbox);
    const ca = fromKubeconfigString(sandbox.kubeconfig);
    expect((await get(`${sandbox.url}/api/v1/nodes`, { ca })).status).toBe(401);
    expect(
      (await get(`${sandbox.url}/api/v1/nodes`, { ca, headers: { Authorization: `Bearer ${sandbox.token}` } })).status,
    ).toBe(200);
  });
});

function fromKubeconfigString(yaml: string): string {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(yaml);
  return Buffer.from(kc.getCurrentCluster()!.caData!, 'base64').toString();
}
