// A small runner for test files in the format of Elasticsearch's own YAML REST tests (rest-api-spec: `setup`, named
// tests of `do` steps with `catch`, then `match`, `length`, `is_true`, `is_false`, `gt`/`gte`/`lt`/`lte`, `set`), run
// against a fresh stand-in per test. Elasticsearch's own files are not in this repository (their license is the
// Elastic License 2.0 / SSPL / AGPL, not ours): the files in test/es-rest-spec/ are written here, in that format, from
// the reference documentation of each API, and the runner would take Elasticsearch's files placed in that folder too.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { startEs } from '../services/es/server.js';

const DIR = join(import.meta.dirname, 'es-rest-spec');
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The API names of the spec (rest-api-spec/api) the files use: method, path from the parameters, which are path. */
const APIS: Record<string, (p: Obj) => [string, string, string[]]> = {
  info: () => ['GET', '/', []],
  'indices.create': (p) => ['PUT', `/${p.index}`, ['index']],
  'indices.delete': (p) => ['DELETE', `/${p.index}`, ['index']],
  'indices.exists': (p) => ['HEAD', `/${p.index}`, ['index']],
  'indices.refresh': (p) => ['POST', p.index ? `/${list(p.index)}/_refresh` : '/_refresh', ['index']],
  'indices.get_mapping': (p) => ['GET', p.index ? `/${list(p.index)}/_mapping` : '/_mapping', ['index']],
  'indices.analyze': (p) => ['POST', p.index ? `/${p.index}/_analyze` : '/_analyze', ['index']],
  index: (p) => [
    p.id === undefined ? 'POST' : 'PUT',
    `/${p.index}/_doc${p.id === undefined ? '' : `/${p.id}`}`,
    ['index', 'id'],
  ],
  create: (p) => ['PUT', `/${p.index}/_create/${p.id}`, ['index', 'id']],
  get: (p) => ['GET', `/${p.index}/_doc/${p.id}`, ['index', 'id']],
  exists: (p) => ['HEAD', `/${p.index}/_doc/${p.id}`, ['index', 'id']],
  delete: (p) => ['DELETE', `/${p.index}/_doc/${p.id}`, ['index', 'id']],
  bulk: (p) => ['POST', p.index ? `/${p.index}/_bulk` : '/_bulk', ['index']],
  search: (p) => ['POST', p.index ? `/${list(p.index)}/_search` : '/_search', ['index']],
  count: (p) => ['POST', p.index ? `/${list(p.index)}/_count` : '/_count', ['index']],
  open_point_in_time: (p) => ['POST', `/${list(p.index)}/_pit`, ['index']],
  close_point_in_time: () => ['DELETE', '/_pit', []],
  'cat.indices': (p) => ['GET', p.index ? `/_cat/indices/${list(p.index)}` : '/_cat/indices', ['index']],
};
const list = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));

/** `catch` values of the format: a named status class or a /regex/ on the body. */
const CATCHES: Record<string, (s: number) => boolean> = {
  bad_request: (s) => s === 400,
  unauthorized: (s) => s === 401,
  forbidden: (s) => s === 403,
  missing: (s) => s === 404,
  conflict: (s) => s === 409,
  request: (s) => s >= 400 && s < 600,
  param: (s) => s === 400,
};

interface Ctx {
  url: string;
  body: unknown;
  stash: Map<string, unknown>;
}

/** A value with `$var` stashed values put in (whole strings, and `${var}` inside strings). */
function unstash(v: unknown, ctx: Ctx): unknown {
  if (typeof v === 'string') {
    if (/^\$\w+$/.test(v) && ctx.stash.has(v.slice(1))) return ctx.stash.get(v.slice(1));
    return v.replace(/\$\{(\w+)\}/g, (m, k: string) => (ctx.stash.has(k) ? String(ctx.stash.get(k)) : m));
  }
  if (Array.isArray(v)) return v.map((x) => unstash(x, ctx));
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unstash(x, ctx)]));
  return v;
}

/** A dotted path of the last response (`\.` a literal dot, numbers index arrays, `$body` the whole). */
function at(ctx: Ctx, path: string): unknown {
  if (path === '$body' || path === '') return ctx.body;
  let cur: unknown = ctx.body;
  for (const raw of path.split(/(?<!\\)\./)) {
    const key = String(unstash(raw.replace(/\\\./g, '.'), ctx));
    if (Array.isArray(cur)) cur = cur[Number(key)];
    else if (isObj(cur)) cur = cur[key];
    else return undefined;
  }
  return cur;
}

