// kubegraph as `npm start` runs it, for the tests that start the whole of it in a child process: a developer's
// environment, the spawn, and the wait for a ready gateway.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { gql } from './graphql.js';
import { eventually } from './sandbox.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** How long start.ts may take to print the gateway's line (it starts the sandbox, Prometheus and every subgraph). */
const STARTUP_MS = 120_000;

/**
 * Every port `npm start` listens on, as 0 (any free port): a test or benchmark that starts kubegraph must collide
 * neither with another one running in parallel nor with a kubegraph started by hand. Spread it into the child's
 * environment, then name the ports the caller must know (the gateway's, usually).
 */
export const ANY_FREE_PORTS = {
  GATEWAY_PORT: '0',
  ACCOUNTS_PORT: '0',
  WORKLOADS_PORT: '0',
  MONITORING_PORT: '0',
  SANDBOX_PORT: '0',
  LOGGING_PORT: '0',
  APPS_PORT: '0',
  ES_PORT: '0',
} as const;

/**
 * The environment of a developer's shell: no cluster, no URL or port of any system, none of kubegraph's variables
 * (nor Apollo's or OpenTelemetry's: a test sets those itself where it means them), and not under a test runner
 * (NODE_ENV=test would also turn off the Apollo Server signal handlers that `npm start` must live with).
 */
export function developerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const ours =
    /^(SANDBOX|ACCOUNTS|WORKLOADS|MONITORING|LOGGING|APPS|GATEWAY|PROMETHEUS|ELASTICSEARCH|ES|REDIS|KUBEGRAPH|APOLLO|OTEL)_/;
  for (const k of Object.keys(env)) {
    if (k === 'KUBECONFIG' || k === 'NODE_ENV' || k.startsWith('VITEST') || /_(URL|PORT|HOST)$/.test(k)) delete env[k];
    if (ours.test(k) || k === 'LOG_LEVEL' || k === 'METRICS_TOKEN') delete env[k];
  }
  return env;
}

/**
 * The environment of a test's `npm start`: a developer's shell, every port free, kubegraph's data in the test's folder
 * `dir` (its own apps database too: two npm starts in parallel test files must not share one embedded PGlite), the
 * admin's password, then the test's own variables.
 */
export function npmStartEnv(dir: string, adminPassword: string, own: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...developerEnv(),
    ...ANY_FREE_PORTS,
    ACCOUNTS_DATA_DIR: join(dir, 'accounts'),
    APPS_DATA_DIR: join(dir, 'apps'),
    SANDBOX_KUBECONFIG: join(dir, 'kubeconfig'),
    KUBEGRAPH_ADMIN_PASSWORD: adminPassword,
    ...own,
  };
}

/** A kubegraph running in a child process group. */
export interface NpmStart {
  readonly child: ChildProcess;
  /** Its stdout and stderr so far, in the order they came. */
  output(): string;
  /** start.ts's own lines (`kubegraph: …`) so far. */
  lines(): string[];
  /** Whether any process of its group (npm, sh, node, prometheus…) is still alive. */
  groupAlive(): boolean;
  /** SIGKILL to every process of its group that is still alive: the cleanup of last resort. */
  killGroup(): void;
}

/**
 * Starts `command` (`npm start` unless told; `[process.execPath, 'scripts/start.mjs', 'services/start.ts']` is its
 * command without npm) in the repository with env, as its own process group so that a test can always stop all of it.
 */
export function spawnNpmStart(env: NodeJS.ProcessEnv, command: readonly string[] = ['npm', 'start']): NpmStart {
  const [file, ...args] = command;
  const child = spawn(file!, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const groupAlive = () => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    child,
    output: () => out,
    lines: () => out.split('\n').filter((l) => l.startsWith('kubegraph:')),
    groupAlive,
    killGroup: () => {
      if (groupAlive()) process.kill(-child.pid!, 'SIGKILL');
    },
  };
}

/**
 * The gateway's URL, once start.ts has printed it and its /readyz answers 200. Fails with the end of the output if
 * that takes too long, and at once if the process exits before.
 */
export async function readyGateway(k: NpmStart, startupMs = STARTUP_MS): Promise<string> {
  const withOutput = (message: string) => new Error(`${message}\n${k.output().slice(-6000)}`);
  let onExit: (code: number | null) => void = () => {};
  const exited = new Promise<never>((_, reject) => {
    onExit = (code) => reject(withOutput(`npm start exited (${code}) before its gateway was ready`));
    if (k.child.exitCode !== null) onExit(k.child.exitCode);
    else k.child.once('exit', onExit);
  });
  const ready = (async () => {
    const url = await eventually(
      () =>
        k
          .lines()
          .map((l) => /^kubegraph: gateway at (\S+)/.exec(l)?.[1])
          .find(Boolean),
      startupMs,
      'the gateway line',
    );
    await eventually(
      async () => (await fetch(url.replace(/\/graphql$/, '/readyz'))).status === 200,
      60_000,
      'the gateway to be ready',
    );
    return url;
  })().catch((e: Error) => {
    throw withOutput(e.message);
  });
  try {
    return await Promise.race([ready, exited]);
  } finally {
    k.child.off('exit', onExit);
    exited.catch(() => {});
  }
}

/** The bearer token of the admin user, whose password npm start was given in KUBEGRAPH_ADMIN_PASSWORD. */
export async function adminToken(gatewayUrl: string, password: string): Promise<string> {
  const login = await gql<{ login: { accessToken: string } }>(
    gatewayUrl,
    'mutation($p: String!) { login(username: "admin", password: $p) { accessToken } }',
    { p: password },
    {},
  );
  if (login.errors) throw new Error(`login as admin failed: ${JSON.stringify(login.errors)}`);
  return login.data!.login.accessToken;
}
