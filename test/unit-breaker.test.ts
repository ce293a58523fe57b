// The shared circuit breaker (services/common/breaker.ts), as tables of calls on a clock the test moves: which calls
// reach the system, which fail fast, and the state after each. No servers, no timers.
import { describe, expect, it } from 'vitest';
import { BrokenCircuitError, CircuitBreaker, type CircuitState } from '../services/common/breaker.js';

class Down extends Error {}
class Refused extends Error {}

type Seen = 'ok' | 'down' | 'refused' | 'open';
/** One call: at what time (ms), how the system answers if asked, what the caller sees, the state and count after it. */
type Step = [at: number, answer: Exclude<Seen, 'open'>, sees: Seen, state: CircuitState, failures?: number];

const cases: { name: string; failures: number; openMs: number; steps: Step[] }[] = [
  {
    name: 'successes keep it closed',
    failures: 3,
    openMs: 1000,
    steps: [
      [0, 'ok', 'ok', 'closed', 0],
      [1, 'ok', 'ok', 'closed', 0],
    ],
  },
  {
    name: 'opens after 3 failures in a row, then fails fast without asking',
    failures: 3,
    openMs: 1000,
    steps: [
      [0, 'down', 'down', 'closed', 1],
      [1, 'down', 'down', 'closed', 2],
      [2, 'down', 'down', 'open', 3],
      [3, 'ok', 'open', 'open', 3],
      [1001, 'ok', 'open', 'open', 3],
    ],
  },
  {
    name: 'a success in between starts the count again',
    failures: 3,
    openMs: 1000,
    steps: [
      [0, 'down', 'down', 'closed', 1],
      [1, 'down', 'down', 'closed', 2],
      [2, 'ok', 'ok', 'closed', 0],
      [3, 'down', 'down', 'closed', 1],
    ],
  },
  {
    name: 'an answer that is not a failure (a refused query) also starts the count again',
    failures: 2,
    openMs: 1000,
    steps: [
      [0, 'down', 'down', 'closed', 1],
      [1, 'refused', 'refused', 'closed', 0],
      [2, 'down', 'down', 'closed', 1],
      [3, 'down', 'down', 'open', 2],
    ],
  },
  {
    name: 'half-open after the open period: a successful probe closes it',
    failures: 1,
    openMs: 1000,
    steps: [
      [0, 'down', 'down', 'open', 1],
      [999, 'ok', 'open', 'open'],
      [1000, 'ok', 'ok', 'closed', 0],
      [1001, 'ok', 'ok', 'closed'],
    ],
  },
  {
    name: 'half-open: a failed probe opens it again for a whole period',
    failures: 2,
    openMs: 1000,
    steps: [
      [0, 'down', 'down', 'closed'],
      [0, 'down', 'down', 'open', 2],
      [1500, 'down', 'down', 'open', 3],
      [2499, 'ok', 'open', 'open', 3],
      [2500, 'ok', 'ok', 'closed', 0],
    ],
  },
  {
    name: 'half-open: a refused probe (the system answered) closes it',
    failures: 1,
    openMs: 10,
    steps: [
      [0, 'down', 'down', 'open'],
      [10, 'refused', 'refused', 'closed', 0],
    ],
  },
  {
    name: 'failures 0: never opens',
    failures: 0,
    openMs: 1000,
    steps: [
      [0, 'down', 'down', 'closed', 1],
      [1, 'down', 'down', 'closed', 2],
      [2, 'down', 'down', 'closed', 3],
      [3, 'ok', 'ok', 'closed', 0],
    ],
  },
];

const seen = (e: unknown): Seen =>
  e instanceof BrokenCircuitError ? 'open' : e instanceof Down ? 'down' : e instanceof Refused ? 'refused' : 'ok';

describe('CircuitBreaker', () => {
  it.each(cases)('$name', async ({ failures, openMs, steps }) => {
    let now = 0;
    const breaker = new CircuitBreaker({ failures, openMs, isFailure: (e) => e instanceof Down, now: () => now });
    for (const [i, [at, answer, sees, state, count]] of steps.entries()) {
      now = at;
      let asked = false;
      const result = await breaker
        .execute(async () => {
          asked = true;
          if (answer === 'down') throw new Down();
          if (answer === 'refused') throw new Refused();
          return 'ok' as const;
        })
        .then(
          (v) => v,
          (e: unknown) => seen(e),
        );
      expect(result, `step ${i}`).toBe(sees);
      expect(asked, `step ${i}: asked`).toBe(sees !== 'open');
      expect(breaker.state, `step ${i}: state`).toBe(state);
      if (count !== undefined) expect(breaker.consecutiveFailures, `step ${i}: failures`).toBe(count);
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
