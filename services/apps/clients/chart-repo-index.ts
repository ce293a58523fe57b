// index.yaml → a compact index: chart → versions (newest first) with only the fields the catalog answers with; no
// YAML tree of the whole file is ever built. Helm writes its index in one layout (sigs.k8s.io/yaml: top-level keys
// at column 0, `entries:` then one key per chart, then a `- ` item per version), so the body is read line by line
// and each version item (a few hundred bytes) is parsed on its own with the `yaml` package: memory stays at the body
// bytes plus the compact result (bench/apps-catalog.bench.ts measures it for a 50 MB, 30,000-version index). A body
// in any other layout (JSON, flow style, anchors across items, tabs) is parsed whole, under a smaller cap.
// Scalars are read with the failsafe schema (every scalar a string), so `version: 1.10` stays "1.10".
import { StringDecoder } from 'node:string_decoder';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import { badUserInput } from '../../common/errors.js';

export interface IndexedVersion {
  version: string;
  appVersion: string | null;
  /** ISO-8601, as the index has it. */
  created: string | null;
  deprecated: boolean;
  /** sha256 hex of the archive. */
  digest: string | null;
  urls: string[];
  prerelease: boolean;
}

export interface IndexedChart {
  name: string;
  /** From the newest non-prerelease version (the newest when all are prereleases). */
  description: string | null;
  icon: string | null;
  keywords: string[];
  /** Newest first (semver). */
  versions: IndexedVersion[];
  latest: IndexedVersion;
  /** Name, keywords and description in lower case, made once for search. */
  search: { name: string; keywords: string[]; description: string };
}

export interface ParsedIndex {
  /** Sorted by name. */
  charts: IndexedChart[];
  versionCount: number;
  /** Versions left out (no valid semver version, not a mapping). */
  skipped: number;
}

const DEFAULT_FULL_PARSE_MAX = 16 << 20;

class NotHelmLayout extends Error {}

interface Pending {
  name: string;
  versions: {
    v: IndexedVersion;
    sv: semver.SemVer;
    description: string | null;
    icon: string | null;
    keywords: string[];
  }[];
}

export interface IndexParserOptions {
  /** Bodies not in helm's layout are parsed whole, up to this many bytes (default 16 MiB). */
  fullParseMaxBytes?: number;
  /** For messages ("index.yaml of repository x"). */
  what?: string;
}

/**
 * Parses an index as its bytes arrive (`push` each chunk, then `end`): the body itself is not kept, except its first
 * `fullParseMaxBytes` in case it turns out not to be in helm's layout and has to be parsed whole.
 */
export class IndexParser {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';
  private kept: Buffer[] | null = [];
  private keptBytes = 0;
  private helm: HelmLayout | null;
  private readonly what: string;
  private readonly max: number;

  constructor(opts: IndexParserOptions = {}) {
    this.what = opts.what ?? 'index.yaml';
    this.max = opts.fullParseMaxBytes ?? DEFAULT_FULL_PARSE_MAX;
    this.helm = new HelmLayout(this.what);
  }

  push(chunk: Buffer): void {
    if (this.kept) {
      this.keptBytes += chunk.length;
      if (this.keptBytes <= this.max) this.kept.push(chunk);
      else this.kept = null;
    }
    if (this.helm) {
      const text = this.rest + this.decoder.write(chunk);
      let start = 0;
      try {
        for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
          this.helm.line(text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl));
          start = nl + 1;
        }
        this.rest = text.slice(start);
      } catch (e) {
        if (!(e instanceof NotHelmLayout)) throw e;
        this.helm = null;
        this.rest = '';
      }
    }
    if (!this.helm && !this.kept) throw this.tooLargeToParseWhole();
  }

  end(): ParsedIndex {
    if (this.helm) {
      try {
        const last = this.rest + this.decoder.end();
        if (last.length > 0) this.helm.line(last.endsWith('\r') ? last.slice(0, -1) : last);
        return this.helm.finish();
      } catch (e) {
        if (!(e instanceof NotHelmLayout)) throw e;
      }
    }
    if (!this.kept) throw this.tooLargeToParseWhole();
    return parseWhole(Buffer.concat(this.kept).toString('utf8'), this.what);
  }

  private tooLargeToParseWhole() {
    return badUserInput(
      `${this.what} is not in helm's index layout and is larger than ${this.max} bytes, the most parsed whole: refused`,
    );
  }
}

