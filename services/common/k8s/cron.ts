// CronJob schedules, one parser for admission and the controller, so that what the API server admits is what the
// controller runs. Kubernetes parses spec.schedule with robfig/cron v3's ParseStandard, both in validation
// (pkg/apis/batch/validation) and in the CronJob controller, so this follows it:
//   - five fields (minute hour day-of-month month day-of-week), each a comma list of `*`, `?`, `N`, `N-M`, with an
//     optional `/step`; months JAN-DEC and days SUN-SAT by name, in any case;
//   - the descriptors @yearly @annually @monthly @weekly @daily @midnight @hourly (exactly so, lower case), and
//     `@every <Go duration>` (a constant delay, rounded down to whole seconds, at least one second);
//   - a `TZ=<zone> ` or `CRON_TZ=<zone> ` prefix, which robfig understands but validation refuses on create (use
//     spec.timeZone), and keeps only on an update of a schedule that already had one.
// The error texts are robfig's, so that `kubectl apply` users read what a real cluster says.

const MINUTE = { min: 0, max: 59 } as const;
const HOUR = { min: 0, max: 23 } as const;
const DOM = { min: 1, max: 31 } as const;
const MONTH = {
  min: 1,
  max: 12,
  names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  base: 1,
} as const;
const DOW = { min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], base: 0 } as const;
const DAYS = DOW.names;

const DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A schedule of cron fields: the minutes, hours, … it fires at. */
export interface SpecSchedule {
  kind: 'spec';
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  month: Set<number>;
  dow: Set<number>;
  /** A `*` (or `?`) day field: robfig then requires both day fields to match, otherwise either. */
  domStar: boolean;
  dowStar: boolean;
  /** From a TZ=/CRON_TZ= prefix; it overrides the CronJob's time zone, as in the controller. */
  timeZone?: string;
}

/** `@every <duration>`: every `delayMs` from the previous time (whole seconds). */
export interface EverySchedule {
  kind: 'every';
  delayMs: number;
  timeZone?: string;
}

export type CronSchedule = SpecSchedule | EverySchedule;

export class CronSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronSyntaxError';
  }
}

const fail = (message: string): never => {
  throw new CronSyntaxError(message);
};

/** Go's %q of a string, close enough for error texts (JSON escapes are Go's for printable ASCII). */
const goQuote = (s: string) => JSON.stringify(s);

/** strconv.Atoi as robfig uses it, with its error text; a negative number is refused after parsing. */
function atoi(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr))
    fail(`failed to parse int from ${expr}: strconv.Atoi: parsing ${goQuote(expr)}: invalid syntax`);
  const n = Number(expr);
  if (!Number.isSafeInteger(n))
    fail(`failed to parse int from ${expr}: strconv.Atoi: parsing ${goQuote(expr)}: value out of range`);
  if (n < 0) fail(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

interface Bounds {
  min: number;
  max: number;
  names?: readonly string[];
  base?: number;
}

function intOrName(expr: string, r: Bounds): number {
  const named = r.names?.indexOf(expr.toLowerCase()) ?? -1;
  return named >= 0 ? named + (r.base ?? 0) : atoi(expr);
}

/** One field: its values, and whether it was a star (robfig's starBit: `*`, `?`, or a star with step 1). */
function parseField(field: string, r: Bounds): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  // strings.FieldsFunc on ',': empty elements are skipped.
  for (const expr of field.split(',').filter(Boolean)) {
    const rangeAndStep = expr.split('/');
    const lowAndHigh = rangeAndStep[0].split('-');
    let start: number;
    let end: number;
    let isStar = false;
    if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
      // robfig looks no further than the star: "*-5" is all values.
      start = r.min;
      end = r.max;
      isStar = true;
    } else {
      start = intOrName(lowAndHigh[0], r);
      if (lowAndHigh.length === 1) end = start;
      else if (lowAndHigh.length === 2) end = intOrName(lowAndHigh[1], r);
      else return fail(`too many hyphens: ${expr}`);
    }
    let step = 1;
    if (rangeAndStep.length === 2) {
      step = atoi(rangeAndStep[1]);
      if (lowAndHigh.length === 1) end = r.max; // "N/step" means "N-max/step"
      if (step > 1) isStar = false;
    } else if (rangeAndStep.length > 2) fail(`too many slashes: ${expr}`);
    if (start < r.min) fail(`beginning of range (${start}) below minimum (${r.min}): ${expr}`);
    if (end > r.max) fail(`end of range (${end}) above maximum (${r.max}): ${expr}`);
    if (start > end) fail(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
    if (step === 0) fail(`step of range should be a positive number: ${expr}`);
    for (let i = start; i <= end; i += step) values.add(i);
    star ||= isStar;
  }
  return { values, star };
}

