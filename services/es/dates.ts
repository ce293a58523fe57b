// Dates as Elasticsearch reads and writes them: the built-in formats (strict_date_optional_time, epoch_millis, ...),
// simple Java-style patterns (`yyyy-MM-dd HH:mm:ss`), `||` alternatives, and date math (`now-1h/h`,
// `2020-01-01||+1M/d`). Everything is UTC (time_zone is accepted only as UTC or a fixed offset).
import { EsError } from './errors.js';

/** The default format of a `date` field. */
export const DEFAULT_DATE_FORMAT = 'strict_date_optional_time||epoch_millis';

const ISO =
  /^([+-]?\d{4,9})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2})(?::(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,9}))?)?)?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

function offsetMinutes(zone: string | undefined): number {
  if (!zone || zone === 'Z' || zone === 'z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (!m) return NaN;
  const v = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -v : v;
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return NaN;
  // setUTCFullYear, not Date.UTC: Date.UTC takes years 0..99 as 1900+y.
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, ms);
  // 2021-02-30 would roll over to March; Elasticsearch refuses it.
  return t.getUTCDate() === d ? t.getTime() : NaN;
}

function parseIso(text: string, strict: boolean): number {
  const m = ISO.exec(text);
  if (!m) return NaN;
  if (strict) {
    // The strict formats want two-digit fields and a four-digit year.
    for (const i of [2, 3, 4, 5, 6]) if (m[i] !== undefined && m[i].length !== 2) return NaN;
    if (!/^\d{4}$/.test(m[1])) return NaN;
    if (text.includes(' ')) return NaN;
  }
  if (m[8] && m[4] === undefined) return NaN;
  const frac = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const t = utc(
    Number(m[1]),
    Number(m[2] ?? 1),
    Number(m[3] ?? 1),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
    frac,
  );
  return t - offsetMinutes(m[8]) * 60_000;
}

interface Pattern {
  regex: RegExp;
  fields: string[];
}
const patternCache = new Map<string, Pattern>();

/** A Java DateTimeFormatter pattern (the common letters) as a regular expression with one group per field. */
function compilePattern(pattern: string): Pattern {
  const cached = patternCache.get(pattern);
  if (cached) return cached;
  let src = '';
  const fields: string[] = [];
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i];
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      const lit = pattern.slice(i + 1, end < 0 ? undefined : end);
      src += lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i = end < 0 ? pattern.length : end + 1;
      continue;
    }
    let j = i;
    while (j < pattern.length && pattern[j] === c) j++;
    const run = pattern.slice(i, j);
    i = j;
    const n = run.length;
    switch (c) {
      case 'y':
      case 'u':
        fields.push('y');
        src += n === 2 ? '(\\d{2})' : '([+-]?\\d{4,9})';
        break;
      case 'M':
        fields.push('M');
        src += n >= 2 ? '(\\d{2})' : '(\\d{1,2})';
        break;
      case 'd':
      case 'H':
      case 'm':
      case 's':
        fields.push(c);
        src += n >= 2 ? '(\\d{2})' : '(\\d{1,2})';
        break;
      case 'S':
        fields.push('S');
        src += `(\\d{1,${n}})`;
        break;
      case 'Z':
      case 'X':
      case 'x':
        fields.push('Z');
        src += '(Z|[+-]\\d{2}:?\\d{2}|[+-]\\d{2})';
        break;
      default:
        src += run.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  const compiled = { regex: new RegExp(`^${src}$`), fields };
  patternCache.set(pattern, compiled);
  return compiled;
}

function parseWithPattern(text: string, pattern: string): number {
  const { regex, fields } = compilePattern(pattern);
  const m = regex.exec(text);
  if (!m) return NaN;
  const v: Record<string, string> = {};
  fields.forEach((f, i) => (v[f] = m[i + 1]));
  let year = Number(v.y ?? 1970);
  if (v.y && v.y.length === 2) year += 2000;
  const frac = v.S ? Number(v.S.slice(0, 3).padEnd(3, '0')) : 0;
  const t = utc(year, Number(v.M ?? 1), Number(v.d ?? 1), Number(v.H ?? 0), Number(v.m ?? 0), Number(v.s ?? 0), frac);
  return t - offsetMinutes(v.Z) * 60_000;
}