/** Parses an index body given as the chunks it arrived in. */
export function parseIndex(chunks: Buffer[], opts: IndexParserOptions = {}): ParsedIndex {
  const parser = new IndexParser(opts);
  for (const chunk of chunks) parser.push(chunk);
  return parser.end();
}

const indentOf = (line: string) => {
  let i = 0;
  while (i < line.length && line.charCodeAt(i) === 32) i++;
  return i;
};

/** The line reader of helm's layout; throws NotHelmLayout at the first line it cannot place. */
class HelmLayout {
  private readonly charts = new Map<string, Pending>();
  private skipped = 0;
  private mode: 'start' | 'top' | 'entries' | 'done' = 'start';
  private sawApiVersion = false;
  private entryIndent = -1;
  private itemIndent = -1;
  private chart: Pending | undefined;
  private item: string[] | undefined;

  constructor(private readonly what: string) {}

  private flush(): void {
    if (this.item && this.chart && !addItem(this.chart, this.item, this.itemIndent)) this.skipped++;
    this.item = undefined;
  }

  line(line: string): void {
    if (this.mode === 'done') return;
    const indent = indentOf(line);
    const rest = line.slice(indent);
    if (rest.length === 0 || rest.startsWith('#')) {
      this.item?.push(line);
      return;
    }
    if (rest.charCodeAt(0) === 9) throw new NotHelmLayout();
    if (indent === 0) {
      this.flush();
      this.chart = undefined;
      if (line === '---' && this.mode === 'start') return;
      if (line === '...') {
        this.mode = 'done';
        return;
      }
      const key = /^([A-Za-z][A-Za-z0-9_-]*):(\s.*)?$/.exec(line);
      if (!key) throw new NotHelmLayout();
      const value = (key[2] ?? '').trim();
      if (key[1] === 'apiVersion') this.sawApiVersion = true;
      if (key[1] === 'entries') {
        if (value === '' || value.startsWith('#')) this.mode = 'entries';
        else if (/^\{\s*\}$/.test(value)) this.mode = 'top';
        else throw new NotHelmLayout();
      } else this.mode = 'top';
      return;
    }
    if (this.mode !== 'entries') {
      if (this.mode === 'start') throw new NotHelmLayout();
      return;
    }
    if (this.item && indent > this.itemIndent) {
      this.item.push(line);
      return;
    }
    if (rest === '-' || rest.startsWith('- ')) {
      if (!this.chart || indent < this.entryIndent || (this.itemIndent !== -1 && indent !== this.itemIndent))
        throw new NotHelmLayout();
      this.flush();
      this.itemIndent = indent;
      this.item = [line];
      return;
    }
    if (this.entryIndent === -1) this.entryIndent = indent;
    if (indent !== this.entryIndent) throw new NotHelmLayout();
    this.flush();
    this.chart = startChart(this.charts, rest);
  }

  finish(): ParsedIndex {
    this.flush();
    if (!this.sawApiVersion)
      throw badUserInput(
        `${this.what} is not a Helm repository index (no apiVersion): is the URL that of a chart repository?`,
      );
    return finish(this.charts, this.skipped);
  }
}

