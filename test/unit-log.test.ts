// The structured logger: the level threshold from LOG_LEVEL (a bad value is a configuration error naming it), and
// fields that cannot replace the keys every line has.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../services/common/config.js';
import { createLogger, flushLogs } from '../services/common/log.js';

const saved = process.env.LOG_LEVEL;
afterEach(() => {
  if (saved === undefined) delete process.env.LOG_LEVEL;
  else process.env.LOG_LEVEL = saved;
});

function capture(level: string | undefined) {
  if (level === undefined) delete process.env.LOG_LEVEL;
  else process.env.LOG_LEVEL = level;
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('test', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  return { log, lines };
}

describe('LOG_LEVEL', () => {
  it.each([
    [undefined, ['info', 'warn', 'error']],
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
    ['silent', []],
  ])('%s writes %j', (level, written) => {
    const { log, lines } = capture(level);
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines.map((l) => l.level)).toEqual(written);
  });

  it.each(['loud', 'INFO', 'trace'])('%s is a configuration error naming the variable', (level) => {
    process.env.LOG_LEVEL = level;
    expect(() => createLogger('test', () => {})).toThrow(ConfigError);
    expect(() => createLogger('test', () => {})).toThrow(`LOG_LEVEL=${JSON.stringify(level)} is not a valid value`);
  });
});

describe('fields', () => {
  it('are written beside the message', () => {
    const { log, lines } = capture('info');
    log.info('hello', { user: 'ann', n: 2 });
    expect(lines[0]).toMatchObject({ level: 'info', service: 'test', msg: 'hello', user: 'ann', n: 2 });
  });

  it.each(['level', 'msg', 'time', 'service', 'fields'])(
    'named %s cannot replace the line’s own key: they go under fields',
    (key) => {
      const { log, lines } = capture('info');
      log.warn('real message', { [key]: 'forged', other: 1 });
      expect(lines[0]).toMatchObject({
        level: 'warn',
        service: 'test',
        msg: 'real message',
        other: 1,
        fields: { [key]: 'forged' },
      });
      expect(Date.parse(String(lines[0].time))).not.toBeNaN();
    },
  );
});

describe('the line as written', () => {
  /** What the logger has always written: JSON.stringify of the line's object (fields beside, reserved ones under). */
  function reference(level: string, msg: string, fields: Record<string, unknown>): Record<string, unknown> {
    const line: Record<string, unknown> = { time: 'T', level, service: 'svc "q"', msg };
    let shadowed: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(fields)) {
      if (['time', 'level', 'service', 'msg', 'traceId', 'fields'].includes(k)) (shadowed ??= {})[k] = v;
      else line[k] = v;
    }
    if (shadowed) line.fields = shadowed;
    return line;
  }

  it.each<[string, Record<string, unknown>]>([
    ['no fields', {}],
    ['plain values', { requestId: 'r-1', n: 2, ok: true, none: null, list: ['a', 'b'], nested: { a: { b: 1 } } }],
    ['values JSON leaves out', { a: undefined, f: () => 1, s: Symbol('x'), b: 1 }],
    ['escapes', { 'key "q"\n': 'line\nbreak \u2028 "quoted" \\ é 😀', ctl: '\u0001' }],
    ['a Date and a toJSON', { at: new Date(0), custom: { toJSON: () => 'custom' } }],
    ['array-index keys, which an object puts first', { b: 1, 10: 'ten', 2: 'two' }],
    ['reserved keys among others', { msg: 'forged', x: 1, fields: { y: 2 }, time: undefined, level: 'error' }],
    ['__proto__ as an own key', JSON.parse('{"__proto__": {"polluted": 1}, "z": 1}') as Record<string, unknown>],
  ])('%s: the same text as the line’s object gives', (_name, fields) => {
    const raw: string[] = [];
    const log = withLevel('debug', () => createLogger('svc "q"', (l) => raw.push(l)));
    log.warn('msg with "quotes" and\nnewline', fields);
    const time = (JSON.parse(raw[0]) as { time: string }).time;
    expect(raw[0]).toBe(
      JSON.stringify(reference('warn', 'msg with "quotes" and\nnewline', fields)).replace(
        '"time":"T"',
        `"time":"${time}"`,
      ),
    );
  });
});

describe('a stream sink', () => {
  it('gets the lines of one event-loop turn in one write, after the turn, in the order written by every logger', async () => {
    const writes: string[] = [];
    const stream = { write: (chunk: string) => writes.push(chunk) };
    const a = withLevel('info', () => createLogger('a', stream));
    const b = withLevel('info', () => createLogger('b', stream));
    a.info('one');
    b.info('two', { k: 1 });
    a.debug('below the threshold');
    a.warn('three');
    expect(writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1);
    expect(writes[0].endsWith('\n')).toBe(true);
    const lines = writes[0]
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.service, l.msg])).toEqual([
      ['a', 'one'],
      ['b', 'two'],
      ['a', 'three'],
    ]);
    expect(lines[1]).toMatchObject({ level: 'info', k: 1 });
    a.info('four');
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(2);
    expect(JSON.parse(writes[1])).toMatchObject({ msg: 'four' });
  });

  it('writes what is waiting on flushLogs (process exit) and at once past 64 KiB', () => {
    const writes: string[] = [];
    const log = withLevel('info', () => createLogger('s', { write: (chunk: string) => writes.push(chunk) }));
    log.info('waiting');
    flushLogs();
    expect(writes).toHaveLength(1);
    expect(JSON.parse(writes[0])).toMatchObject({ msg: 'waiting' });
    const big = 'x'.repeat(40 * 1024);
    log.info('big 1', { big });
    expect(writes).toHaveLength(1);
    log.info('big 2', { big });
    expect(writes).toHaveLength(2);
    expect(
      writes[1]
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { msg: string }).msg),
    ).toEqual(['big 1', 'big 2']);
  });
});

function withLevel<T>(level: string, f: () => T): T {
  process.env.LOG_LEVEL = level;
  return f();
}
