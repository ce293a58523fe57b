// The gateway's subgraph HTTP client (gateway/subgraph-fetch.ts): keep-alive, deadline, errors as the data source
// maps them, and identical query fetches in flight sharing one request (never across identities, never mutations).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubgraphFetcher, shareKey } from '../gateway/subgraph-fetch.js';

interface Seen {
  headers: IncomingMessage['headers'];
  body: string;
  socket: unknown;
}

let server: Server;
let url: string;
const seen: Seen[] = [];
/** How long the server waits before answering (ms), so that fetches overlap. */
let delayMs = 0;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    seen.push({ headers: req.headers, body, socket: req.socket });
    if (req.url === '/hang') return;
    const status = req.url === '/broken' ? 502 : 200;
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'max-age=5' });
      res.end(JSON.stringify({ data: { n: seen.length, echo: body.length } }));
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const query = (q: string) => JSON.stringify({ query: q, variables: {} });
const init = (body: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body,
});

describe('subgraph fetcher', () => {
  it('answers like a fetch Response (status, headers, json) and reuses its connection', async () => {
    const fetcher = createSubgraphFetcher({ timeoutMs: 5000 });
    seen.length = 0;
    const a = await fetcher(`${url}/graphql`, init(query('query A{a}')));
    expect(a.ok).toBe(true);
    expect(a.status).toBe(200);
    expect(a.headers.get('Content-Type')).toBe('application/json');
    expect(a.headers.get('cache-control')).toBe('max-age=5');
    expect(await a.json()).toEqual({ data: { n: 1, echo: query('query A{a}').length } });
    await expect(a.text()).rejects.toThrow(/body used/);
    const b = await fetcher(`${url}/graphql`, init(query('query A{a}')));
    expect(await b.json()).toMatchObject({ data: { n: 2 } });
    expect(seen[1].socket).toBe(seen[0].socket);
    expect(seen[0].headers['content-length']).toBe(String(query('query A{a}').length));
    const broken = await fetcher(`${url}/broken`, init(query('query A{a}')));
    expect(broken.ok).toBe(false);
    expect(broken.status).toBe(502);
    fetcher.close();
  });

  it('fails with a TimeoutError past its deadline, and with the connection error code when refused', async () => {
    const fetcher = createSubgraphFetcher({ timeoutMs: 200 });
    const started = Date.now();
    await expect(fetcher(`${url}/hang`, init(query('query H{h}')))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(2000);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(fetcher(`http://127.0.0.1:${port}/graphql`, init(query('query A{a}')))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    fetcher.close();
  });

  it('shares one request among identical query fetches in flight, each with its own answer objects', async () => {
    const fetcher = createSubgraphFetcher({ timeoutMs: 5000 });
    seen.length = 0;
    delayMs = 100;
    try {
      const body = query('query P{pods{name}}');
      const identity = { 'x-kubegraph-identity': 'alice' };
      const answers = await Promise.all(
        [1, 2, 3].map((i) => fetcher(`${url}/graphql`, init(body, { ...identity, 'x-request-id': `r${i}` }))),
      );
      expect(seen).toHaveLength(1);
      expect(seen[0].headers['x-request-id']).toBe('r1');
      const [a, b] = (await Promise.all(answers.map((r) => r.json()))) as object[];
      expect(a).toEqual(b);
      expect(a).not.toBe(b);

      // Another identity, a mutation, or sharing switched off: requests of their own.
      seen.length = 0;
      await Promise.all([
        fetcher(`${url}/graphql`, init(body, identity)),
        fetcher(`${url}/graphql`, init(body, { 'x-kubegraph-identity': 'bob' })),
        fetcher(`${url}/graphql`, init(query('mutation M{m}'), identity)),
        fetcher(`${url}/graphql`, init(query('mutation M{m}'), identity)),
      ]);
      expect(seen).toHaveLength(4);
      const alone = createSubgraphFetcher({ timeoutMs: 5000, shareQueries: false });
      seen.length = 0;
      await Promise.all([alone(`${url}/graphql`, init(body)), alone(`${url}/graphql`, init(body))]);
      expect(seen).toHaveLength(2);
      alone.close();

      // Once answered, the next fetch asks again.
      seen.length = 0;
      await fetcher(`${url}/graphql`, init(body, identity));
      await fetcher(`${url}/graphql`, init(body, identity));
      expect(seen).toHaveLength(2);
    } finally {
      delayMs = 0;
      fetcher.close();
    }
  });

  it('keys only query documents, by URL, headers but the request id, and body', () => {
    const body = query('query P{p}');
    expect(shareKey('u', init(body, { 'x-request-id': 'a' }))).toBe(shareKey('u', init(body, { 'X-Request-Id': 'b' })));
    expect(shareKey('u', init(body, { 'x-forwarded-for': '10.0.0.1' }))).not.toBe(
      shareKey('u', init(body, { 'x-forwarded-for': '10.0.0.2' })),
    );
    expect(shareKey('u', init(body))).not.toBe(shareKey('v', init(body)));
    expect(shareKey('u', init(query('{p}')))).toBeDefined();
    for (const other of ['mutation M{m}', 'subscription S{s}', 'fragment F on T{f} query Q{...F}'])
      expect(shareKey('u', init(query(other)))).toBeUndefined();
    expect(shareKey('u', { method: 'GET', body })).toBeUndefined();
  });
});