// ------------------------------------------------------------------ Go durations (for @every)

const NS_PER: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5
  μs: 1_000n, // U+03BC
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_DURATION = (1n << 63n) - 1n;

/**
 * The nanoseconds of a unit's fraction as Go computes them: the digits that fit an int64, then in float64
 * (uint64(float64(f) * (float64(unit) / scale))), so that "0.3333333333333333333h" is 20m there and here.
 */
function fractionNs(digits: string, unit: bigint): bigint {
  let f = 0n;
  let scale = 1;
  for (const c of digits) {
    if (f > ((1n << 63n) - 1n) / 10n) break; // Go stops taking digits once they would overflow
    f = f * 10n + BigInt(c);
    scale *= 10;
  }
  return BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
}

/**
 * Go's time.ParseDuration, in nanoseconds: a sequence of decimal numbers with a unit each ("1h30m", "1.5s", "-2m"),
 * or "0". Throws CronSyntaxError with Go's message otherwise (including beyond ±292 years, int64 nanoseconds).
 */
export function parseGoDuration(orig: string): bigint {
  const invalid = () => fail(`time: invalid duration ${goQuote(orig)}`);
  let s = orig;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') invalid();
  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, intPart, fracPart] = [m[0], m[1], m[2]];
    if (intPart === '' && !fracPart) invalid(); // no digits, e.g. ".s"
    s = s.slice(whole.length);
    let i = 0;
    while (i < s.length && s[i] !== '.' && !(s[i] >= '0' && s[i] <= '9')) i++;
    if (i === 0) fail(`time: missing unit in duration ${goQuote(orig)}`);
    const unitName = s.slice(0, i);
    s = s.slice(i);
    const unit = NS_PER[unitName] ?? fail(`time: unknown unit ${goQuote(unitName)} in duration ${goQuote(orig)}`);
    let v = BigInt(intPart || '0') * unit;
    if (fracPart) v += fractionNs(fracPart, unit);
    total += v;
    if (total > MAX_DURATION + (neg ? 1n : 0n)) invalid();
  }
  return neg ? -total : total;
}

// ------------------------------------------------------------------ parsing

/** Throws RangeError for a time zone the runtime does not know (as an unknown IANA name in Kubernetes). */
export function checkTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

/**
 * Parses a schedule as robfig/cron v3's ParseStandard does (what Kubernetes' validation and CronJob controller use);
 * throws CronSyntaxError with robfig's message otherwise.
 */
export function parseSchedule(schedule: string): CronSchedule {
  if (schedule.length === 0) fail('empty spec string');
  let spec = schedule;
  let timeZone: string | undefined;
  if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) {
    const space = spec.indexOf(' ');
    const zone = spec.slice(spec.indexOf('=') + 1, space < 0 ? undefined : space);
    if (space < 0) fail(`missing fields after time zone in spec ${goQuote(spec)}`); // robfig v3.0.1 would panic here
    try {
      checkTimeZone(zone);
    } catch {
      fail(`provided bad location ${zone}: unknown time zone ${zone}`);
    }
    timeZone = zone;
    spec = spec.slice(space).trim();
  }
  if (spec.startsWith('@')) {
    const expanded = DESCRIPTORS[spec];
    if (expanded) return { ...parseFields(expanded), ...(timeZone ? { timeZone } : {}) };
    if (spec.startsWith('@every ')) {
      let ns: bigint;
      try {
        ns = parseGoDuration(spec.slice('@every '.length));
      } catch (e) {
        return fail(`failed to parse duration ${spec}: ${(e as Error).message}`);
      }
      // cron.Every: at least one second, and whole seconds.
      const seconds = ns < 1_000_000_000n ? 1n : ns / 1_000_000_000n;
      return { kind: 'every', delayMs: Number(seconds) * 1000, ...(timeZone ? { timeZone } : {}) };
    }
    return fail(`unrecognized descriptor: ${spec}`);
  }
  return { ...parseFields(spec), ...(timeZone ? { timeZone } : {}) };
}

