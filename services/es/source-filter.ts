// `_source` filtering (`false`, a pattern, a list, `{includes, excludes}`) on dotted paths with `*` wildcards.
import { globMatch } from './cluster.js';

export interface SourceFilter {
  enabled: boolean;
  includes: string[];
  excludes: string[];
}

export function parseSourceFilter(body: unknown, params: URLSearchParams): SourceFilter {
  const f: SourceFilter = { enabled: true, includes: [], excludes: [] };
  const p = params.get('_source');
  if (p === 'false') f.enabled = false;
  else if (p !== null && p !== 'true') f.includes = p.split(',');
  const pi = params.get('_source_includes') ?? params.get('_source_include');
  const pe = params.get('_source_excludes') ?? params.get('_source_exclude');
  if (pi) f.includes = pi.split(',');
  if (pe) f.excludes = pe.split(',');
  if (body === false) f.enabled = false;
  else if (typeof body === 'string') f.includes = [body];
  else if (Array.isArray(body)) f.includes = body.map(String);
  else if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    const list = (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
    f.includes = list(o.includes ?? o.include);
    f.excludes = list(o.excludes ?? o.exclude);
  }
  return f;
}

const matchesAny = (patterns: string[], path: string) => patterns.some((p) => globMatch(p, path));
/** Whether some pattern could match a path below `path`. */
const mayMatchBelow = (patterns: string[], path: string) =>
  patterns.some((p) => p.startsWith(`${path}.`) || (p.includes('*') && globMatch(p.split('*')[0] + '*', `${path}.`)));

export function filterSource(source: Record<string, unknown>, f: SourceFilter): Record<string, unknown> | undefined {
  if (!f.enabled) return undefined;
  if (f.includes.length === 0 && f.excludes.length === 0) return source;
  const walk = (obj: Record<string, unknown>, prefix: string, included: boolean): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix + k;
      if (matchesAny(f.excludes, path)) continue;
      const inc = included || f.includes.length === 0 || matchesAny(f.includes, path);
      const filterValue = (x: unknown): unknown => {
        if (x && typeof x === 'object' && !Array.isArray(x)) return walk(x as Record<string, unknown>, `${path}.`, inc);
        if (Array.isArray(x)) return x.map(filterValue).filter((e) => e !== SKIP);
        return inc ? x : SKIP;
      };
      if (v && typeof v === 'object') {
        if (!inc && !mayMatchBelow(f.includes, path)) continue;
        const filtered = filterValue(v);
        const empty = Array.isArray(filtered)
          ? filtered.length === 0 && !inc
          : Object.keys(filtered as object).length === 0 && !inc;
        if (!empty) out[k] = filtered;
      } else if (inc) {
        out[k] = v;
      }
    }
    return out;
  };
  return walk(source, '', false);
}

const SKIP = Symbol('skip');
