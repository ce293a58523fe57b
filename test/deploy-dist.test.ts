// The container image's way of running kubegraph, without a container runtime (issue 18 §2): `npm run build`, then a
// folder laid out as the Dockerfile's /app (package.json, production dependencies only from `npm ci --omit=dev`,
// dist/, deploy/healthcheck.mjs), and every service that exists started there with the Dockerfile's ENTRYPOINT and
// the command docker-compose.yml gives it. Each answers /healthz (checked by the image's HEALTHCHECK script, finding
// the service from the process as in a container), the gateway answers a login and a federated query, and SIGTERM
// (what `docker stop` sends) ends every service cleanly with exit code 0. The ENTRYPOINT's tracing preload, built into
// dist/, sends each service's spans to an OTLP receiver on loopback given as compose gives Jaeger's endpoint: the
// federated query is one trace across the gateway and the subgraphs it asked, each under its own service name.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBGRAPHS } from '../gateway/subgraphs.js';
import {
  ROOT,
  composeKubegraphServices,
  entryOf,
  envExample,
  existingServices,
  readCompose,
  readDockerfile,
} from './harness/deploy.js';
import { startOtlpReceiver, type OtlpReceiver } from './harness/otlp-receiver.js';
import { eventually, startTestSandbox, TOOLS_BIN, type TestSandbox } from './harness/sandbox.js';
import { freePort } from '../services/common/free-port.js';

const run = promisify(execFile);
const services = existingServices();
const image = readDockerfile();
const compose = readCompose(envExample());
const composeNames = new Map([...composeKubegraphServices(compose)].map(([name, service]) => [service, name]));
const secrets = envExample();

interface Running {
  child: ChildProcess;
  exit: Promise<number | null>;
  output: () => string;
  port: number;
}

let sandbox: TestSandbox;
let receiver: OtlpReceiver;
let app: string;
const running = new Map<string, Running>();

/** The command the image runs for a service: the Dockerfile's ENTRYPOINT and the compose service's command. */
function commandOf(service: string): string[] {
  const command = compose.services[composeNames.get(service)!].command as string[];
  return [...image.entrypoint, ...command];
}