function parseFields(spec: string): SpecSchedule {
  const fields = spec.split(/\s+/).filter(Boolean); // strings.Fields
  if (fields.length !== 5) fail(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  const minute = parseField(fields[0], MINUTE);
  const hour = parseField(fields[1], HOUR);
  const dom = parseField(fields[2], DOM);
  const month = parseField(fields[3], MONTH);
  const dow = parseField(fields[4], DOW);
  return {
    kind: 'spec',
    minute: minute.values,
    hour: hour.values,
    dom: dom.values,
    month: month.values,
    dow: dow.values,
    domStar: dom.star,
    dowStar: dow.star,
  };
}

/** Whether robfig's ParseStandard accepts the schedule (TZ prefixes included; see scheduleProblems). */
export function isValidSchedule(schedule: string): boolean {
  try {
    parseSchedule(schedule);
    return true;
  } catch (e) {
    if (e instanceof CronSyntaxError) return false;
    throw e;
  }
}

/**
 * The problems of a CronJob's spec.schedule as the API server's validation reports them (validateScheduleFormat):
 * robfig's parse error, and a TZ/CRON_TZ in the schedule, refused unless an update keeps one the old schedule had
 * (and then not together with spec.timeZone). Empty when valid.
 */
export function scheduleProblems(
  schedule: string,
  opts: { oldSchedule?: string; timeZone?: string | null } = {},
): string[] {
  const out: string[] = [];
  try {
    parseSchedule(schedule);
  } catch (e) {
    if (!(e instanceof CronSyntaxError)) throw e;
    out.push(e.message);
  }
  const allowTZ = opts.oldSchedule !== undefined && opts.oldSchedule.includes('TZ');
  if (allowTZ && schedule.includes('TZ') && opts.timeZone != null)
    out.push('cannot use both timeZone field and TZ or CRON_TZ in schedule');
  else if (!allowTZ && schedule.includes('TZ'))
    out.push('cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  return out;
}

// ------------------------------------------------------------------ times

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday. */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock fields of an instant in a time zone. */
export function wallClock(ms: number, timeZone: string): WallClock {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    weekday: DAYS.indexOf(parts.weekday.toLowerCase().slice(0, 3) as (typeof DAYS)[number]),
  };
}

/**
 * The first time strictly after `after` that the schedule fires (robfig's Schedule.Next): cron fields at minute
 * resolution read in the schedule's TZ= zone or else `timeZone` (UTC by default), within five years (undefined if
 * never, e.g. "0 0 30 2 *"); `@every d` is `after` truncated to the second plus d.
 */
export function nextScheduleTime(schedule: string | CronSchedule, after: Date, timeZone = 'UTC'): Date | undefined {
  const s = typeof schedule === 'string' ? parseSchedule(schedule) : schedule;
  if (s.kind === 'every') return new Date(Math.floor(after.getTime() / 1000) * 1000 + s.delayMs);
  const zone = s.timeZone ?? timeZone;
  let t = Math.floor(after.getTime() / 60_000) * 60_000 + 60_000;
  const limit = t + 5 * 366 * 86_400_000;
  while (t <= limit) {
    const z = wallClock(t, zone);
    const domMatch = s.dom.has(z.day);
    const dowMatch = s.dow.has(z.weekday);
    const dayMatch = s.domStar || s.dowStar ? domMatch && dowMatch : domMatch || dowMatch;
    if (!s.month.has(z.month) || !dayMatch) {
      t += ((24 - z.hour) * 60 - z.minute) * 60_000;
      continue;
    }
    if (!s.hour.has(z.hour)) {
      t += (60 - z.minute) * 60_000;
      continue;
    }
    if (!s.minute.has(z.minute)) {
      t += 60_000;
      continue;
    }
    return new Date(t);
  }
  return undefined;
}

/**
 * The times the schedule fired in (after, until]: how many, and the last of them. A constant delay is counted by
 * arithmetic (an `@every 1s` over a week would otherwise be 604,800 steps), cron fields step by step.
 */
export function scheduledTimesBetween(
  schedule: CronSchedule,
  after: Date,
  until: Date,
  timeZone = 'UTC',
): { count: number; last?: Date } {
  const end = until.getTime();
  if (schedule.kind === 'every') {
    const first = nextScheduleTime(schedule, after)!.getTime();
    if (first > end) return { count: 0 };
    const count = Math.floor((end - first) / schedule.delayMs) + 1;
    return { count, last: new Date(first + (count - 1) * schedule.delayMs) };
  }
  let count = 0;
  let last: Date | undefined;
  for (
    let t = nextScheduleTime(schedule, after, timeZone);
    t && t.getTime() <= end;
    t = nextScheduleTime(schedule, t, timeZone)
  ) {
    last = t;
    count++;
  }
  return { count, last };
}
