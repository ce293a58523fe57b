// JSON out with 64-bit integers kept exact (Long.MAX_VALUE sort values are BigInts here), as Elasticsearch writes them.
const BIG = '\u0000big:';

export function toJson(value: unknown, pretty = false): string {
  const text = JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === 'bigint' ? `${BIG}${v.toString()}` : v),
    pretty ? 2 : undefined,
  );
  return text.includes(BIG) ? text.replace(/"\\u0000big:(-?\d+)"/g, '$1') : text;
}