function parseOne(text: string, format: string): number {
  switch (format) {
    case 'strict_date_optional_time':
    case 'strict_date_optional_time_nanos':
    case 'strict_date_time':
    case 'strict_date_time_no_millis':
    case 'strict_date_hour_minute_second':
    case 'strict_date_hour_minute_second_millis':
    case 'strict_date_hour_minute_second_fraction':
      return parseIso(text, true);
    case 'date_optional_time':
    case 'date_time':
    case 'date_time_no_millis':
    case 'iso8601':
      return parseIso(text, false);
    case 'epoch_millis':
      return /^-?\d+(\.\d+)?$/.test(text) ? Math.trunc(Number(text)) : NaN;
    case 'epoch_second':
      return /^-?\d+(\.\d+)?$/.test(text) ? Math.trunc(Number(text) * 1000) : NaN;
    case 'strict_date':
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(text) ? parseIso(text, false) : NaN;
    case 'basic_date':
      return parseWithPattern(text, 'yyyyMMdd');
    case 'strict_year_month':
    case 'year_month':
      return parseWithPattern(text, 'yyyy-MM');
    case 'strict_year':
    case 'year':
      return parseWithPattern(text, 'yyyy');
    default:
      return parseWithPattern(text, format);
  }
}

/** Milliseconds since the epoch, or NaN when no alternative of the format accepts the value. */
export function parseDate(value: unknown, format: string = DEFAULT_DATE_FORMAT): number {
  const formats = format.split('||');
  if (typeof value === 'number') {
    if (formats.includes('epoch_second')) return Math.trunc(value * 1000);
    return Number.isFinite(value) ? Math.trunc(value) : NaN;
  }
  if (typeof value !== 'string') return NaN;
  for (const f of formats) {
    const t = parseOne(value, f.trim());
    if (!Number.isNaN(t)) return t;
  }
  return NaN;
}

export function failedToParseDate(value: unknown, format: string): EsError {
  return new EsError(
    400,
    'parse_exception',
    `failed to parse date field [${String(value)}] with format [${format}]`,
    {},
    new EsError(
      400,
      'illegal_argument_exception',
      `failed to parse date field [${String(value)}] with format [${format}]`,
    ),
  );
}

type Unit = 'y' | 'M' | 'w' | 'd' | 'h' | 'm' | 's';
const UNIT: Record<string, Unit> = { y: 'y', M: 'M', w: 'w', d: 'd', h: 'h', H: 'h', m: 'm', s: 's' };

function add(t: number, n: number, unit: Unit): number {
  const d = new Date(t);
  switch (unit) {
    case 'y':
      d.setUTCFullYear(d.getUTCFullYear() + n);
      return d.getTime();
    case 'M':
      d.setUTCMonth(d.getUTCMonth() + n);
      return d.getTime();
    case 'w':
      return t + n * 7 * 86_400_000;
    case 'd':
      return t + n * 86_400_000;
    case 'h':
      return t + n * 3_600_000;
    case 'm':
      return t + n * 60_000;
    case 's':
      return t + n * 1000;
  }
}

/** The start of the calendar unit holding `t` (weeks start on Monday, as in Elasticsearch). */
export function roundDown(t: number, unit: Unit): number {
  const d = new Date(t);
  switch (unit) {
    case 'y':
      return Date.UTC(d.getUTCFullYear(), 0, 1);
    case 'M':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case 'w': {
      const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      const dow = (d.getUTCDay() + 6) % 7;
      return day - dow * 86_400_000;
    }
    case 'd':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    case 'h':
      return Math.floor(t / 3_600_000) * 3_600_000;
    case 'm':
      return Math.floor(t / 60_000) * 60_000;
    case 's':
      return Math.floor(t / 1000) * 1000;
  }
}

