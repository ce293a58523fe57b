// indexAfter (services/common/sorted.ts): where a replay from a version or token starts in a history kept in order.
import { describe, expect, it } from 'vitest';
import { indexAfter } from '../services/common/sorted.js';

const byNumber: [history: number[], after: number, index: number][] = [
  [[], 5, 0],
  [[1, 2, 3], 0, 0],
  [[1, 2, 3], 1, 1],
  [[1, 2, 3], 2, 2],
  [[1, 2, 3], 3, 3],
  [[1, 2, 3], 9, 3],
  [[2, 4, 6, 8], 5, 2],
  [[2, 4, 6, 8, 10], 1, 0],
];

describe('indexAfter', () => {
  it.each(byNumber)('in %j after %d: %d', (history, after, index) => {
    expect(indexAfter(history, (v) => v, after)).toBe(index);
  });

  it('reads the key of each entry (bigint resume tokens)', () => {
    const feed = [{ token: 10n }, { token: 20n }, { token: 30n }];
    expect(indexAfter(feed, (e) => e.token, 20n)).toBe(2);
    expect(indexAfter(feed, (e) => e.token, 9n)).toBe(0);
  });
});
