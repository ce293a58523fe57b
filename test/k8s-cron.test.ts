// services/common/k8s/cron.ts, table-driven: what robfig/cron v3's ParseStandard accepts and refuses (the parser both
// Kubernetes' CronJob validation and its controller use), with its error texts; the TZ rules of validateScheduleFormat;
// Go's time.ParseDuration for @every; next times for fields, descriptors and constant delays.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../services/sandbox/errors.js';
import { installKindHooks } from '../services/sandbox/defaults.js';
import { Store } from '../services/sandbox/store.js';
import { createControllerContext } from '../services/sandbox/controllers/base.js';
import { CronJobController } from '../services/sandbox/controllers/cronjob.js';
import {
  CronSyntaxError,
  isValidSchedule,
  nextScheduleTime,
  parseGoDuration,
  parseSchedule,
  scheduledTimesBetween,
  scheduleProblems,
} from '../services/common/k8s/cron.js';

const at = (s: string) => new Date(s);

describe('parseSchedule accepts what ParseStandard accepts', () => {
  it.each([
    '* * * * *',
    '*/5 * * * *',
    '0 0 1 1 *',
    '5-10/5 8-9 * * *',
    '0 9 * * 1-5',
    '0 0 * * SUN',
    '0 12 * JAN,jul *',
    '0 12 * Jan-Mar mon-FRI',
    '? ? ? ? ?',
    '0,15,30,45 * * * *',
    '1,,2 * * * *', // empty list elements are skipped (strings.FieldsFunc)
    '*-5 * * * *', // robfig reads no further than a star
    '*/61 * * * *', // a step beyond the range keeps only its start
    '+5 * * * *', // strconv.Atoi takes a sign
    '  0   0  * * *  ', // strings.Fields
    '@yearly',
    '@annually',
    '@monthly',
    '@weekly',
    '@daily',
    '@midnight',
    '@hourly',
    '@every 1h',
    '@every 1h30m',
    '@every 90s',
    '@every 1.5h',
    '@every 500ms', // below a second: one second
    '@every 0',
    '@every -5m', // negative: one second
    'TZ=UTC * * * * *', // robfig's prefix; validation refuses it separately (below)
    'CRON_TZ=Europe/Berlin @daily',
  ])('%j', (schedule) => {
    expect(() => parseSchedule(schedule)).not.toThrow();
    expect(isValidSchedule(schedule)).toBe(true);
  });
});

describe('parseSchedule refuses what ParseStandard refuses, with its message', () => {
  it.each([
    ['', 'empty spec string'],
    ['* * *', 'expected exactly 5 fields, found 3: [* * *]'],
    ['0 0 0/1 * * ?', 'expected exactly 5 fields, found 6: [0 0 0/1 * * ?]'],
    [' @daily', 'expected exactly 5 fields, found 1: [@daily]'], // a descriptor must come first
    ['61 * * * *', 'end of range (61) above maximum (59): 61'],
    ['* 24 * * *', 'end of range (24) above maximum (23): 24'],
    ['* * 0 * *', 'beginning of range (0) below minimum (1): 0'],
    ['* * 32 * *', 'end of range (32) above maximum (31): 32'],
    ['* * * 13 *', 'end of range (13) above maximum (12): 13'],
    ['* * * * 7', 'end of range (7) above maximum (6): 7'],
    ['5-1 * * * *', 'beginning of range (5) beyond end of range (1): 5-1'],
    ['*/0 * * * *', 'step of range should be a positive number: */0'],
    ['1-2-3 * * * *', 'too many hyphens: 1-2-3'],
    ['*/2/3 * * * *', 'too many slashes: */2/3'],
    ['* * * FOO *', 'failed to parse int from FOO: strconv.Atoi: parsing "FOO": invalid syntax'],
    ['*/* 24 * * *', 'failed to parse int from *: strconv.Atoi: parsing "*": invalid syntax'],
    ['-1 * * * *', 'failed to parse int from : strconv.Atoi: parsing "": invalid syntax'],
    ['@reboot', 'unrecognized descriptor: @reboot'],
    ['@Daily', 'unrecognized descriptor: @Daily'], // descriptors are case-sensitive
    ['@daily ', 'unrecognized descriptor: @daily '],
    ['@every', 'unrecognized descriptor: @every'],
    ['@every ', 'failed to parse duration @every : time: invalid duration ""'],
    ['@every 1d', 'failed to parse duration @every 1d: time: unknown unit "d" in duration "1d"'],
    ['@every 10', 'failed to parse duration @every 10: time: missing unit in duration "10"'],
    ['@every 1h ', 'failed to parse duration @every 1h : time: unknown unit "h " in duration "1h "'],
    ['@every hour', 'failed to parse duration @every hour: time: invalid duration "hour"'],
    ['TZ=Mars/Olympus * * * * *', 'provided bad location Mars/Olympus: unknown time zone Mars/Olympus'],
  ])('%j: %s', (schedule, message) => {
    expect(() => parseSchedule(schedule)).toThrow(CronSyntaxError);
    expect(() => parseSchedule(schedule)).toThrow(message);
    expect(isValidSchedule(schedule)).toBe(false);
  });
});

