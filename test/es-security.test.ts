// An external, secured Elasticsearch: the stand-in with TLS (a CA made for the test), basic-auth users and API keys
// answers as Elasticsearch with `xpack.security` on does (401 `security_exception` with the `WWW-Authenticate`
// challenges, as the security reference documents them), and the logging subgraph configured through its own
// variables (ELASTICSEARCH_URL, _USERNAME/_PASSWORD, _API_KEY, _CA_FILE; services/logging/config.ts) searches with
// each. Wrong credentials give a GraphQL error with a code that names no secret, in no error and no log line; a server
// certificate not signed by the given CA is refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/gateway.js';
import { startEs, type EsServer } from '../services/es/server.js';
import { elasticsearchFromEnv } from '../services/logging/config.js';
import { startLoggingSubgraph, type LoggingSubgraph } from '../services/logging/server.js';
import { generateTls } from '../services/sandbox/tls.js';
import { gql } from './harness/graphql.js';
import { STACK_IDENTITY_SECRET, startTestStack, type TestStack } from './harness/stack.js';
import { bulkLoad } from './logging-helpers.js';

const USER = 'kubegraph_reader';
const PASSWORD = 'pw-Secret-4711-do-not-log';
const KEY_ID = 'VuaCfGcBCdbkQm-e5aOx';
const KEY_SECRET = 'ui2lp2axTNmsyakw9tvNnw-do-not-log';
const apiKey = (id: string, secret: string) => Buffer.from(`${id}:${secret}`).toString('base64');
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

let stack: TestStack;
let dir: string;
let plainSecured: EsServer;
let tlsSecured: EsServer;
let loader: EsServer;
let caFile: string;
let otherCaFile: string;
const MARKER = 'secured-cluster-marker-line';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kg-es-security-'));
  const tls = generateTls(['127.0.0.1']);
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, tls.caCert);
  otherCaFile = join(dir, 'other-ca.pem');
  writeFileSync(otherCaFile, generateTls(['127.0.0.1']).caCert);
  const security = { users: { [USER]: PASSWORD }, apiKeys: { [KEY_ID]: KEY_SECRET } };
  tlsSecured = await startEs({ tls: { cert: tls.cert, key: tls.key }, security });
  // The same cluster over plain HTTP, secured (for the wire checks) and open (to load the test's lines).
  plainSecured = await startEs({ cluster: tlsSecured.cluster, security });
  loader = await startEs({ cluster: tlsSecured.cluster });
  stack = await startTestStack({ logging: { shipper: false } });
  // After the stack: lines from before their namespace was created are never shown.
  const now = Date.now();
  await bulkLoad(
    loader.url,
    Array.from({ length: 5 }, (_, i) => ({
      t: now - 1000 * (i + 1),
      namespace: 'shop',
      pod: 'web-0',
      log: `${MARKER} ${i}`,
    })),
  );
}, 180_000);

afterAll(async () => {
  await stack?.close();
  for (const s of [tlsSecured, plainSecured, loader]) await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the secured stand-in on the wire', () => {
  it('answers 401 security_exception with the challenges when credentials are missing', async () => {
    const r = await fetch(`${plainSecured.url}/_search?q=x`);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe(
      'Basic realm="security" charset="UTF-8", Bearer realm="security", ApiKey',
    );
    const challenges = ['Basic realm="security" charset="UTF-8"', 'Bearer realm="security"', 'ApiKey'];
    const reason = 'missing authentication credentials for REST request [/_search?q=x]';
    const cause = { type: 'security_exception', reason, header: { 'WWW-Authenticate': challenges } };
    expect(await r.json()).toEqual({ error: { root_cause: [cause], ...cause }, status: 401 });
  });

  it('names the user, never the password, when the password is wrong', async () => {
    const r = await fetch(`${plainSecured.url}/`, { headers: { authorization: basic(USER, 'wrong-password') } });
    expect(r.status).toBe(401);
    const text = await r.text();
    expect(JSON.parse(text).error.reason).toBe(`unable to authenticate user [${USER}] for REST request [/]`);
    expect(text).not.toContain('wrong-password');
  });

  it('refuses an unknown API key id and a wrong API key secret', async () => {
    for (const [header, detail] of [
      [apiKey('nope', KEY_SECRET), 'API key: unable to find apikey with id nope'],
      [apiKey(KEY_ID, 'bad-secret'), `API key: invalid credentials for API key [${KEY_ID}]`],
    ]) {
      const r = await fetch(`${plainSecured.url}/_count`, { headers: { authorization: `ApiKey ${header}` } });
      expect(r.status).toBe(401);
      const body = (await r.json()) as { error: Record<string, unknown> };
      expect(body.error.type).toBe('security_exception');
      expect(body.error.reason).toBe(
        'unable to authenticate with provided credentials and anonymous access is not allowed for this request',
      );
      expect(body.error.additional_unsuccessful_credentials).toBe(detail);
      expect(JSON.stringify(body)).not.toContain(KEY_SECRET);
    }
  });

  it('lets a good user and a good API key in, and _security/_authenticate says who they are', async () => {
    const asUser = await fetch(`${plainSecured.url}/_security/_authenticate`, {
      headers: { authorization: basic(USER, PASSWORD) },
    });
    expect(asUser.status).toBe(200);
    expect(asUser.headers.get('x-elastic-product')).toBe('Elasticsearch');
    expect(((await asUser.json()) as { username: string }).username).toBe(USER);
    const asKey = await fetch(`${plainSecured.url}/_count`, {
      headers: { authorization: `ApiKey ${apiKey(KEY_ID, KEY_SECRET)}` },
    });
    expect(asKey.status).toBe(200);
    expect(((await asKey.json()) as { count: number }).count).toBe(5);
  });
});