beforeAll(async () => {
  await run('npm', ['run', 'build'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  await run(process.execPath, [join(ROOT, 'scripts/unpack-tools.mjs')]);
  // The image's /app: package.json, production dependencies (the deps stage's `npm ci --omit=dev`, from npm's
  // cache: the test reaches no registry), dist/ from the build stage, the healthcheck script.
  app = mkdtempSync(join(tmpdir(), 'kubegraph-image-'));
  for (const f of ['package.json', 'package-lock.json', '.npmrc']) cpSync(join(ROOT, f), join(app, f));
  await run('npm', ['ci', '--omit=dev', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: app,
    maxBuffer: 64 * 1024 * 1024,
  });
  cpSync(join(ROOT, 'dist'), join(app, 'dist'), { recursive: true });
  mkdirSync(join(app, 'deploy'));
  cpSync(join(ROOT, 'deploy/healthcheck.mjs'), join(app, 'deploy/healthcheck.mjs'));
  sandbox = await startTestSandbox({ seed: { kind: 'demo' } });
  receiver = await startOtlpReceiver();
}, 600_000);

// The image folder holds a whole node_modules: removing it takes a while on a busy disk.
afterAll(async () => {
  for (const r of running.values()) r.child.kill('SIGKILL');
  await sandbox?.close();
  await receiver?.close();
  if (app) await rm(app, { recursive: true, force: true });
}, 300_000);

describe('the image layout (built dist/, production dependencies only)', () => {
  it('has no dev dependency: tsx, vitest and typescript are absent, every entry point is built', () => {
    for (const dev of ['tsx', 'vitest', 'typescript', 'dclint'])
      expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    for (const service of services) expect(existsSync(join(app, entryOf(service))), entryOf(service)).toBe(true);
    // The compose file and the image agree on each service's entry point.
    for (const service of services) expect(commandOf(service).at(-1)).toBe(entryOf(service));
    expect(image.cmd).toEqual([entryOf('gateway')]);
  });

  it('starts every service with the commands the image runs, each healthy by the image HEALTHCHECK', async () => {
    const ports = new Map<string, number>();
    for (const service of services) ports.set(service, await freePort());
    const url = (service: string) => `http://127.0.0.1:${ports.get(service)}/graphql`;
    const accountsData = join(app, '.data');
    for (const service of ['accounts', ...services.filter((s) => s !== 'accounts' && s !== 'gateway'), 'gateway']) {
      const upper = service.toUpperCase();
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        // The image's environment, with the addresses kept on loopback here and the helm binary of this checkout.
        ...image.env,
        [`${upper}_HOST`]: '127.0.0.1',
        [`${upper}_PORT`]: String(ports.get(service)),
        HELM_BIN: join(TOOLS_BIN, 'helm'),
        HOME: app,
        KUBECONFIG: sandbox.kubeconfigPath,
        LOG_LEVEL: 'info',
        KUBEGRAPH_IDENTITY_SECRET: secrets.KUBEGRAPH_IDENTITY_SECRET,
        ACCOUNTS_INTERNAL_TOKEN: secrets.ACCOUNTS_INTERNAL_TOKEN,
        KUBEGRAPH_ADMIN_PASSWORD: secrets.KUBEGRAPH_ADMIN_PASSWORD,
        ACCOUNTS_DATA_DIR: accountsData,
        ACCOUNTS_URL: url('accounts'),
        // The tracing variables compose gives every service, the endpoint this test's receiver instead of Jaeger.
        ...Object.fromEntries(
          Object.entries(compose.services[composeNames.get(service)!].environment ?? {})
            .filter(([k]) => k.startsWith('OTEL_'))
            .map(([k, v]) => [k, String(v)]),
        ),
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '200',
      };
      if (service === 'gateway')
        for (const [name, { env: variable }] of Object.entries(SUBGRAPHS))
          if (ports.has(name)) env[variable] = url(name);
      const [node, ...args] = commandOf(service);
      expect(node).toBe('node');
      const child = spawn(process.execPath, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
      child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
      const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      running.set(service, { child, exit, output: () => out, port: ports.get(service)! });
      // The image's HEALTHCHECK, pointed at this process instead of PID 1; a service that exits fails at once.
      const healthy = eventually(
        async () => {
          try {
            await run(process.execPath, [join(app, image.healthcheck[1]), '--pid', String(child.pid)], { cwd: app });
            return true;
          } catch {
            return undefined;
          }
        },
        90_000,
        `${service} healthy`,
      );
      const exited = exit.then((code) => {
        throw new Error(`${service} exited with ${code}`);
      });
      await Promise.race([healthy, exited]).catch((e: Error) => {
        throw new Error(`${e.message}\n${out}`);
      });
      exited.catch(() => {});
      const res = await fetch(`http://127.0.0.1:${ports.get(service)}/healthz`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect([...running.keys()].sort()).toEqual([...services].sort());
  }, 400_000);

  it('the gateway from dist/ is ready, logs the admin in and answers a federated query', async () => {
    const gateway = `http://127.0.0.1:${running.get('gateway')!.port}`;
    await eventually(
      async () => {
        const r = await fetch(`${gateway}/readyz`);
        await r.arrayBuffer();
        return r.status === 200 || undefined;
      },
      90_000,
      'gateway ready',
    );
    const post = async <T>(query: string, variables: Record<string, unknown>, token?: string) => {
      const res = await fetch(`${gateway}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as { data?: T; errors?: unknown[] };
    };
    const login = await post<{ login: { accessToken: string } }>(
      'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }',
      { u: 'admin', p: secrets.KUBEGRAPH_ADMIN_PASSWORD },
    );
    expect(login.errors).toBeUndefined();
    const token = login.data!.login.accessToken;
    // workloads' projects with accounts' workspace on each: one query across two subgraphs.
    const answer = await post<{
      me: { username: string };
      projects: { edges: { node: { name: string } }[] };
    }>('query { me { username } projects(first: 10) { edges { node { name workspace { name } } } } }', {}, token);
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.me.username).toBe('admin');
    const projects = (
      answer.data!.projects.edges as { node: { name: string; workspace: { name: string } | null } }[]
    ).map((e) => e.node);
    expect(projects.map((p) => p.name)).toContain('shop');

    // One trace: the gateway's request (root), and the server spans of accounts and workloads under it.
    const trace = await eventually(
      () => {
        const root = receiver.spans.find(
          (s) => s.service === 'kubegraph-gateway' && s.parentSpanId === '' && s.name === 'graphql query',
        );
        if (!root) return undefined;
        const services = new Set(receiver.spans.filter((s) => s.traceId === root.traceId).map((s) => s.service));
        return services.has('kubegraph-accounts') && services.has('kubegraph-workloads') ? services : undefined;
      },
      30_000,
      'the federated query as one trace across three services',
    );
    expect([...trace].sort()).toEqual(['kubegraph-accounts', 'kubegraph-gateway', 'kubegraph-workloads']);
  }, 120_000);

  it('SIGTERM (docker stop) ends every service cleanly with exit code 0', async () => {
    for (const service of ['gateway', ...services.filter((s) => s !== 'gateway')]) {
      const r = running.get(service)!;
      r.child.kill('SIGTERM');
      expect(await r.exit, `${service}:\n${r.output()}`).toBe(0);
      running.delete(service);
    }
  }, 120_000);
});
