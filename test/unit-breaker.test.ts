// The shared circuit breaker (services/common/breaker.ts), as tables of calls on a clock the test moves: which calls
// reach the system, which fail fast, and the state after each. No servers, no timers.
import { describe, expect, it } from 'vitest';
import { BrokenCircuitError, CircuitBreaker, type CircuitState } from '../services/common/breaker.js';

class Down extends Error {}
class Refused extends Error {}

/** One call: at what time (ms), how the system answers if asked, what the caller sees, the state after it. */
interface Step {
  at: number;
  answer: 'ok' | 'down' | 'refused';
  sees: 'ok' | 'down' | 'refused' | 'open';
  state: CircuitState;
  failures?: number;
}

const cases: { name: string; failures: number; openMs: number; steps: Step[] }[] = [
  {
    name: 'successes keep it closed',
    failures: 3,
    openMs: 1000,
    steps: [
      { at: 0, answer: 'ok', sees: 'ok', state: 'closed', failures: 0 },
      { at: 1, answer: 'ok', sees: 'ok', state: 'closed', failures: 0 },
    ],
  },
  {
    name: 'opens after 3 failures in a row, then fails fast without asking',
    failures: 3,
    openMs: 1000,
    steps: [
      { at: 0, answer: 'down', sees: 'down', state: 'closed', failures: 1 },
      { at: 1, answer: 'down', sees: 'down', state: 'closed', failures: 2 },
      { at: 2, answer: 'down', sees: 'down', state: 'open', failures: 3 },
      { at: 3, answer: 'ok', sees: 'open', state: 'open', failures: 3 },
      { at: 1001, answer: 'ok', sees: 'open', state: 'open', failures: 3 },
    ],
  },
  {
    name: 'a success in between starts the count again',
    failures: 3,
    openMs: 1000,
    steps: [
      { at: 0, answer: 'down', sees: 'down', state: 'closed', failures: 1 },
      { at: 1, answer: 'down', sees: 'down', state: 'closed', failures: 2 },
      { at: 2, answer: 'ok', sees: 'ok', state: 'closed', failures: 0 },
      { at: 3, answer: 'down', sees: 'down', state: 'closed', failures: 1 },
    ],
  },
  {
    name: 'an answer that is not a failure (a refused query) also starts the count again',
    failures: 2,
    openMs: 1000,
    steps: [
      { at: 0, answer: 'down', sees: 'down', state: 'closed', failures: 1 },
      { at: 1, answer: 'refused', sees: 'refused', state: 'closed', failures: 0 },
      { at: 2, answer: 'down', sees: 'down', state: 'closed', failures: 1 },
      { at: 3, answer: 'down', sees: 'down', state: 'open', failures: 2 },
    ],
  },
  {
    name: 'half-open after the open period: a successful probe closes it',
    failures: 1,
    openMs: 1000,
    steps: [
      { at: 0, answer: 'down', sees: 'down', state: 'open', failures: 1 },
      { at: 999, answer: 'ok', sees: 'open', state: 'open' },
      { at: 1000, answer: 'ok', sees: 'ok', state: 'closed', failures: 0 },
      { at: 1001, answer: 'ok', sees: 'ok', state: 'closed' },
    ],
  },
  {
    name: 'half-open: a failed probe opens it again for a whole period',
    failures: 2,
    openMs: 1000,
    steps: [
      { at: 0, answer: 'down', sees: 'down', state: 'closed' },
      { at: 0, answer: 'down', sees: 'down', state: 'open', failures: 2 },
      { at: 1500, answer: 'down', sees: 'down', state: 'open', failures: 3 },
      { at: 2499, answer: 'ok', sees: 'open', state: 'open', failures: 3 },
      { at: 2500, answer: 'ok', sees: 'ok', state: 'closed', failures: 0 },
    ],
  },
  {
    name: 'half-open: a refused probe (the system answered) closes it',
    failures: 1,
    openMs: 10,
    steps: [
      { at: 0, answer: 'down', sees: 'down', state: 'open' },
      { at: 10, answer: 'refused', sees: 'refused', state: 'closed', failures: 0 },
    ],
  },
  {
    name: 'failures 0: never opens',
    failures: 0,
    openMs: 1000,
    steps: [
      { at: 0, answer: 'down', sees: 'down', state: 'closed', failures: 1 },
      { at: 1, answer: 'down', sees: 'down', state: 'closed', failures: 2 },
      { at: 2, answer: 'down', sees: 'down', state: 'closed', failures: 3 },
      { at: 3, answer: 'ok', sees: 'ok', state: 'closed', failures: 0 },
    ],
  },
];

const seen = (e: unknown): Step['sees'] =>
  e instanceof BrokenCircuitError ? 'open' : e instanceof Down ? 'down' : e instanceof Refused ? 'refused' : 'ok';

describe('CircuitBreaker', () => {
  it.each(cases)('$name', async ({ failures, openMs, steps }) => {
    let now = 0;
    const breaker = new CircuitBreaker({ failures, openMs, isFailure: (e) => e instanceof Down, now: () => now });
    for (const [i, step] of steps.entries()) {
      now = step.at;
      let asked = false;
      const result = await breaker
        .execute(async () => {
          asked = true;
          if (step.answer === 'down') throw new Down();
          if (step.answer === 'refused') throw new Refused();
          return 'ok' as const;
        })
        .then(
          (v) => v,
          (e: unknown) => seen(e),
        );
      expect(result, `step ${i}`).toBe(step.sees);
      expect(asked, `step ${i}: asked`).toBe(step.sees !== 'open');
      expect(breaker.state, `step ${i}: state`).toBe(step.state);
      if (step.failures !== undefined) expect(breaker.consecutiveFailures, `step ${i}: failures`).toBe(step.failures);
    }
  });

  it('half-open: one call probes, the others fail fast until it answers', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failures: 1, openMs: 100, isFailure: () => true, now: () => now });
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    now = 100;
    expect(breaker.state).toBe('half-open');
    let answer!: (v: string) => void;
    const probe = breaker.execute(() => new Promise<string>((r) => (answer = r)));
    const others = await Promise.all(
      [1, 2, 3].map(() =>
        breaker
          .execute(() => Promise.resolve('asked'))
          .then(
            (v) => v,
            (e: unknown) => e,
          ),
      ),
    );
    for (const e of others) {
      expect(e).toBeInstanceOf(BrokenCircuitError);
      expect((e as BrokenCircuitError).failures).toBe(1);
      expect((e as Error).message).toBe('failed 1 times in a row; not asking again for a moment');
    }
    answer('probed');
    await expect(probe).resolves.toBe('probed');
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(() => Promise.resolve('asked'))).resolves.toBe('asked');
  });
});