/** Starts the logging subgraph from ELASTICSEARCH_* variables (restored after) and a gateway over it. */
async function withLogging<T>(
  env: Record<string, string>,
  run: (gateway: Gateway, lines: string[]) => Promise<T>,
): Promise<T> {
  const names = ['ELASTICSEARCH_URL', 'ELASTICSEARCH_USERNAME', 'ELASTICSEARCH_PASSWORD', 'ELASTICSEARCH_API_KEY'];
  const saved = Object.fromEntries([...names, 'ELASTICSEARCH_CA_FILE'].map((n) => [n, process.env[n]]));
  const lines: string[] = [];
  const record = (msg: string, fields?: Record<string, unknown>) =>
    lines.push(`${msg} ${JSON.stringify(fields ?? {})}`);
  let logging: LoggingSubgraph | undefined;
  try {
    for (const n of Object.keys(saved)) delete process.env[n];
    Object.assign(process.env, env);
    logging = await startLoggingSubgraph({
      port: 0,
      log: { debug: record, info: record, warn: record, error: record },
      identitySecret: STACK_IDENTITY_SECRET,
      kubeConfig: stack.cluster.kc,
      elasticsearch: elasticsearchFromEnv(),
      timeoutMs: 5000,
      breakerMs: 0,
    });
    const gateway = await stack.startGateway({ subgraphUrls: { logging: logging.url } });
    return await run(gateway, lines);
  } finally {
    await logging?.close();
    for (const [n, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
  }
}

const SEARCH = `{ logs(filter: { namespaces: ["shop"], contains: "${MARKER}" }) { totalCount edges { node { message } } } }`;
type Logs = { logs: { totalCount: number; edges: { node: { message: string } }[] } | null };

describe('the logging subgraph against the secured cluster, configured by its variables', () => {
  const good: [string, () => Record<string, string>][] = [
    ['basic auth', () => ({ ELASTICSEARCH_USERNAME: USER, ELASTICSEARCH_PASSWORD: PASSWORD })],
    ['an API key', () => ({ ELASTICSEARCH_API_KEY: apiKey(KEY_ID, KEY_SECRET) })],
  ];
  it.each(good)('searches over TLS with the CA file and %s', async (_name, creds) => {
    await withLogging({ ELASTICSEARCH_URL: tlsSecured.url, ELASTICSEARCH_CA_FILE: caFile, ...creds() }, async (gw) => {
      const r = await gql<Logs>(gw.url, SEARCH);
      expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
      expect(r.data?.logs?.totalCount).toBe(5);
      expect(r.data?.logs?.edges.every((e) => e.node.message.startsWith(MARKER))).toBe(true);
    });
  });

  const bad: [string, () => Record<string, string>, string, RegExp][] = [
    [
      'a wrong password',
      () => ({ ELASTICSEARCH_USERNAME: USER, ELASTICSEARCH_PASSWORD: 'Wrong-Password-99' }),
      'Wrong-Password-99',
      /401.*unable to authenticate user/,
    ],
    [
      'a wrong API key',
      () => ({ ELASTICSEARCH_API_KEY: apiKey(KEY_ID, 'Wrong-Key-Secret-99') }),
      'Wrong-Key-Secret-99',
      /401.*unable to authenticate/,
    ],
  ];
  it.each(bad)('fails with a coded error naming no secret given %s', async (_name, creds, secret, message) => {
    const env = { ELASTICSEARCH_URL: tlsSecured.url, ELASTICSEARCH_CA_FILE: caFile, ...creds() };
    await withLogging(env, async (gw, lines) => {
      const r = await gql<Logs>(gw.url, SEARCH);
      expect(r.data?.logs?.totalCount ?? 0).toBe(0);
      expect(r.errors?.length).toBeGreaterThan(0);
      const e = r.errors![0]!;
      expect(e.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(e.message).toMatch(message);
      const everything = JSON.stringify(r) + lines.join('\n');
      // The user name may be named; the password, the key and its encoded form never.
      const { ELASTICSEARCH_USERNAME: _user, ...secrets } = creds();
      for (const s of [secret, PASSWORD, KEY_SECRET, ...Object.values(secrets)]) {
        expect(everything).not.toContain(s);
      }
    });
  });

  it('refuses a server certificate not signed by ELASTICSEARCH_CA_FILE', async () => {
    const env = {
      ELASTICSEARCH_URL: tlsSecured.url,
      ELASTICSEARCH_CA_FILE: otherCaFile,
      ELASTICSEARCH_USERNAME: USER,
      ELASTICSEARCH_PASSWORD: PASSWORD,
    };
    const before = tlsSecured.cluster.indices.size;
    await withLogging(env, async (gw, lines) => {
      const r = await gql<Logs>(gw.url, SEARCH);
      expect(r.data?.logs?.totalCount ?? 0).toBe(0);
      expect(r.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(r.errors?.[0]?.message).toMatch(/certificate/i);
      expect(JSON.stringify(r) + lines.join('\n')).not.toContain(PASSWORD);
    });
    expect(tlsSecured.cluster.indices.size).toBe(before);
  });
});