/**
 * Resolves a date-math expression to milliseconds. `roundUp` is for `gt`/`lte` bounds, where `/d` means the last
 * millisecond of the day.
 */
export function resolveDateMath(
  expr: unknown,
  opts: { format?: string; roundUp?: boolean; now?: number } = {},
): number {
  const format = opts.format ?? DEFAULT_DATE_FORMAT;
  if (typeof expr === 'number') return parseDate(expr, format);
  if (typeof expr !== 'string') throw failedToParseDate(expr, format);
  let anchor: number;
  let math: string;
  if (expr.startsWith('now')) {
    anchor = opts.now ?? Date.now();
    math = expr.slice(3);
  } else {
    const sep = expr.indexOf('||');
    const base = sep < 0 ? expr : expr.slice(0, sep);
    anchor = parseDate(base, format);
    if (Number.isNaN(anchor)) throw failedToParseDate(expr, format);
    math = sep < 0 ? '' : expr.slice(sep + 2);
  }
  let t = anchor;
  let i = 0;
  while (i < math.length) {
    const op = math[i++];
    if (op === '/') {
      const unit = UNIT[math[i++]];
      if (!unit) throw failedToParseDate(expr, format);
      t = roundDown(t, unit);
      if (opts.roundUp) t = add(t, 1, unit) - 1;
    } else if (op === '+' || op === '-') {
      let digits = '';
      while (i < math.length && /\d/.test(math[i])) digits += math[i++];
      const unit = UNIT[math[i++]];
      if (!unit) throw failedToParseDate(expr, format);
      const n = digits === '' ? 1 : Number(digits);
      t = add(t, op === '+' ? n : -n, unit);
    } else {
      throw failedToParseDate(expr, format);
    }
  }
  return t;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Renders milliseconds in a date format (its first alternative), as `key_as_string` and `value_as_string` do. */
export function formatDate(t: number, format: string = DEFAULT_DATE_FORMAT): string {
  const first = format.split('||')[0].trim();
  switch (first) {
    case 'epoch_millis':
      return String(t);
    case 'epoch_second':
      return String(Math.floor(t / 1000));
    case 'strict_date_optional_time':
    case 'date_optional_time':
    case 'strict_date_optional_time_nanos':
    case 'strict_date_time':
    case 'date_time':
      return new Date(t).toISOString();
    case 'strict_date':
    case 'date':
      return new Date(t).toISOString().slice(0, 10);
  }
  const d = new Date(t);
  let out = '';
  for (let i = 0; i < first.length;) {
    const c = first[i];
    if (c === "'") {
      const end = first.indexOf("'", i + 1);
      out += first.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? first.length : end + 1;
      continue;
    }
    let j = i;
    while (j < first.length && first[j] === c) j++;
    const n = j - i;
    i = j;
    switch (c) {
      case 'y':
      case 'u':
        out += n === 2 ? pad(d.getUTCFullYear() % 100) : pad(d.getUTCFullYear(), 4);
        break;
      case 'M':
        out += pad(d.getUTCMonth() + 1, n);
        break;
      case 'd':
        out += pad(d.getUTCDate(), n);
        break;
      case 'H':
        out += pad(d.getUTCHours(), n);
        break;
      case 'm':
        out += pad(d.getUTCMinutes(), n);
        break;
      case 's':
        out += pad(d.getUTCSeconds(), n);
        break;
      case 'S':
        out += pad(d.getUTCMilliseconds(), 3).slice(0, n).padEnd(n, '0');
        break;
      case 'Z':
      case 'X':
        out += n >= 3 || c === 'X' ? 'Z' : '+0000';
        break;
      default:
        out += first.slice(i - n, i);
    }
  }
  return out;
}