function startChart(charts: Map<string, Pending>, keyLine: string): Pending | undefined {
  let name: string;
  let value: string;
  if (keyLine.startsWith('"') || keyLine.startsWith("'")) {
    let parsed: unknown;
    try {
      parsed = parseYaml(keyLine, { schema: 'failsafe' });
    } catch {
      throw new NotHelmLayout();
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new NotHelmLayout();
    const [k, v] = Object.entries(parsed as Record<string, unknown>)[0] ?? [];
    if (typeof k !== 'string') throw new NotHelmLayout();
    name = own(k);
    value = typeof v === 'string' ? v : Array.isArray(v) && v.length === 0 ? '[]' : v ? 'x' : '';
  } else {
    const m = /^([^\s:#][^:]*):(\s.*)?$/.exec(keyLine);
    if (!m) throw new NotHelmLayout();
    name = own(m[1]);
    value = (m[2] ?? '').trim();
  }
  if (value !== '' && !value.startsWith('#') && value !== '[]') throw new NotHelmLayout();
  let pending = charts.get(name);
  if (!pending) charts.set(name, (pending = { name, versions: [] }));
  return pending;
}

/** Parses one `- ` item (its lines); false when it is left out. */
function addItem(chart: Pending, itemLines: string[], itemIndent: number): boolean {
  const fast = fastItem(itemLines, itemIndent);
  if (fast !== undefined) return addVersion(chart, fast);
  let parsed: unknown;
  try {
    parsed = parseYaml(itemLines.join('\n'), { schema: 'failsafe', uniqueKeys: false });
  } catch {
    // An alias to an anchor in another item, or something the line reader cut wrongly: parse the whole file.
    throw new NotHelmLayout();
  }
  if (!Array.isArray(parsed) || parsed.length !== 1) throw new NotHelmLayout();
  return addVersion(chart, parsed[0]);
}

/**
 * A string kept in the index, copied: V8 keeps a slice of a longer string as a view into it, so without the copy
 * every kept field would hold the whole 64 KiB chunk of the body it was cut from.
 */
const own = (s: string): string => (s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8'));

const str = (v: unknown): string | null =>
  typeof v === 'string' ? own(v) : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;

function addVersion(chart: Pending, raw: unknown): boolean {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return false;
  const m = raw as Record<string, unknown>;
  const version = str(m.version);
  const parsed = version !== null ? toSemver(version) : null;
  if (version === null || parsed === null) return false;
  const created = str(m.created);
  const digest = str(m.digest);
  chart.versions.push({
    v: {
      version,
      appVersion: str(m.appVersion),
      created: created !== null && !Number.isNaN(Date.parse(created)) ? created : null,
      deprecated: /^(true|True|TRUE)$/.test(str(m.deprecated) ?? ''),
      digest: digest !== null ? digest.replace(/^sha256:/, '').toLowerCase() : null,
      urls: Array.isArray(m.urls) ? m.urls.map(str).filter((u): u is string => u !== null) : [],
      prerelease: parsed.prerelease.length > 0,
    },
    sv: parsed,
    description: str(m.description),
    icon: str(m.icon),
    keywords: Array.isArray(m.keywords) ? m.keywords.map(str).filter((k): k is string => k !== null) : [],
  });
  return true;
}

const PARTIAL = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** A chart version as helm (Masterminds semver) reads it: `v` prefix and missing minor/patch allowed. */
export function toSemver(version: string): semver.SemVer | null {
  const strict = semver.parse(version, { loose: true });
  if (strict) return strict;
  const m = PARTIAL.exec(version);
  return m ? semver.parse(`${m[1]}.${m[2] ?? 0}.${m[3] ?? 0}${m[4] ?? ''}${m[5] ?? ''}`) : null;
}

function finish(pending: Map<string, Pending>, skipped: number): ParsedIndex {
  const charts: IndexedChart[] = [];
  let versionCount = 0;
  for (const p of pending.values()) {
    if (p.versions.length === 0) continue;
    p.versions.sort((a, b) => b.sv.compare(a.sv));
    const newest = p.versions.find((x) => !x.v.prerelease) ?? p.versions[0];
    versionCount += p.versions.length;
    charts.push({
      name: p.name,
      description: newest.description,
      icon: newest.icon,
      keywords: newest.keywords,
      versions: p.versions.map((x) => x.v),
      latest: newest.v,
      search: {
        name: p.name.toLowerCase(),
        keywords: newest.keywords.map((k) => k.toLowerCase()),
        description: newest.description?.toLowerCase() ?? '',
      },
    });
  }
  charts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { charts, versionCount, skipped };
}

function parseWhole(text: string, what: string): ParsedIndex {
  let doc: unknown;
  try {
    doc = /^\s*\{/.test(text) ? JSON.parse(text) : parseYaml(text, { schema: 'failsafe', maxAliasCount: 1000 });
  } catch (e) {
    throw badUserInput(`${what} is malformed: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw badUserInput(`${what} is malformed: not a mapping`);
  const top = doc as Record<string, unknown>;
  if (top.apiVersion === undefined || top.apiVersion === null)
    throw badUserInput(
      `${what} is not a Helm repository index (no apiVersion): is the URL that of a chart repository?`,
    );
  const entries = top.entries ?? {};
  if (typeof entries !== 'object' || Array.isArray(entries) || entries === null)
    throw badUserInput(`${what} is malformed: entries is not a mapping`);
  const charts = new Map<string, Pending>();
  let skipped = 0;
  for (const [name, list] of Object.entries(entries as Record<string, unknown>)) {
    const pending: Pending = { name, versions: [] };
    charts.set(name, pending);
    for (const raw of Array.isArray(list) ? list : []) if (!addVersion(pending, raw)) skipped++;
  }
  return finish(charts, skipped);
}

const WANTED_SCALARS = new Set(['version', 'appVersion', 'created', 'deprecated', 'digest', 'description', 'icon']);
const WANTED_LISTS = new Set(['keywords', 'urls']);

/**
 * The fields the catalog keeps, read from one item's lines without a YAML parser, for the plain and quoted one-line
 * scalars and block lists helm writes; undefined when a wanted field is written any other way (the item is then
 * parsed with the `yaml` package). Fields not wanted are skipped with all their nested lines, unread.
 */
function fastItem(lines: string[], itemIndent: number): Record<string, unknown> | undefined {
  const first = lines[0];
  let keyIndent = itemIndent + 1;
  while (first.charCodeAt(keyIndent) === 32) keyIndent++;
  if (keyIndent >= first.length) return undefined;
  const out: Record<string, unknown> = {};
  const n = lines.length;
  let i = 0;
  while (i < n) {
    const line = lines[i];
    const ind = i === 0 ? keyIndent : indentOf(line);
    if (ind === line.length || line.charCodeAt(ind) === 35 /* # */) {
      i++;
      continue;
    }
    if (ind !== keyIndent) return undefined;
    const colon = line.indexOf(':', ind);
    if (colon === -1 || (colon + 1 < line.length && line.charCodeAt(colon + 1) !== 32)) return undefined;
    const key = line.slice(ind, colon);
    const value = line.slice(colon + 1).trim();
    let j = i + 1;
    let children = 0;
    for (; j < n; j++) {
      const l = lines[j];
      const li = indentOf(l);
      if (li === l.length || l.charCodeAt(li) === 35) continue;
      if (
        li > keyIndent ||
        (li === keyIndent && l.charCodeAt(li) === 45 /* - */ && (l.length === li + 1 || l.charCodeAt(li + 1) === 32))
      ) {
        children++;
        continue;
      }
      break;
    }
    if (WANTED_SCALARS.has(key)) {
      if (children > 0) return undefined;
      const v = scalar(value);
      if (v === undefined) return undefined;
      out[key] = v;
    } else if (WANTED_LISTS.has(key)) {
      if (value === '[]' && children === 0) out[key] = [];
      else if (value !== '') return undefined;
      else {
        const list: string[] = [];
        let listIndent = -1;
        for (let k = i + 1; k < j; k++) {
          const l = lines[k];
          const li = indentOf(l);
          if (li === l.length || l.charCodeAt(li) === 35) continue;
          if (listIndent === -1) listIndent = li;
          if (li !== listIndent || !l.startsWith('- ', li)) return undefined;
          const v = scalar(l.slice(li + 2).trim());
          if (v === undefined || v === null) return undefined;
          list.push(v);
        }
        out[key] = list;
      }
    } else if (key.length === 0 || key.charCodeAt(0) === 34 || key.charCodeAt(0) === 39 || key.charCodeAt(0) === 63) {
      return undefined;
    }
    i = j;
  }
  return out;
}

/** A one-line scalar's text (null for an empty value); undefined when it is anything this reader does not handle. */
function scalar(value: string): string | null | undefined {
  if (value === '') return null;
  const c = value.charCodeAt(0);
  if (c === 34 /* " */) {
    const end = value.lastIndexOf('"');
    if (end === 0 || !onlyComment(value, end + 1)) return undefined;
    const body = value.slice(0, end + 1);
    if (body.indexOf('\\') === -1) return body.slice(1, -1);
    try {
      const v: unknown = JSON.parse(body);
      return typeof v === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  }
  if (c === 39 /* ' */) {
    const end = value.lastIndexOf("'");
    if (end === 0 || !onlyComment(value, end + 1)) return undefined;
    return value.slice(1, end).replaceAll("''", "'");
  }
  if ('&*!|>{[%@`,?:-]}#'.includes(value[0])) {
    // `-1` or `-x` are plain scalars; `- x`, `-` alone are not.
    if (!(value[0] === '-' && value.length > 1 && value[1] !== ' ')) return undefined;
  }
  const hash = value.indexOf(' #');
  const text = (hash === -1 ? value : value.slice(0, hash)).trimEnd();
  if (text.includes(': ')) return undefined;
  return text;
}

const onlyComment = (value: string, from: number) => {
  const tail = value.slice(from).trim();
  return tail === '' || tail.startsWith('#');
};
