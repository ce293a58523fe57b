// The structured logger: the level threshold from LOG_LEVEL (a bad value is a configuration error naming it), and
// fields that cannot replace the keys every line has.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../services/common/config.js';
import { createLogger } from '../services/common/log.js';

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
