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

/**
 * Elasticsearch 8's REST API compatibility with 7 (`compatible-with=7`): document metadata carries `"_type": "_doc"`
 * again, after `_index`, wherever a document is named (hits, get, index/delete answers, bulk items).
 */
export function withDocTypes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withDocTypes);
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as Record<string, unknown>;
  const named = typeof obj._index === 'string' && typeof obj._id === 'string' && !('_type' in obj);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    out[k] = k === '_source' ? v : withDocTypes(v);
    if (k === '_index' && named) out._type = '_doc';
  }
  return out;
}
