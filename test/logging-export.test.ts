// The export through the gateway: 200,000 lines streamed as text/plain with Content-Disposition: attachment, in
// order, each once, while the process's heap stays bounded (the gateway and the logging subgraph hold a page at a
// time, not the file); a client that goes away stops the paging.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';
import { bulkLoad, type SyntheticLine } from './logging-helpers.js';

// A full garbage collection before each heap sample, so that the samples are what is retained, not garbage waiting.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let stack: TestStack;
const LINES = 200_000;
const base = Date.parse('2026-12-03T06:00:00Z');
/** Each line ~300 bytes: the whole export is about 70 MB, far above the heap growth allowed. */
const filler = 'f'.repeat(240);

beforeAll(async () => {
  stack = await startTestStack({ logging: { shipper: false } });
  const lines: SyntheticLine[] = Array.from({ length: LINES }, (_, i) => ({
    t: base + i * 3,
    namespace: 'synthetic-export',
    pod: `exp-${i % 11}`,
    container: 'writer',
    log: `export line ${i} ${filler}`,
  }));
  await bulkLoad(stack.es!.url, lines, 10_000);
}, 600_000);
afterAll(async () => {
  await stack?.close();
});

const exportUrl = (query: string) => `${stack.gateway.url.replace(/\/graphql$/, '/logs/export')}?${query}`;
const auth = () => ({ authorization: `Bearer ${stack.adminToken}` });

describe('GET /logs/export', () => {
  it('streams 200,000 lines in constant memory, oldest first, each once', async () => {
    const res = await fetch(exportUrl('namespaces=synthetic-export&order=OLDEST_FIRST'), { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="logs-.*\.txt"$/);
    gc();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let bytes = 0;
    let count = 0;
    let rest = '';
    let sampled = 0;
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      const text = rest + decoder.decode(chunk, { stream: true });
      const parts = text.split('\n');
      rest = parts.pop()!;
      for (const line of parts) {
        const [timestamp, namespace, pod, container, message] = line.split('\t');
        expect(message).toBe(`export line ${count} ${filler}`);
        expect(namespace).toBe('synthetic-export');
        expect(pod).toBe(`exp-${count % 11}`);
        expect(container).toBe('writer');
        expect(Date.parse(timestamp!)).toBe(base + count * 3);
        count++;
      }
      if (Math.floor(count / 10_000) !== sampled) {
        sampled = Math.floor(count / 10_000);
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
    }
    expect(rest).toBe('');
    expect(count).toBe(LINES);
    expect(bytes).toBeGreaterThan(55 * 1024 * 1024);
    // The whole file is ~63 MB: holding it (in the gateway or the subgraph) would grow the retained heap by more.
    const growth = peak - before;
    console.log(`export: ${count} lines, ${(bytes / 1e6).toFixed(1)} MB, heap growth ${(growth / 1e6).toFixed(1)} MB`);
    expect(growth).toBeLessThan(40 * 1024 * 1024);
  }, 600_000);

  it('stops paging when the client goes away', async () => {
    const searches = async () => {
      const text = await (await fetch(`${stack.logging.baseUrl}/metrics`)).text();
      return [
        ...text.matchAll(/^kubegraph_logging_elasticsearch_requests_total\{[^}]*endpoint="search"[^}]*\} (\d+)/gm),
      ]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0);
    };
    const beforeExport = await searches();
    const controller = new AbortController();
    const res = await fetch(exportUrl('namespaces=synthetic-export'), { headers: auth(), signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    const atAbort = await searches();
    // The subgraph notices the closed connection and asks for no further page (at most the one in flight).
    await eventually(
      async () => {
        const a = await searches();
        await new Promise((r) => setTimeout(r, 500));
        return (await searches()) === a || undefined;
      },
      20_000,
      'the export to stop',
    );
    expect((await searches()) - atAbort).toBeLessThanOrEqual(2);
    // A whole export is 100 pages of 2,000 lines.
    expect((await searches()) - beforeExport).toBeLessThan(LINES / 2000 / 4);
  }, 120_000);

  it('answers bad parameters with 400 before streaming', async () => {
    for (const q of [
      'bogus=1',
      'order=SIDEWAYS',
      'limit=0',
      'start=yesterday',
      'workloads=shop/web',
      'streams=STDWHAT',
    ]) {
      const r = await fetch(exportUrl(q), { headers: auth() });
      expect(r.status, q).toBe(400);
      expect(((await r.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
        'BAD_USER_INPUT',
      );
    }
    const limited = await fetch(exportUrl('namespaces=synthetic-export&limit=5'), { headers: auth() });
    expect((await limited.text()).split('\n').filter(Boolean).length).toBe(5);
  });
});
