// The log shipper (services/es/shipper.ts) between a sandbox cluster and the Elasticsearch stand-in: every line of
// every simulated container lands once, in the Fluent Bit shape KubeSphere uses, in its day's index; the kubelet's
// own log (the pods/log API, read with the official Kubernetes client) is the ground truth.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShipper, type ShippedDocument, type Shipper } from '../services/es/shipper.js';
import { startTestEs, type TestEs } from './harness/es.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';

const SPEED = 10;
const NS = 'shop';
let cluster: TestSandbox;
let es: TestEs;
let client: Client;
let shipper: Shipper;
const shippedDocs: ShippedDocument[] = [];

interface Source {
  '@timestamp': string;
  log: string;
  time: string;
  stream: string;
  kubernetes: Record<string, unknown> & {
    pod_name: string;
    container_name: string;
    namespace_name: string;
    labels?: Record<string, string>;
  };
}

async function allDocs(index = 'ks-logstash-log-*'): Promise<{ _index: string; _id: string; _source: Source }[]> {
  const out: { _index: string; _id: string; _source: Source }[] = [];
  let after: unknown[] | undefined;
  for (;;) {
    const r = await client.search({
      index,
      body: {
        size: 5000,
        sort: [{ time: 'asc' }, { 'log.keyword': 'asc' }],
        query: { match_all: {} },
        ...(after ? { search_after: after } : {}),
      },
    });
    const hits = r.body.hits.hits as { _index: string; _id: string; _source: Source; sort: unknown[] }[];
    out.push(...hits);
    if (hits.length < 5000) return out;
    after = hits[hits.length - 1].sort;
  }
}

/** The kubelet's log of a container, as `kubectl logs --timestamps` shows it: [RFC3339Nano time, text]. */
async function kubeletLog(pod: string, container: string, previous = false): Promise<[string, string][]> {
  const text = await cluster.core.readNamespacedPodLog({
    name: pod,
    namespace: NS,
    container,
    timestamps: true,
    previous,
  });
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const sp = l.indexOf(' ');
      return [l.slice(0, sp), l.slice(sp + 1)];
    });
}

async function runningPods(prefix: string, n: number): Promise<string[]> {
  return eventually(
    async () => {
      const pods = (await cluster.core.listNamespacedPod({ namespace: NS })).items.filter((p) =>
        p.metadata?.name?.startsWith(prefix),
      );
      const running = pods.filter((p) => p.status?.containerStatuses?.every((c) => c.state?.running));
      return running.length >= n ? running.map((p) => p.metadata?.name as string) : undefined;
    },
    30_000,
    `${n} running ${prefix} pods`,
  );
}

beforeAll(async () => {
  cluster = await startTestSandbox({ speed: SPEED });
  es = await startTestEs();
  client = new Client({ node: es.url });
  await cluster.core.createNamespace({ body: { metadata: { name: NS } } });
  await cluster.apps.createNamespacedDeployment({
    namespace: NS,
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web', 'app.kubernetes.io/part-of': 'shop' } },
          spec: {
            containers: [
              { name: 'nginx', image: 'nginx:1.27' },
              { name: 'api', image: 'example/node-api:2' },
            ],
          },
        },
      },
    },
  });
  shipper = startShipper({
    store: cluster.sandbox.store,
    url: es.url,
    speed: SPEED,
    flushIntervalMs: 200,
    onShipped: (d) => shippedDocs.push(...d),
  });
});

afterAll(async () => {
  await shipper?.close();
  await es?.close();
  await cluster?.close();
});

