// Binary search over an array kept in key order (event histories by resourceVersion or resume token).

/** The index of the first item whose key is above `after` (items.length when there is none); items in key order. */
export function indexAfter<T, K extends number | bigint | string>(
  items: readonly T[],
  key: (item: T) => K,
  after: K,
): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(items[mid]!) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
