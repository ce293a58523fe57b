// Services run on their own (issue 13, section 2): accounts started alone (services/accounts/main.ts, the
// multi-process deployment) refuses to start without ACCOUNTS_INTERNAL_TOKEN, and with it /internal/* wants it;
// METRICS_TOKEN guards /metrics of every service (the shared HTTP bootstrap), validated at start.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, metricsTokenFromEnv } from '../services/common/config.js';
import { closeServer, createMetricsRegistry, createServiceHttpServer, listen } from '../services/common/http.js';
import { eventually } from './harness/sandbox.js';

const ROOT = resolve(import.meta.dirname, '..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs services/accounts/main.ts as its own process; resolves with its exit code and output, or the running child. */
function runAccounts(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'kubegraph-accounts-alone-'));
  dirs.push(dir);
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(base))
    if (k.startsWith('ACCOUNTS_') || k.startsWith('KUBEGRAPH_') || k === 'DATABASE_URL' || k === 'METRICS_TOKEN')
      delete base[k];
  // No cluster: a kubeconfig naming a closed loopback port (the namespace watch just retries).
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: none, cluster: { server: "http://127.0.0.1:1" } }]',
      'users: [{ name: none, user: {} }]',
      'contexts: [{ name: none, context: { cluster: none, user: none } }]',
      'current-context: none',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/accounts/main.ts'], {
    cwd: ROOT,
    env: {
      ...base,
      ACCOUNTS_PORT: '0',
      ACCOUNTS_DATA_DIR: join(dir, 'data'),
      KUBECONFIG: kubeconfig,
      KUBEGRAPH_IDENTITY_SECRET: 'accounts-alone-identity-secret',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exit, output: () => out };
}

describe('accounts started alone', () => {
  it('refuses to start without ACCOUNTS_INTERNAL_TOKEN, naming it', async () => {
    const run = runAccounts({});
    expect(await run.exit).toBe(2);
    expect(run.output()).toMatch(/configuration error: ACCOUNTS_INTERNAL_TOKEN is not set/);
    expect(run.output()).not.toMatch(/listening/);
  }, 60_000);

  it('refuses a token shorter than 16 characters', async () => {
    const run = runAccounts({ ACCOUNTS_INTERNAL_TOKEN: 'short' });
    expect(await run.exit).toBe(2);
    expect(run.output()).toMatch(/ACCOUNTS_INTERNAL_TOKEN must be at least 16 characters/);
  }, 60_000);

  it('with it, starts and /internal/* answers only with the token', async () => {
    const token = 'accounts-alone-internal-token';
    const run = runAccounts({ ACCOUNTS_INTERNAL_TOKEN: token });
    try {
      const url = await eventually(
        () => /"url":"(http:\/\/127\.0\.0\.1:\d+)\/graphql"/.exec(run.output())?.[1],
        60_000,
        'accounts to listen',
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${run.output()}`);
      });
      const without = await fetch(`${url}/internal/bindings-revision`);
      await without.arrayBuffer();
      expect(without.status).toBe(401);
      const withToken = await fetch(`${url}/internal/bindings-revision`, {
        headers: { authorization: `Bearer ${token}` },
      });
      await withToken.arrayBuffer();
      expect(withToken.status).toBe(200);
    } finally {
      run.child.kill('SIGTERM');
      await run.exit;
    }
  }, 90_000);
});

describe('METRICS_TOKEN', () => {
  async function serve(metricsToken?: string | null) {
    const apollo = new ApolloServer({
      typeDefs: 'type Query { ok: Boolean }',
      resolvers: { Query: { ok: () => true } },
    });
    await apollo.start();
    const server = createServiceHttpServer({
      apollo,
      context: async () => ({}),
      ready: () => true,
      metrics: createMetricsRegistry('test'),
      metricsToken,
    });
    const port = await listen(server, 0);
    return { base: `http://127.0.0.1:${port}`, close: async () => (await closeServer(server), await apollo.stop()) };
  }
  const status = async (url: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    return { status: res.status, auth: res.headers.get('www-authenticate') };
  };

  it('when set, /metrics wants Authorization: Bearer <it>; /healthz and /readyz stay open', async () => {
    const s = await serve('a-metrics-token-of-some-length');
    try {
      expect(await status(`${s.base}/metrics`)).toEqual({ status: 401, auth: 'Bearer realm="metrics"' });
      expect((await status(`${s.base}/metrics`, { authorization: 'Bearer wrong' })).status).toBe(401);
      expect((await status(`${s.base}/metrics`, { authorization: 'a-metrics-token-of-some-length' })).status).toBe(401);
      expect(
        (await status(`${s.base}/metrics`, { authorization: 'Bearer a-metrics-token-of-some-length' })).status,
      ).toBe(200);
      expect((await status(`${s.base}/healthz`)).status).toBe(200);
      expect((await status(`${s.base}/readyz`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('unset, /metrics is open (a private network)', async () => {
    const s = await serve(null);
    try {
      expect((await status(`${s.base}/metrics`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('is read from the environment and validated, naming the variable', () => {
    const saved = process.env.METRICS_TOKEN;
    try {
      delete process.env.METRICS_TOKEN;
      expect(metricsTokenFromEnv()).toBeUndefined();
      process.env.METRICS_TOKEN = 'long-enough-metrics-token';
      expect(metricsTokenFromEnv()).toBe('long-enough-metrics-token');
      process.env.METRICS_TOKEN = 'short';
      expect(() => metricsTokenFromEnv()).toThrow(ConfigError);
      expect(() => metricsTokenFromEnv()).toThrow(/METRICS_TOKEN/);
    } finally {
      if (saved === undefined) delete process.env.METRICS_TOKEN;
      else process.env.METRICS_TOKEN = saved;
    }
  });
});
