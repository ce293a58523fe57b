// Intervals of the histogram aggregations: fixed and calendar intervals, offsets, calendar steps, and the parse
// errors Elasticsearch answers for them (with its "did you mean" suggestions for unknown fields).
import { EsError, illegalArgument } from './errors.js';

export type CalendarUnit = 'm' | 'h' | 'd' | 'w' | 'M' | 'q' | 'y';
export type Interval = { fixed: number } | { calendar: CalendarUnit };

export function xcontent(reason: string, cause?: EsError): EsError {
  return new EsError(400, 'x_content_parse_exception', `[1:2] ${reason}`, {}, cause);
}

export const CALENDAR: Record<string, 'm' | 'h' | 'd' | 'w' | 'M' | 'q' | 'y'> = {
  '1m': 'm',
  minute: 'm',
  '1h': 'h',
  hour: 'h',
  '1d': 'd',
  day: 'd',
  '1w': 'w',
  week: 'w',
  '1M': 'M',
  month: 'M',
  '1q': 'q',
  quarter: 'q',
  '1y': 'y',
  year: 'y',
};

export function parseFixed(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!m || Number(m[1]) === 0) {
    throw xcontent(
      '[date_histogram] failed to parse field [fixed_interval]',
      illegalArgument(
        `failed to parse setting [date_histogram.fixedInterval] with value [${text}] as a time value: unit is missing or unrecognized`,
      ),
    );
  }
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms'];
}

export const DATE_HISTOGRAM_FIELDS = [
  'field',
  'fixed_interval',
  'calendar_interval',
  'offset',
  'extended_bounds',
  'hard_bounds',
  'min_doc_count',
  'order',
  'keyed',
  'format',
  'missing',
  'time_zone',
];

/** Jaro-Winkler similarity, which Elasticsearch's parsers use to suggest a field for an unknown one. */
function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  const window = Math.max(0, Math.floor(Math.max(a.length, b.length) / 2) - 1);
  const usedA = new Array<boolean>(a.length).fill(false);
  const usedB = new Array<boolean>(b.length).fill(false);
  let matches = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = Math.max(0, i - window); j < Math.min(b.length, i + window + 1); j++) {
      if (usedB[j] || a[i] !== b[j]) continue;
      usedA[i] = usedB[j] = true;
      matches++;
      break;
    }
  }
  if (matches === 0) return 0;
  let t = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    if (!usedA[i]) continue;
    while (!usedB[k]) k++;
    if (a[i] !== b[k]) t++;
    k++;
  }
  const jaro = (matches / a.length + matches / b.length + (matches - t / 2) / matches) / 3;
  let prefix = 0;
  while (prefix < Math.min(4, a.length, b.length) && a[prefix] === b[prefix]) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

/** Elasticsearch's " did you mean [x]?" / " did you mean any of [x, y]?" for an unknown field. */
export function suggest(unknown: string, candidates: string[]): string {
  const close = candidates
    .map((c) => [c, jaroWinkler(unknown, c)] as const)
    .filter(([, d]) => d > 0.7)
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
    .map(([c]) => c);
  if (close.length === 0) return '';
  return close.length === 1 ? ` did you mean [${close[0]}]?` : ` did you mean any of [${close.join(', ')}]?`;
}

export function addCalendar(t: number, unit: 'm' | 'h' | 'd' | 'w' | 'M' | 'q' | 'y'): number {
  const d = new Date(t);
  switch (unit) {
    case 'M':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    case 'q':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 3, 1);
    case 'y':
      return Date.UTC(d.getUTCFullYear() + 1, 0, 1);
    case 'w':
      return t + 7 * 86_400_000;
    case 'd':
      return t + 86_400_000;
    case 'h':
      return t + 3_600_000;
    default:
      return t + 60_000;
  }
}

export function parseOffset(v: unknown, isDate: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (!isDate) return Number(v);
  const m = /^([+-])?(\d+)(ms|s|m|h|d)$/.exec(String(v));
  if (!m)
    throw illegalArgument(
      `failed to parse setting [date_histogram.offset] with value [${String(v)}] as a time value: unit is missing or unrecognized`,
    );
  const ms = Number(m[2]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[3] as 'ms'];
  return m[1] === '-' ? -ms : ms;
}
