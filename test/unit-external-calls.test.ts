// The calls of a client to an external system (services/common/external-calls.ts), as a table of answers: what the
// caller sees, how each call is counted, and which calls are timed (only those sent). No servers, no timers.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ExternalCalls } from '../services/common/external-calls.js';

class Unavailable extends Error {}
class Refused extends Error {}

type Answer = 'ok' | 'unavailable' | 'refused';
/** How the system answers each call, in order, and the outcome the caller's call is counted as. */
const steps: [answer: Answer, outcome: string][] = [
  ['ok', 'ok'],
  ['refused', 'error'],
  ['unavailable', 'unavailable'],
  ['unavailable', 'unavailable'],
  // Two unavailable answers in a row opened the breaker: the next call is not sent.
  ['ok', 'breaker_open'],
];

async function counts(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of await registry.getMetricsAsJSON())
    for (const v of m.values as { value: number; labels: Record<string, string | number>; metricName?: string }[]) {
      const name = v.metricName ?? m.name;
      if (name.endsWith('_bucket') || name.endsWith('_sum')) continue;
      out[`${name}{${Object.values(v.labels).join(',')}}`] = v.value;
    }
  return out;
}

describe('ExternalCalls', () => {
  it('counts each call by outcome, times only the calls it sent, and turns an open breaker into the client’s error', async () => {
    const registry = new Registry();
    const calls = new ExternalCalls<'search'>({
      breakerFailures: 2,
      breakerOpenMs: 60_000,
      isUnavailable: (e) => e instanceof Unavailable,
      refused: (e) => new Unavailable(`not asked: ${e.failures} failures`),
      metrics: { registry, prefix: 'test_system', requestsHelp: 'requests', durationHelp: 'duration' },
    });
    let sent = 0;
    for (const [answer, outcome] of steps) {
      const call = calls.run('search', async () => {
        sent++;
        if (answer === 'unavailable') throw new Unavailable('down');
        if (answer === 'refused') throw new Refused('bad request');
        return 'answer';
      });
      if (outcome === 'ok') await expect(call).resolves.toBe('answer');
      else if (outcome === 'error') await expect(call).rejects.toBeInstanceOf(Refused);
      else if (outcome === 'breaker_open') await expect(call).rejects.toThrow(new Unavailable('not asked: 2 failures'));
      else await expect(call).rejects.toBeInstanceOf(Unavailable);
    }
    calls.count('search', 'queue_full');
    expect(sent).toBe(4);
    expect(await counts(registry)).toEqual({
      'test_system_requests_total{search,ok}': 1,
      'test_system_requests_total{search,error}': 1,
      'test_system_requests_total{search,unavailable}': 2,
      'test_system_requests_total{search,breaker_open}': 1,
      'test_system_requests_total{search,queue_full}': 1,
      'test_system_request_duration_seconds_count{search}': 4,
    });
  });

  it('without a registry, runs the calls unmeasured', async () => {
    const calls = new ExternalCalls<'query'>({
      breakerFailures: 0,
      breakerOpenMs: 0,
      isUnavailable: () => true,
      refused: (e) => e,
    });
    await expect(calls.run('query', async () => 1)).resolves.toBe(1);
    calls.count('query', 'queue_full');
  });
});