describe('scheduleProblems: validateScheduleFormat', () => {
  it.each([
    ['*/5 * * * *', {}, []],
    ['@every 2h', {}, []],
    ['@every x', {}, ['failed to parse duration @every x: time: invalid duration "x"']],
    // TZ in the schedule: refused on create and on an update that adds it ...
    ['TZ=UTC * * * * *', {}, ['cannot use TZ or CRON_TZ in schedule, use timeZone field instead']],
    [
      'CRON_TZ=UTC * * * * *',
      { oldSchedule: '* * * * *' },
      ['cannot use TZ or CRON_TZ in schedule, use timeZone field instead'],
    ],
    // ... kept by an update of a schedule that had it, but not together with spec.timeZone
    ['TZ=UTC * * * * *', { oldSchedule: 'TZ=UTC 0 * * * *' }, []],
    [
      'TZ=UTC * * * * *',
      { oldSchedule: 'TZ=UTC 0 * * * *', timeZone: 'UTC' },
      ['cannot use both timeZone field and TZ or CRON_TZ in schedule'],
    ],
    // both problems at once
    [
      'TZ=UTC * *',
      {},
      ['expected exactly 5 fields, found 2: [* *]', 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'],
    ],
  ] as const)('%j %j', (schedule, opts, want) => {
    expect(scheduleProblems(schedule, opts)).toEqual(want);
  });
});

describe("parseGoDuration: Go's time.ParseDuration", () => {
  const S = 1_000_000_000n;
  it.each([
    ['0', 0n],
    ['5s', 5n * S],
    ['30s', 30n * S],
    ['1478s', 1478n * S],
    ['-5s', -5n * S],
    ['+5s', 5n * S],
    ['-0', 0n],
    ['+0', 0n],
    ['5.0s', 5n * S],
    ['5.6s', 5n * S + 600_000_000n],
    ['5.s', 5n * S],
    ['.5s', 500_000_000n],
    ['1.0s', S],
    ['1.00s', S],
    ['1.004s', S + 4_000_000n],
    ['1.0040s', S + 4_000_000n],
    ['100.00100s', 100n * S + 1_000_000n],
    ['10ns', 10n],
    ['11us', 11_000n],
    ['12µs', 12_000n],
    ['12μs', 12_000n],
    ['13ms', 13_000_000n],
    ['14s', 14n * S],
    ['15m', 15n * 60n * S],
    ['16h', 16n * 3600n * S],
    ['3h30m', (3n * 3600n + 30n * 60n) * S],
    ['10.5s4m', 4n * 60n * S + 10n * S + 500_000_000n],
    ['-2m3.4s', -(2n * 60n * S + 3n * S + 400_000_000n)],
    ['1h2m3s4ms5us6ns', 3600n * S + 2n * 60n * S + 3n * S + 4_000_000n + 5_000n + 6n],
    ['39h9m14.425s', 39n * 3600n * S + 9n * 60n * S + 14n * S + 425_000_000n],
    ['52763797000ns', 52763797000n],
    ['0.3333333333333333333h', 20n * 60n * S], // Go's float64 step, as in its own test
    ['9007199254740993ns', 9007199254740993n],
    ['9223372036854775807ns', (1n << 63n) - 1n],
    ['-9223372036854775808ns', -(1n << 63n)],
  ])('%j', (s, want) => expect(parseGoDuration(s)).toBe(want));

  it.each([
    '',
    '3',
    '-',
    's',
    '.',
    '-.',
    '.s',
    '+.s',
    '1d',
    '\x85\x85',
    '9223372036854775808ns',
    '9223372036854775.808us',
  ])('refuses %j', (s) => expect(() => parseGoDuration(s)).toThrow(CronSyntaxError));
});

describe('nextScheduleTime', () => {
  it.each([
    ['*/15 * * * *', '2024-03-01T10:07:30Z', '2024-03-01T10:15:00Z'],
    ['0 9 * * 1-5', '2024-03-01T10:00:00Z', '2024-03-04T09:00:00Z'],
    ['0 0 1,15 * 1', '2024-03-01T00:00:00Z', '2024-03-04T00:00:00Z'], // day-of-month OR day-of-week
    ['0 0 */1 * 1', '2024-03-01T00:00:00Z', '2024-03-04T00:00:00Z'], // */1 is a star: AND
    ['0 0 */2 * 1', '2024-03-01T00:00:00Z', '2024-03-03T00:00:00Z'], // */2 is not: OR
    ['@yearly', '2024-03-01T00:00:00Z', '2025-01-01T00:00:00Z'],
    ['@monthly', '2024-03-01T00:00:00Z', '2024-04-01T00:00:00Z'],
    ['@weekly', '2024-03-01T00:00:00Z', '2024-03-03T00:00:00Z'],
    ['@daily', '2024-03-01T00:00:00Z', '2024-03-02T00:00:00Z'],
    ['@hourly', '2024-03-01T08:06:00Z', '2024-03-01T09:00:00Z'],
    // @every: the time truncated to the second, plus the delay (cron.ConstantDelaySchedule)
    ['@every 1h', '2024-03-01T08:06:07.250Z', '2024-03-01T09:06:07Z'],
    ['@every 90s', '2024-03-01T08:06:00Z', '2024-03-01T08:07:30Z'],
    ['@every 1500ms', '2024-03-01T08:06:00Z', '2024-03-01T08:06:01Z'],
    ['@every 100ms', '2024-03-01T08:06:00Z', '2024-03-01T08:06:01Z'],
    // a TZ prefix's zone wins over the argument
    ['CRON_TZ=Asia/Kolkata 30 9 * * *', '2024-01-01T00:00:00Z', '2024-01-01T04:00:00Z'],
  ])('%j after %s is %s', (schedule, after, want) => {
    expect(nextScheduleTime(schedule, at(after))).toEqual(at(want));
  });

  it('reads fields in the time zone, and never fires for a day that does not exist', () => {
    expect(nextScheduleTime('0 9 * * *', at('2024-07-01T00:00:00Z'), 'Europe/Berlin')).toEqual(
      at('2024-07-01T07:00:00Z'),
    );
    expect(nextScheduleTime('0 0 30 2 *', at('2024-01-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('scheduledTimesBetween', () => {
  it('counts cron times step by step', () => {
    const r = scheduledTimesBetween(
      parseSchedule('*/15 * * * *'),
      at('2024-03-01T10:00:00Z'),
      at('2024-03-01T11:07:00Z'),
    );
    expect(r).toEqual({ count: 4, last: at('2024-03-01T11:00:00Z') });
    expect(
      scheduledTimesBetween(parseSchedule('0 0 1 1 *'), at('2024-03-01T10:00:00Z'), at('2024-03-02T10:00:00Z')),
    ).toEqual({ count: 0, last: undefined });
  });

  it('counts a constant delay by arithmetic, even at one second over a week', () => {
    const week = scheduledTimesBetween(
      parseSchedule('@every 1s'),
      at('2024-03-01T00:00:00Z'),
      at('2024-03-08T00:00:00Z'),
    );
    expect(week).toEqual({ count: 7 * 86_400, last: at('2024-03-08T00:00:00Z') });
    expect(
      scheduledTimesBetween(parseSchedule('@every 1h'), at('2024-03-01T00:00:00.900Z'), at('2024-03-01T02:30:00Z')),
    ).toEqual({
      count: 2,
      last: at('2024-03-01T02:00:00Z'),
    });
    expect(
      scheduledTimesBetween(parseSchedule('@every 1h'), at('2024-03-01T00:00:00Z'), at('2024-03-01T00:59:59Z')),
    ).toEqual({ count: 0 });
  });
});

describe('admission and the CronJob controller agree (sandbox store, no server)', () => {
  const template = {
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
  };
  let store: Store;
  let controller: CronJobController;
  let stop: () => void;
  let now = Date.parse('2024-03-01T10:00:30Z');
  const cronJobs = () => store.type('batch', 'cronjobs');
  const cronJob = (name: string, schedule: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: 'default' },
    spec: { schedule, jobTemplate: template, ...extra },
  });
  const refusal = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).code).toBe(422);
      return (e as ApiError).details?.causes?.map((c) => c.message).join('\n') ?? '';
    }
    throw new Error('admitted');
  };

  beforeEach(() => {
    store = new Store();
    installKindHooks(store); // admission, as the sandbox server installs it
    store.create(store.type('', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    const { ctx, cancelTimers } = createControllerContext(store, (_step, ms) => Math.min(ms, 30));
    controller = new CronJobController(ctx, { now: () => new Date(now) });
    controller.start();
    stop = () => {
      controller.stop();
      cancelTimers();
    };
  });
  afterEach(() => stop());

  it('refuses with the parser’s message what the controller could not run', () => {
    expect(refusal(() => store.create(cronJobs(), cronJob('three', '* * *')))).toContain(
      'expected exactly 5 fields, found 3: [* * *]',
    );
    expect(refusal(() => store.create(cronJobs(), cronJob('every', '@every soon')))).toContain(
      'failed to parse duration @every soon',
    );
    expect(refusal(() => store.create(cronJobs(), cronJob('range', '0 25 * * *')))).toContain(
      'end of range (25) above maximum (23): 25',
    );
    expect(refusal(() => store.create(cronJobs(), cronJob('tz', 'CRON_TZ=UTC 0 * * * *')))).toContain(
      'cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
    );
  });

  it('admits @every, and the controller runs it', async () => {
    now = Date.parse('2024-03-01T10:00:30Z');
    const created = Date.parse(store.create(cronJobs(), cronJob('often', '@every 2m')).metadata.creationTimestamp!);
    now = created + 5 * 60_000; // two runs due (at +2m and +4m): the latest is started
    controller.enqueue('default/often');
    const due = Math.floor(created / 1000) * 1000 + 4 * 60_000;
    await vi.waitFor(
      () => {
        const jobs = store.list(store.type('batch', 'jobs'), 'default').map((j) => j.metadata.name);
        expect(jobs).toEqual([`often-${Math.floor(due / 60_000)}`]);
      },
      { timeout: 10_000, interval: 10 },
    );
    expect(store.list(store.type('', 'events'), 'default').filter((e) => e.reason === 'InvalidSchedule')).toEqual([]);
  });
});