async function doStep(step: Obj, ctx: Ctx): Promise<void> {
  const expectCatch = step.catch as string | undefined;
  const headers = (step.headers ?? {}) as Record<string, string>;
  const apis = Object.keys(step).filter((k) => !['catch', 'headers', 'warnings', 'allowed_warnings'].includes(k));
  expect(apis.length, `one API per do: ${JSON.stringify(step)}`).toBe(1);
  const api = apis[0]!;
  const make = APIS[api];
  if (!make) throw new Error(`the runner has no API ${api}`);
  const params = unstash(step[api] ?? {}, ctx) as Obj;
  const [method, path, pathParams] = make(params);
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (k !== 'body' && !pathParams.includes(k)) query.set(k, Array.isArray(v) ? v.join(',') : String(v));
  let body: string | undefined;
  let contentType = 'application/json';
  if (params.body !== undefined) {
    if (api === 'bulk') {
      const lines = Array.isArray(params.body) ? params.body : String(params.body).split('\n').filter(Boolean);
      body = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
      contentType = 'application/x-ndjson';
    } else body = JSON.stringify(params.body);
  }
  const qs = query.toString();
  const res = await fetch(`${ctx.url}${path}${qs ? `?${qs}` : ''}`, {
    method,
    headers: { 'content-type': contentType, ...headers },
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : method === 'HEAD' ? res.status < 300 : '';
  } catch {
    // Plain text (_cat).
  }
  ctx.body = parsed;
  const where = `${api} ${method} ${path}?${qs} -> ${res.status} ${text.slice(0, 400)}`;
  if (expectCatch === undefined) {
    expect(res.status < 300 || (method === 'HEAD' && res.status === 404), where).toBe(true);
    return;
  }
  if (expectCatch.startsWith('/')) {
    expect(res.status, where).toBeGreaterThanOrEqual(400);
    expect(text, where).toMatch(new RegExp(expectCatch.slice(1, -1).trim(), 's'));
  } else {
    expect(CATCHES[expectCatch]?.(res.status), `${where} (catch ${expectCatch})`).toBe(true);
  }
}

function compare(actual: unknown, expected: unknown, where: string): void {
  if (typeof expected === 'string' && /^\/[\s\S]*\/$/.test(expected.trim())) {
    // As the format's runner reads them (Java's COMMENTS flag): unescaped white space and # comments are ignored.
    const source = expected
      .trim()
      .slice(1, -1)
      .replace(/(?<!\\)#.*$/gm, '')
      .replace(/(?<!\\)\s+/g, '');
    const re = new RegExp(source.replace(/\\ /g, ' '));
    expect(String(actual), where).toMatch(re);
  } else if (typeof expected === 'number' && typeof actual === 'number') expect(actual, where).toBeCloseTo(expected, 5);
  else expect(actual, where).toEqual(expected);
}

async function run(steps: Obj[], ctx: Ctx): Promise<void> {
  for (const step of steps) {
    const [kind, arg] = Object.entries(step)[0]!;
    const a = arg as Obj;
    switch (kind) {
      case 'do':
        await doStep(a, ctx);
        break;
      case 'match':
        for (const [p, v] of Object.entries(a)) compare(at(ctx, p), unstash(v, ctx), `match ${p}`);
        break;
      case 'length':
        for (const [p, v] of Object.entries(a)) {
          const x = at(ctx, p);
          expect(Array.isArray(x) ? x.length : isObj(x) ? Object.keys(x).length : undefined, `length ${p}`).toBe(v);
        }
        break;
      case 'is_true': {
        const x = at(ctx, String(arg));
        expect(x !== undefined && x !== null && x !== false && x !== '' && x !== 0, `is_true ${String(arg)}`).toBe(
          true,
        );
        break;
      }
      case 'is_false': {
        const x = at(ctx, String(arg));
        expect(x === undefined || x === null || x === false || x === '' || x === 0, `is_false ${String(arg)}`).toBe(
          true,
        );
        break;
      }
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        for (const [p, v] of Object.entries(a)) {
          const x = Number(at(ctx, p));
          const ok = { gt: x > Number(v), gte: x >= Number(v), lt: x < Number(v), lte: x <= Number(v) }[kind];
          expect(ok, `${kind} ${p}: ${x} vs ${String(v)}`).toBe(true);
        }
        break;
      case 'set':
        for (const [p, v] of Object.entries(a)) ctx.stash.set(String(v), at(ctx, p));
        break;
      case 'skip':
      case 'requires':
        break;
      default:
        throw new Error(`the runner has no step ${kind}`);
    }
  }
}

for (const file of readdirSync(DIR)
  .filter((f) => f.endsWith('.yml'))
  .sort()) {
  const docs = parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => d.toJS() as Obj | null);
  let setup: Obj[] = [];
  const tests: [string, Obj[]][] = [];
  for (const doc of docs) {
    if (!doc) continue;
    for (const [name, steps] of Object.entries(doc)) {
      if (name === 'setup') setup = steps as Obj[];
      else if (name !== 'teardown') tests.push([name, steps as Obj[]]);
    }
  }
  describe(file, () => {
    it.each(tests)('%s', async (_name, steps) => {
      const es = await startEs();
      try {
        const ctx: Ctx = { url: es.url, body: undefined, stash: new Map() };
        await run(setup, ctx);
        await run(steps, ctx);
      } finally {
        await es.close();
      }
    });
  });
}
