// `npm start` with ELASTICSEARCH_URL set (issue 15, section 3): kubegraph uses that cluster — here a secured
// stand-in this test starts on a free loopback port, reached with ELASTICSEARCH_USERNAME/PASSWORD — and starts neither
// the embedded stand-in nor the shipper: nothing listens on the ES_PORT it would have used, no line is written into
// the test's cluster, and log search through the gateway answers from the test's cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEs, type EsServer } from '../services/es/server.js';
import { gql } from './harness/graphql.js';
import { bulkLoad } from './logging-helpers.js';
import { freePort } from '../services/common/free-port.js';
import { adminToken, npmStartEnv, readyGateway, spawnNpmStart, type NpmStart } from './harness/npm-start.js';

const ADMIN_PASSWORD = 'es-external-admin-password';
const ES_USER = 'kubegraph';
const ES_PASSWORD = 'es-external-password-77';
const MARKER = 'external-cluster-line';
const STARTUP_MS = 120_000;

let kubegraph: NpmStart;
let dir: string;
let es: EsServer;
let loader: EsServer;
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

/** Documents in the test's cluster, over every index. */
const docCount = () => [...es.cluster.indices.values()].reduce((n, i) => n + i.liveCount, 0);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kg-es-external-'));
  es = await startEs({ security: { users: { [ES_USER]: ES_PASSWORD } } });
  // An open door to the same cluster, for the test's own writes.
  loader = await startEs({ cluster: es.cluster });
  esPort = await freePort();
  const env = npmStartEnv(dir, ADMIN_PASSWORD, {
    // A free port: were the embedded stand-in started, it would listen here.
    ES_PORT: String(esPort),
    ELASTICSEARCH_URL: es.url,
    ELASTICSEARCH_USERNAME: ES_USER,
    ELASTICSEARCH_PASSWORD: ES_PASSWORD,
  });
  kubegraph = spawnNpmStart(env);
  gatewayUrl = await readyGateway(kubegraph, STARTUP_MS);
}, STARTUP_MS + 70_000);

afterAll(async () => {
  kubegraph?.killGroup();
  await es?.close();
  await loader?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('npm start with ELASTICSEARCH_URL', () => {
  it('starts neither the embedded stand-in nor the shipper', async () => {
    const lines = kubegraph.lines();
    expect(lines.some((l) => /logging subgraph at .*\(Elasticsearch http:\/\/127\.0\.0\.1:\d+\)/.test(l))).toBe(true);
    expect(lines.some((l) => /stand-in|shipper/i.test(l))).toBe(false);
    expect(kubegraph.output()).not.toContain(ES_PASSWORD);
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
    const auth = { authorization: `Bearer ${await adminToken(gatewayUrl, ADMIN_PASSWORD)}` };
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
