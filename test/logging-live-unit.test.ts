// Live logs' pure parts: the timestamped line parser (lines split across chunks), timestamps as sortable keys, the
// resume token (round trip, hostile input) and the overlap filter a resumed read goes through.
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { TimestampedLineParser, sinceTimeOf, timestampKey } from '../services/logging/clients/pod-logs.js';
import {
  ResumeFilter,
  advance,
  decodeToken,
  encodeToken,
  type ResumeState,
} from '../services/logging/model/live-token.js';

describe('timestamped log lines', () => {
  it('gives only complete lines, whatever the chunk boundaries (inside a timestamp, a message, a UTF-8 character)', () => {
    const body = Buffer.from(
      '2026-12-07T17:14:48.123456789Z GET /index.html 200\n' +
        '2026-12-07T17:14:48.123456789Z \tat com.example.Main(Main.java:12)\n' +
        '2026-12-07T17:14:49.5Z 日志 ünïcode ✓\n' +
        '2026-12-07T17:14:50Z\n' +
        '2026-12-07T17:14:51.000000001Z no newline at the end',
    );
    const whole = (() => {
      const p = new TimestampedLineParser();
      return [...p.push(body), ...p.end()];
    })();
    expect(whole.map((l) => [l.timestamp, l.message])).toEqual([
      ['2026-12-07T17:14:48.123456789Z', 'GET /index.html 200'],
      ['2026-12-07T17:14:48.123456789Z', '\tat com.example.Main(Main.java:12)'],
      ['2026-12-07T17:14:49.5Z', '日志 ünïcode ✓'],
      ['2026-12-07T17:14:50Z', ''],
      ['2026-12-07T17:14:51.000000001Z', 'no newline at the end'],
    ]);
    // Every split point, one byte at a time included: the same lines.
    for (const size of [1, 2, 3, 7, 31]) {
      const p = new TimestampedLineParser();
      const got = [];
      for (let i = 0; i < body.length; i += size) got.push(...p.push(body.subarray(i, i + size)));
      got.push(...p.end());
      expect(got).toEqual(whole);
    }
  });

  it('orders RFC3339Nano timestamps as times, though Go trims their trailing zeros', () => {
    const a = timestampKey('2026-12-07T17:14:49.5Z')!;
    const b = timestampKey('2026-12-07T17:14:49.123456789Z')!;
    const c = timestampKey('2026-12-07T17:14:49Z')!;
    expect(a).toBe('2026-12-07T17:14:49.500000000Z');
    expect([a, b, c].sort()).toEqual([c, b, a]);
    expect(timestampKey('2026-12-07T19:14:49.25+02:00')).toBe('2026-12-07T17:14:49.250000000Z');
    expect(timestampKey('yesterday')).toBeUndefined();
    expect(sinceTimeOf(b)).toBe('2026-12-07T17:14:49Z');
  });
});

describe('resume positions', () => {
  const k = (s: string) => timestampKey(s)!;

  it('drops exactly the lines delivered before, same-timestamp lines counted', () => {
    // Delivered: t1, t2, t2 (a two-line stack trace); the resumed read starts at t1's second again.
    let pos = advance(undefined, k('2026-12-07T17:00:00.1Z'));
    pos = advance(pos, k('2026-12-07T17:00:00.2Z'));
    pos = advance(pos, k('2026-12-07T17:00:00.2Z'));
    expect(pos).toEqual({ key: k('2026-12-07T17:00:00.2Z'), n: 2 });
    const reread = ['17:00:00.1', '17:00:00.2', '17:00:00.2', '17:00:00.2', '17:00:00.3'].map((t) =>
      k(`2026-12-07T${t}Z`),
    );
    const f = new ResumeFilter(pos);
    expect(reread.map((key) => f.passes(key))).toEqual([false, false, false, true, true]);
    const none = new ResumeFilter(undefined);
    expect(reread.every((key) => none.passes(key))).toBe(true);
  });

  it('round-trips a token and refuses anything else with BAD_USER_INPUT', () => {
    const state: ResumeState = {
      since: k('2026-12-07T17:00:00Z'),
      pods: new Map([
        ['web-1', { uid: 'u1', containers: new Map([['nginx', { key: k('2026-12-07T17:00:01.5Z'), n: 3 }]]) }],
      ]),
    };
    const token = encodeToken(state);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeToken(token)).toEqual(state);
    const hostile = [
      'not a token!',
      Buffer.from('{"v":2}').toString('base64url'),
      Buffer.from('{"v":1,"s":"2026-12-07T17:00:00Z","p":{}}').toString('base64url'), // not a normalized key
      Buffer.from(JSON.stringify({ v: 1, s: state.since, p: { a: { u: 'x', c: { c: ['bad', 1] } } } })).toString(
        'base64url',
      ),
      Buffer.from(JSON.stringify({ v: 1, s: state.since, p: { a: { u: 'x', c: { c: [state.since, -1] } } } })).toString(
        'base64url',
      ),
      'A'.repeat(300_000),
    ];
    for (const t of hostile) {
      const err = (() => {
        try {
          decodeToken(t);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(GraphQLError);
      expect((err as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
    }
  });
});
