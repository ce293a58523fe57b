// The knobs of a benchmark: numbers from environment variables (BENCH_RUNS=3 npm run bench:…), each with its default.

/**
 * The number in environment variable `name`, or `fallback` when it is unset or empty; anything else than a number of
 * at least `min` stops the run with a message naming the variable.
 */
export function knob(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name}=${JSON.stringify(raw)}: expected a number >= ${min}`);
  return n;
}