describe('shipper', () => {
  it('ships every line of running containers once, in the Fluent Bit shape, into daily indices', async () => {
    const pods = await runningPods('web-', 2);
    await eventually(
      async () => {
        await shipper.flush();
        return shipper.shipped > 50;
      },
      30_000,
      'lines shipped',
    );
    await shipper.flush();
    // The shipper keeps running: what it had acknowledged before the read is there, and nothing it did not send.
    const ackedBefore = new Set(shippedDocs.map((d) => d._id));
    const docs = await allDocs();
    const ackedAfter = new Set(shippedDocs.map((d) => d._id));
    const stored = new Set(docs.map((d) => d._id));
    for (const id of ackedBefore) expect(stored.has(id)).toBe(true);
    for (const d of docs) expect(ackedAfter.has(d._id)).toBe(true);
    expect(new Set(docs.map((d) => d._id)).size).toBe(docs.length);
    for (const d of docs) {
      const day = d._source['@timestamp'].slice(0, 10).replace(/-/g, '.');
      expect(d._index).toBe(`ks-logstash-log-${day}`);
      expect(d._source.time.slice(0, 23)).toBe(d._source['@timestamp'].slice(0, 23));
      expect(d._source.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      expect(d._source.log.endsWith('\n')).toBe(true);
      expect(d._source.stream).toBe('stdout');
      expect(Object.keys(d._source.kubernetes).sort()).toEqual(
        [
          'container_hash',
          'container_image',
          'container_name',
          'docker_id',
          'host',
          'labels',
          'namespace_name',
          'pod_id',
          'pod_name',
        ].sort(),
      );
    }
    // Label keys with dots are written with underscores (Fluent Bit's Replace_Dots), so they never clash as paths.
    const web = docs.filter((d) => d._source.kubernetes.namespace_name === NS);
    expect(web.length).toBeGreaterThan(0);
    expect(web[0]._source.kubernetes.labels).toMatchObject({ app: 'web', 'app_kubernetes_io/part-of': 'shop' });

    // Against the kubelet: what was shipped for each container is exactly the start of its log, line for line.
    for (const pod of pods) {
      for (const container of ['nginx', 'api']) {
        const log = await kubeletLog(pod, container);
        const mine = docs
          .filter((d) => d._source.kubernetes.pod_name === pod && d._source.kubernetes.container_name === container)
          .map((d) => [d._source.time, d._source.log.slice(0, -1)] as [string, string]);
        expect(mine.length).toBeGreaterThan(0);
        const sortKey = (l: [string, string]) => l[0];
        mine.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
        const cut = mine[mine.length - 1][0];
        const expected = log.filter((l) => l[0] <= cut);
        expect(new Set(mine.map((l) => l.join(' ')))).toEqual(new Set(expected.map((l) => l.join(' '))));
        expect(mine.length).toBe(expected.length);
      }
    }
  });

  it('keeps the last lines of a deleted pod and of a crashed container run', async () => {
    await cluster.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'crashy' },
        spec: { restartPolicy: 'Always', containers: [{ name: 'app', image: 'example/crashloop:1' }] },
      },
    });
    // Wait for a restart: the first run's whole log (ending in its fatal error) must be in Elasticsearch.
    await eventually(
      async () => {
        const p = await cluster.core.readNamespacedPod({ name: 'crashy', namespace: NS });
        return (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1;
      },
      30_000,
      'a restart',
    );
    const previous = await kubeletLog('crashy', 'app', true);
    expect(previous.length).toBeGreaterThan(0);
    await shipper.flush();
    const docs = (await allDocs()).filter((d) => d._source.kubernetes.pod_name === 'crashy');
    const shipped = new Set(docs.map((d) => `${d._source.time} ${d._source.log.slice(0, -1)}`));
    for (const [t, text] of previous) expect(shipped.has(`${t} ${text}`)).toBe(true);

    // A pod deleted between two flushes: what it wrote until then is shipped, nothing after, nothing twice.
    const [victim] = await runningPods('web-', 2);
    const before = await kubeletLog(victim, 'nginx');
    await cluster.core.deleteNamespacedPod({ name: victim, namespace: NS, gracePeriodSeconds: 0 });
    await eventually(
      async () => {
        const pods = (await cluster.core.listNamespacedPod({ namespace: NS })).items;
        return !pods.some((p) => p.metadata?.name === victim);
      },
      30_000,
      'the pod gone',
    );
    await shipper.flush();
    const victimDocs = (await allDocs()).filter(
      (d) => d._source.kubernetes.pod_name === victim && d._source.kubernetes.container_name === 'nginx',
    );
    const keys = victimDocs.map((d) => `${d._source.time} ${d._source.log.slice(0, -1)}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const [t, text] of before) expect(keys).toContain(`${t} ${text}`);
    const count = victimDocs.length;
    await new Promise((r) => setTimeout(r, 600));
    await shipper.flush();
    const again = (await allDocs()).filter(
      (d) => d._source.kubernetes.pod_name === victim && d._source.kubernetes.container_name === 'nginx',
    );
    expect(again.length).toBe(count);
  });
});

describe('shipper retries', () => {
  let proxy: Server;
  let failing = 0;
  let seen = 0;
  beforeAll(async () => {
    // Between the shipper and Elasticsearch: refuses the first bulk requests as a whole (503) and, later, answers
    // one with the real body but its first item turned into a 429, as an overloaded node would.
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen++;
        if (failing > 0) {
          failing--;
          res.writeHead(503, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
          res.end('{"error":{"type":"unavailable_shards_exception","reason":"busy"},"status":503}');
          return;
        }
        const target = new URL(req.url ?? '/', es.url);
        const up = httpRequest(target, { method: req.method, headers: req.headers }, (r) => {
          const parts: Buffer[] = [];
          r.on('data', (c: Buffer) => parts.push(c));
          r.on('end', () => {
            const body = JSON.parse(Buffer.concat(parts).toString()) as {
              errors: boolean;
              items: Record<string, Record<string, unknown>>[];
            };
            if (seen === 4 && body.items.length) {
              // The item was written, but the answer says "try again": the retry must not write it twice.
              const first = Object.values(body.items[0])[0];
              first.status = 429;
              first.error = { type: 'es_rejected_execution_exception', reason: 'rejected execution' };
              body.errors = true;
            }
            res.writeHead(r.statusCode ?? 200, {
              'content-type': 'application/json',
              'x-elastic-product': 'Elasticsearch',
            });
            res.end(JSON.stringify(body));
          });
        });
        up.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    await new Promise<void>((r) => proxy.close(() => r()));
  });

  it('retries refused bulks and items without losing or repeating a line', async () => {
    failing = 2;
    const prefix = 'retry-logs';
    const acked: ShippedDocument[] = [];
    const s = startShipper({
      store: cluster.sandbox.store,
      url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      speed: SPEED,
      indexPrefix: prefix,
      flushIntervalMs: 100,
      maxBulkDocs: 500,
      onShipped: (d) => acked.push(...d),
    });
    try {
      await eventually(
        async () => {
          await s.flush();
          return seen >= 5 && s.stats().buffered === 0 && s.shipped > 0;
        },
        30_000,
        'retries done',
      );
      expect(s.stats().retries).toBeGreaterThan(0);
      const docs = await allDocs(`${prefix}-*`);
      expect(docs.length).toBe(s.shipped);
      expect(new Set(acked.map((d) => d._id)).size).toBe(acked.length);
      expect(new Set(docs.map((d) => d._id))).toEqual(new Set(acked.map((d) => d._id)));
      const keys = docs.map(
        (d) =>
          `${d._source.kubernetes.pod_name}/${d._source.kubernetes.container_name} ${d._source.time} ${d._source.log}`,
      );
      expect(new Set(keys).size).toBe(keys.length);
    } finally {
      await s.close();
    }
  });
});
