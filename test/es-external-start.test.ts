// `npm start` with ELASTICSEARCH_URL set (issue 15, section 3): kubegraph uses that cluster — here a secured
// stand-in this test starts on a free loopback port, reached with ELASTICSEARCH_USERNAME/PASSWORD — and starts neither
// the embedded stand-in nor the shipper: nothing listens on the ES_PORT it would have used, no line is written into
// the test's cluster, and log search through the gateway answers from the test's cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEs, type EsServer } from '../services/es/server.js';
import { gql } from './harness/graphql.js';
import { eventually } from './harness/sandbox.js';
import { bulkLoad } from './logging-helpers.js';
import { freePort } from '../services/common/free-port.js';
import { ANY_FREE_PORTS } from './harness/npm-start.js';

const ROOT = resolve(import.meta.dirname, '..');
const ADMIN_PASSWORD = 'es-external-admin-password';
const ES_USER = 'kubegraph';
const ES_PASSWORD = 'es-external-password-77';
const MARKER = 'external-cluster-line';
const STARTUP_MS = 120_000;

let child: ChildProcess;
let dir: string;
let es: EsServer;
let loader: EsServer;
let out = '';
let gatewayUrl: string;
let esPort: number;

/** Whether anything accepts a TCP connection on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((r) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => (sock.destroy(), r(true)));
    sock.once('error', () => r(false));
  });
}

const groupAlive = () => {
  try {
    process.kill(-child.pid!, 0);
    return true;
  } catch {
    return false;
  }
};

/** Documents in the test's cluster, over every index. */
const docCount = () => [...es.cluster.indices.values()].reduce((n, i) => n + i.liveCount, 0);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kg-es-external-'));
  es = await startEs({ security: { users: { [ES_USER]: ES_PASSWORD } } });
  // An open door to the same cluster, for the test's own writes.
  loader = await startEs({ cluster: es.cluster });
  esPort = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k === 'KUBECONFIG' || k === 'NODE_ENV' || k.startsWith('VITEST') || /_(URL|PORT|HOST)$/.test(k)) delete env[k];
    if (/^(SANDBOX|ACCOUNTS|GATEWAY|PROMETHEUS|ELASTICSEARCH|APOLLO)_/.test(k)) delete env[k];
  }
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'KUBEGRAPH_IDENTITY_SECRET', 'LOG_LEVEL']) delete env[k];
  Object.assign(env, {
    ...ANY_FREE_PORTS,
    // A free port: were the embedded stand-in started, it would listen here.
    ES_PORT: String(esPort),
    ACCOUNTS_DATA_DIR: join(dir, 'accounts'),
    APPS_DATA_DIR: join(dir, 'apps'),
    SANDBOX_KUBECONFIG: join(dir, 'kubeconfig'),
    KUBEGRAPH_ADMIN_PASSWORD: ADMIN_PASSWORD,
    ELASTICSEARCH_URL: es.url,
    ELASTICSEARCH_USERNAME: ES_USER,
    ELASTICSEARCH_PASSWORD: ES_PASSWORD,
  });
  child = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  gatewayUrl = await eventually(
    () =>
      out
        .split('\n')
        .map((l) => /^kubegraph: gateway at (\S+)/.exec(l)?.[1])
        .find(Boolean),
    STARTUP_MS,
    'the gateway line',
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${out.slice(-6000)}`);
  });
  await eventually(
    async () => (await fetch(gatewayUrl.replace(/\/graphql$/, '/readyz'))).status === 200,
    60_000,
    'the gateway to be ready',
  );
}, STARTUP_MS + 70_000);

afterAll(async () => {
  if (child && groupAlive()) process.kill(-child.pid!, 'SIGKILL');
  await es?.close();
  await loader?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('npm start with ELASTICSEARCH_URL', () => {
  it('starts neither the embedded stand-in nor the shipper', async () => {
    const lines = out.split('\n').filter((l) => l.startsWith('kubegraph:'));
    expect(lines.some((l) => /logging subgraph at .*\(Elasticsearch http:\/\/127\.0\.0\.1:\d+\)/.test(l))).toBe(true);
    expect(lines.some((l) => /stand-in|shipper/i.test(l))).toBe(false);
    expect(out).not.toContain(ES_PASSWORD);
    expect(await listening(esPort)).toBe(false);
    // The sandbox's containers write lines all the time: a shipper would have sent some by now.
    await new Promise((r) => setTimeout(r, 5000));
    expect(docCount()).toBe(0);
    expect(es.cluster.indices.size).toBe(0);
  });

  it('searches logs in the configured cluster through the gateway', async () => {
    const now = Date.now();
    await bulkLoad(
      loader.url,
      Array.from({ length: 3 }, (_, i) => ({
        t: now - 500 * (i + 1),
        namespace: 'shop',
        pod: 'ext-0',
        log: `${MARKER} ${i}`,
      })),
    );
    const login = await gql<{ login: { accessToken: string } }>(
      gatewayUrl,
      'mutation($p: String!) { login(username: "admin", password: $p) { accessToken } }',
      { p: ADMIN_PASSWORD },
      {},
    );
    expect(login.errors).toBeUndefined();
    const auth = { authorization: `Bearer ${login.data!.login.accessToken}` };
    const r = await gql<{ logs: { totalCount: number; edges: { node: { message: string; podName: string } }[] } }>(
      gatewayUrl,
      `{ logs(filter: { namespaces: ["shop"], contains: "${MARKER}" }) { totalCount edges { node { message podName } } } }`,
      {},
      auth,
    );
    expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    expect(r.data!.logs.totalCount).toBe(3);
    expect(r.data!.logs.edges.map((e) => e.node.message).sort()).toEqual([0, 1, 2].map((i) => `${MARKER} ${i}`));
    // Still only the test's own lines: nothing was shipped meanwhile.
    expect(docCount()).toBe(3);
    expect(await listening(esPort)).toBe(false);
  });
});
