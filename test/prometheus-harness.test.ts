// The Prometheus test harness itself: history backfilled with promtool answers range queries and rates at once,
// deterministically, and a missing binary fails loudly with the install command.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { startPrometheus, valueOf, type TestPrometheus } from './harness/prometheus.js';

// One hour of history at 15 s steps, ending 10 minutes ago, on whole minutes.
const STEP = 15;
const end = Math.floor(Date.now() / 1000 / 60) * 60 - 600;
const start = end - 3600;

function history(): string {
  const lines = ['# HELP kubegraph_test_requests Requests served.', '# TYPE kubegraph_test_requests counter'];
  // Pod a serves 3 requests per step (0.2/s); pod b 6 (0.4/s) until its counter resets halfway through.
  for (const [pod, perStep] of [
    ['a', 3],
    ['b', 6],
  ] as const) {
    for (let ts = start, i = 0; ts <= end; ts += STEP, i++) {
      const v = pod === 'b' && ts >= start + 1800 ? (i - 119) * perStep : i * perStep; // restarted from 0 and served a step since
      lines.push(`kubegraph_test_requests_total{namespace="shop",pod="${pod}"} ${v} ${ts}`);
    }
  }
  lines.push('# TYPE kubegraph_test_memory_bytes gauge');
  for (let ts = start, i = 0; ts <= end; ts += STEP, i++)
    lines.push(`kubegraph_test_memory_bytes{namespace="shop",pod="a"} ${1000 + (i % 4) * 100} ${ts}`);
  return lines.join('\n'); // the harness appends `# EOF`
}

describe('startPrometheus with backfilled history', () => {
  let prom: TestPrometheus;
  beforeAll(async () => {
    prom = await startPrometheus({ backfillOpenMetrics: history() });
  });
  afterAll(async () => prom?.close());

  it('answers instant queries over the backfilled hour at once', async () => {
    const rates = await prom.query('rate(kubegraph_test_requests_total[5m])', start + 900);
    const byPod = Object.fromEntries(rates.map((s) => [s.metric.pod, valueOf(s)]));
    expect(byPod.a).toBeCloseTo(0.2, 9);
    expect(byPod.b).toBeCloseTo(0.4, 9);
    // The counter reset is handled as a reset, not a drop.
    const [inc] = await prom.query('increase(kubegraph_test_requests_total{pod="b"}[10m])', start + 1800 + 300);
    expect(valueOf(inc)).toBeCloseTo(240, 6);
    const [resets] = await prom.query('resets(kubegraph_test_requests_total{pod="b"}[1h])', end);
    expect(valueOf(resets)).toBe(1);
    const [avg] = await prom.query('avg_over_time(kubegraph_test_memory_bytes[1h])', end);
    // [1h] at `end` holds both ends' samples: 241 of them, 60 cycles of 1000..1300 and one more 1000.
    expect(valueOf(avg)).toBeCloseTo((60 * 4600 + 1000) / 241, 9);
  });

  it('answers range queries with one point per step', async () => {
    const series = await prom.queryRange('sum(rate(kubegraph_test_requests_total[2m]))', start + 600, start + 1200, 60);
    expect(series).toHaveLength(1);
    expect(series[0].values).toHaveLength(11);
    for (const [ts, v] of series[0].values) {
      expect(ts % 60).toBe(0);
      expect(Number(v)).toBeCloseTo(0.6, 9);
    }
  });

  it('close() stops Prometheus and removes its directory', async () => {
    const p = await startPrometheus();
    expect(await fetch(`${p.url}/-/healthy`).then((r) => r.status)).toBe(200);
    await p.close();
    expect(existsSync(p.dir)).toBe(false);
    await expect(fetch(`${p.url}/-/healthy`)).rejects.toThrow();
    expect(() => process.kill(p.pid, 0)).toThrow();
  });

  it('rejects malformed PromQL at once instead of polling', async () => {
    await expect(prom.waitFor('sum(', { timeoutMs: 10_000 })).rejects.toThrow(/bad_data/);
  });
});

describe('startPrometheus without the binary', () => {
  it('fails loudly, naming the package to install', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startPrometheus()).rejects.toThrow(/apt-get install .*prometheus/);
    } finally {
      process.env.PATH = path;
    }
  });
});
