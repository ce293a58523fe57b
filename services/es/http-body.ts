// The request and response bodies of the stand-in's HTTP layer: reading a body within a size limit, JSON parse errors
// in Elasticsearch's words, and `filter_path`.
import type { IncomingMessage } from 'node:http';
import { readBody as readLimitedBody } from '../common/read-body.js';
import { globMatch } from './cluster.js';
import { EsError } from './errors.js';

/** The request body within the configured buffer limit; a longer one is refused with Elasticsearch's 413. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return readLimitedBody(req, limit, {
    tooLarge: (size) =>
      new EsError(
        413,
        'content_too_long',
        `entity content is too long [${size}] for the configured buffer limit [${limit}]`,
      ),
    overflow: 'destroy',
  });
}

export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new EsError(400, 'x_content_parse_exception', `[1:1] ${message}`);
  }
}

/** `filter_path`: keeps the listed dotted paths (`*` one level, `**` any depth) of a response. */
export function filterPath(body: unknown, spec: string): unknown {
  const patterns = spec.split(',').map((p) => p.split('.'));
  const walk = (v: unknown, pats: string[][]): unknown => {
    if (pats.some((p) => p.length === 0)) return v;
    if (Array.isArray(v)) {
      const arr = v.map((e) => walk(e, pats)).filter((e) => e !== undefined);
      return arr.length ? arr : undefined;
    }
    if (typeof v !== 'object' || v === null) return undefined;
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(v)) {
      const next: string[][] = [];
      for (const p of pats) {
        const [head, ...rest] = p;
        if (head === '**') {
          next.push(p, rest);
          if (rest.length && globMatch(rest[0], k)) next.push(rest.slice(1));
        } else if (globMatch(head, k)) next.push(rest);
      }
      if (!next.length) continue;
      const r = walk(child, next);
      if (r !== undefined) out[k] = r;
    }
    return Object.keys(out).length ? out : undefined;
  };
  return walk(body, patterns) ?? {};
}
