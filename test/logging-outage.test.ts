// Elasticsearch down, slow or not configured: the logging fields answer UPSTREAM_UNAVAILABLE naming the service (and
// ELASTICSEARCH_URL when it is unset) while every other field of the same response still answers; the export says
// so with 503. The client under load: at most N requests in flight with a bounded queue, identical concurrent
// requests sent once.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/gateway.js';
import { ElasticsearchClient } from '../services/logging/clients/elasticsearch.js';
import { startLoggingSubgraph, type LoggingSubgraph } from '../services/logging/server.js';
import { gql } from './harness/graphql.js';
import { quietLogger, STACK_IDENTITY_SECRET, startTestStack, type TestStack } from './harness/stack.js';
import { serveOnLoopback } from './harness/proxy.js';

/** A loopback server answering like Elasticsearch after `delayMs` (never when Infinity), counting requests. */
async function fakeEs(delayMs: number): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url} ${body}`);
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
        res.end(
          req.url === '/'
            ? JSON.stringify({
                version: { number: '8.15.0', build_flavor: 'default' },
                tagline: 'You Know, for Search',
              })
            : JSON.stringify({ hits: { total: { value: 0, relation: 'eq' }, hits: [] } }),
        );
      };
      if (req.url === '/' || Number.isFinite(delayMs)) setTimeout(answer, req.url === '/' ? 0 : delayMs);
    });
  });
  return { ...(await serveOnLoopback(server)), requests };
}

/** A loopback port with nothing listening on it (a server started and closed). */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ logging: { shipper: false } });
}, 180_000);
afterAll(async () => {
  await stack?.close();
});

const MIXED = `{
  pods(namespace: "shop", first: 1) { totalCount }
  logs(filter: { namespaces: ["shop"] }) { totalCount edges { cursor } }
  logHistogram(filter: { namespaces: ["shop"] }) { total buckets { count } }
  logStatistics { lines }
}`;

describe('Elasticsearch unavailable', () => {
  const cases: [string, () => Promise<{ url?: string; close?: () => Promise<void> }>, RegExp][] = [
    ['not configured', async () => ({}), /ELASTICSEARCH_URL/],
    ['down', async () => ({ url: await deadUrl() }), /cannot be reached|unavailable/],
    [
      'slow',
      async () => {
        const es = await fakeEs(Infinity);
        return { url: es.url, close: es.close };
      },
      /did not answer within 300 ms|unavailable/,
    ],
  ];
  it.each(cases)(
    '%s: logging fields fail with UPSTREAM_UNAVAILABLE, the rest answers',
    async (_name, make, message) => {
      const es = await make();
      let logging: LoggingSubgraph | undefined;
      let gateway: Gateway | undefined;
      try {
        logging = await startLoggingSubgraph({
          port: 0,
          log: quietLogger,
          identitySecret: STACK_IDENTITY_SECRET,
          kubeConfig: stack.cluster.kc,
          elasticsearch: es.url ? { url: es.url } : undefined,
          timeoutMs: 300,
        });
        gateway = await stack.startGateway({ subgraphUrls: { logging: logging.url } });
        const r = await gql<{ pods: { totalCount: number }; logs: { totalCount: number } }>(gateway.url, MIXED);
        expect(r.data?.pods.totalCount).toBeGreaterThan(0);
        expect(r.data?.logs).toEqual({ totalCount: 0, edges: [] });
        const errors = r.errors ?? [];
        expect(errors.map((e) => e.path?.[0]).sort()).toEqual(['logHistogram', 'logStatistics', 'logs']);
        for (const e of errors) {
          expect(e.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
          expect(e.extensions?.service).toBe('logging');
          expect(e.message).toMatch(message);
        }
        // A denial is still a denial while Elasticsearch is away: authorization comes first.
        const outsider = await gql(gateway.url, '{ pods(first: 1) { totalCount } }');
        expect(outsider.errors).toBeUndefined();
        const ex = await fetch(gateway.url.replace(/\/graphql$/, '/logs/export?namespaces=shop'), {
          headers: { authorization: `Bearer ${stack.adminToken}` },
        });
        expect(ex.status).toBe(503);
        expect(((await ex.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
          'UPSTREAM_UNAVAILABLE',
        );
      } finally {
        await logging?.close();
        await es.close?.();
      }
    },
  );
});

describe('the Elasticsearch client under load', () => {
  it('keeps at most N requests in flight, queues a bounded number, refuses the rest at once', async () => {
    const es = await fakeEs(300);
    const client = new ElasticsearchClient({
      url: es.url,
      timeoutMs: 5000,
      breakerFailures: 0,
      breakerOpenMs: 0,
      maxConcurrent: 2,
      maxQueued: 3,
    });
    try {
      const calls = Array.from({ length: 7 }, (_, i) =>
        client.search('ks-logstash-log-*', { size: i }).then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      );
      const outcomes = await Promise.all(calls);
      expect(outcomes.filter((o) => o === 'ok').length).toBe(5);
      expect(outcomes.filter((o) => /too many Elasticsearch requests waiting/.test(o)).length).toBe(2);
      // Every search that went out went out once (the product check is the client's GET /).
      expect(es.requests.filter((r) => r.includes('_search')).length).toBe(5);
    } finally {
      await client.close();
      await es.close();
    }
  });

  it('sends identical concurrent requests once and shares the answer', async () => {
    const es = await fakeEs(200);
    const client = new ElasticsearchClient({
      url: es.url,
      timeoutMs: 5000,
      breakerFailures: 0,
      breakerOpenMs: 0,
      maxConcurrent: 4,
      maxQueued: 100,
    });
    try {
      const body = { size: 10, query: { term: { 'kubernetes.namespace_name.keyword': 'shop' } } };
      const answers = await Promise.all(Array.from({ length: 50 }, () => client.search('ks-logstash-log-*', body)));
      expect(answers.every((a) => a.hits.hits.length === 0)).toBe(true);
      expect(es.requests.filter((r) => r.includes('_search')).length).toBe(1);
      await client.search('ks-logstash-log-*', { ...body, size: 11 });
      expect(es.requests.filter((r) => r.includes('_search')).length).toBe(2);
    } finally {
      await client.close();
      await es.close();
    }
  });
});
