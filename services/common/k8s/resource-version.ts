// resourceVersions, compared one way everywhere. The API contract calls them opaque strings that clients may only test
// for equality; every real API server (etcd's revision) and the sandbox issue decimal integers that grow with each
// write, and kubegraph relies on that to order watch events, resume subscriptions and wait for its own writes. So:
// two integer resourceVersions compare as numbers; anything else is only equal or not.

/** Digits beyond any int64 revision (19) are refused as integers, so a client's token cannot make a huge BigInt. */
const INTEGER_RV = /^\d{1,30}$/;

/** Whether a resourceVersion is one of the decimal integers API servers issue. */
export const isIntegerResourceVersion = (rv: string | undefined | null): rv is string =>
  typeof rv === 'string' && INTEGER_RV.test(rv);

/** A resourceVersion as a number, or undefined when it is not an integer. */
export function resourceVersionValue(rv: string | undefined | null): bigint | undefined {
  return isIntegerResourceVersion(rv) ? BigInt(rv) : undefined;
}

/** -1, 0 or 1 when both are integers; undefined when either is not (then only `a === b` is known). */
export function compareResourceVersions(a: string, b: string): -1 | 0 | 1 | undefined {
  const x = resourceVersionValue(a);
  const y = resourceVersionValue(b);
  if (x === undefined || y === undefined) return undefined;
  return x === y ? 0 : x < y ? -1 : 1;
}

/** Whether `seen` is `wanted` or later: numerically for integers, otherwise only when equal; never for none seen. */
export function rvAtLeast(seen: string | undefined, wanted: string): boolean {
  if (!seen) return false;
  const c = compareResourceVersions(seen, wanted);
  return c === undefined ? seen === wanted : c >= 0;
}
