// asyncQueue (services/common/async-queue.ts), the iterator plumbing of the gateway's client streams, the workloads
// live feed and the subgraphs' subscription results: pushes read in order, a reader waiting for the next push, the
// end with and without an error, overflow, return() that does not wait, and the pull mode that paces its source.
import { describe, expect, it } from 'vitest';
import { asyncQueue } from '../services/common/async-queue.js';

const drain = async <T>(it: AsyncIterator<T>): Promise<T[]> => {
  const out: T[] = [];
  for (let r = await it.next(); !r.done; r = await it.next()) out.push(r.value);
  return out;
};

describe('asyncQueue, pushed', () => {
  it('yields pushed items in order, then ends', async () => {
    const q = asyncQueue<number>();
    expect(q.push(1)).toBe(true);
    expect(q.push(2)).toBe(true);
    q.end();
    expect(q.push(3)).toBe(false);
    expect(await drain(q)).toEqual([1, 2]);
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  it('wakes a waiting reader on push and on end', async () => {
    const q = asyncQueue<string>();
    const first = q.next();
    q.push('a');
    expect(await first).toEqual({ value: 'a', done: false });
    const second = q.next();
    q.end();
    expect(await second).toEqual({ value: undefined, done: true });
  });

  it('throws the end error once, after the queued items', async () => {
    const q = asyncQueue<number>();
    q.push(1);
    q.end(new Error('gone'));
    expect(await q.next()).toEqual({ value: 1, done: false });
    await expect(q.next()).rejects.toThrow('gone');
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  it('calls onEnd once, whoever ends it', async () => {
    let ends = 0;
    const q = asyncQueue<number>({ onEnd: () => void ends++ });
    q.end();
    q.end(new Error('again'));
    await q.return();
    expect(ends).toBe(1);
    expect(q.ended).toBe(true);
  });

  it('return() drops what is queued and ends at once', async () => {
    let ended = false;
    const q = asyncQueue<number>({ onEnd: () => void (ended = true) });
    q.push(1);
    const waiting = asyncQueue<number>();
    const pending = waiting.next();
    expect(await q.return()).toEqual({ value: undefined, done: true });
    expect(ended).toBe(true);
    expect(await q.next()).toEqual({ value: undefined, done: true });
    await waiting.return();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('return() waits for onEnd and reports its failure; an end by an overflow does not leave it unhandled', async () => {
    const order: string[] = [];
    const q = asyncQueue<number>({
      onEnd: async () => {
        await new Promise((r) => setTimeout(r, 5));
        order.push('onEnd done');
      },
    });
    await q.return();
    order.push('return resolved');
    expect(order).toEqual(['onEnd done', 'return resolved']);
    const failing = asyncQueue<number>({ maxPending: 0, onEnd: () => Promise.reject(new Error('close failed')) });
    expect(failing.push(1)).toBe(false);
    await expect(failing.return()).rejects.toThrow('close failed');
  });

  it.each([
    ['without an error', undefined],
    ['with the error onOverflow gives', new Error('fell behind')],
  ])('overflows past maxPending %s', async (_name, error) => {
    const calls: string[] = [];
    const q = asyncQueue<number>({
      maxPending: 2,
      onOverflow: () => {
        calls.push('overflow');
        return error;
      },
      onEnd: () => void calls.push('end'),
    });
    expect([q.push(1), q.push(2), q.push(3), q.push(4)]).toEqual([true, true, false, false]);
    expect(calls).toEqual(['overflow', 'end']);
    expect(await q.next()).toEqual({ value: 1, done: false });
    expect(await q.next()).toEqual({ value: 2, done: false });
    if (error) await expect(q.next()).rejects.toBe(error);
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });
});

describe('asyncQueue, pulled', () => {
  it('pulls only when a reader waits, skipping what the pull does not push', async () => {
    const source = [1, 2, 3, 4, 5][Symbol.iterator]();
    let pulls = 0;
    const q = asyncQueue<number>({
      pull: async (queue) => {
        pulls++;
        const step = source.next();
        if (step.done) queue.end();
        else if (step.value % 2) queue.push(step.value * 10);
      },
    });
    expect(pulls).toBe(0);
    expect(await q.next()).toEqual({ value: 10, done: false });
    expect(pulls).toBe(1);
    expect(await drain(q)).toEqual([30, 50]);
    expect(pulls).toBe(6);
  });

  it('ends with the error a pull throws', async () => {
    const q = asyncQueue<number>({
      pull: async () => {
        throw new Error('source failed');
      },
    });
    await expect(q.next()).rejects.toThrow('source failed');
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  it('return() during a pull ends the reader without waiting for the pull to push', async () => {
    let release: (() => void) | undefined;
    const q = asyncQueue<number>({
      pull: async (queue) => {
        await new Promise<void>((r) => (release = r));
        queue.push(1);
      },
    });
    const reading = q.next();
    await Promise.resolve();
    await q.return();
    release?.();
    expect(await reading).toEqual({ value: undefined, done: true });
  });
});
