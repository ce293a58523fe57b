// services/common/k8s/quantity.ts, table-driven. The cases are apimachinery's own (k8s.io/apimachinery/pkg/api/resource,
// quantity_test.go: TestQuantityParse with its negative and '+' variants and its invalid inputs, TestQuantityCmp,
// TestScaledValue, TestNewSet/TestMilliNewSet/TestNewScaledSet round trips, TestQuantityParseEmit and the alternate
// spellings of TestQuantityString, TestQuantityAsFloat64Slow), then the sandbox's own uses.
import { describe, expect, it } from 'vitest';
import {
  intValueOf,
  milliValueOf,
  parseQuantity,
  Quantity,
  QuantityError,
  quantityOf,
  tryParseQuantity,
  type QuantityFormat,
} from '../services/common/k8s/quantity.js';

const DSI: QuantityFormat = 'DecimalSI';
const BSI: QuantityFormat = 'BinarySI';
const DEX: QuantityFormat = 'DecimalExponent';
const MAX_INT64 = (1n << 63n) - 1n;

/** apimachinery's decQuantity(i, exponent, format): i × 10^exponent. */
const dec = (i: bigint | number, exponent: number, format: QuantityFormat) => new Quantity(BigInt(i), exponent, format);

// TestQuantityParse: input, and the exact value and format ParseQuantity gives.
const PARSE: [string, Quantity][] = [
  ['0', dec(0, 0, DSI)],
  ['0n', dec(0, 0, DSI)],
  ['0u', dec(0, 0, DSI)],
  ['0m', dec(0, 0, DSI)],
  ['0Ki', dec(0, 0, BSI)],
  ['0k', dec(0, 0, DSI)],
  ['0Mi', dec(0, 0, BSI)],
  ['0M', dec(0, 0, DSI)],
  ['0Gi', dec(0, 0, BSI)],
  ['0G', dec(0, 0, DSI)],
  ['0Ti', dec(0, 0, BSI)],
  ['0T', dec(0, 0, DSI)],
  // Quantity-less numbers are allowed
  ['1', dec(1, 0, DSI)],
  // Binary suffixes
  ['1Ki', dec(1024, 0, BSI)],
  ['8Ki', dec(8 * 1024, 0, BSI)],
  ['7Mi', dec(7 * 1024 ** 2, 0, BSI)],
  ['6Gi', dec(6 * 1024 ** 3, 0, BSI)],
  ['5Ti', dec(5 * 1024 ** 4, 0, BSI)],
  ['4Pi', dec(4 * 1024 ** 5, 0, BSI)],
  ['3Ei', dec(3n * 1024n ** 6n, 0, BSI)],
  ['10Ti', dec(10 * 1024 ** 4, 0, BSI)],
  ['100Ti', dec(100 * 1024 ** 4, 0, BSI)],
  // Decimal suffixes
  ['5n', dec(5, -9, DSI)],
  ['4u', dec(4, -6, DSI)],
  ['3m', dec(3, -3, DSI)],
  ['9', dec(9, 0, DSI)],
  ['8k', dec(8, 3, DSI)],
  ['50k', dec(5, 4, DSI)],
  ['7M', dec(7, 6, DSI)],
  ['6G', dec(6, 9, DSI)],
  ['5T', dec(5, 12, DSI)],
  ['40T', dec(4, 13, DSI)],
  ['300T', dec(3, 14, DSI)],
  ['2P', dec(2, 15, DSI)],
  ['1E', dec(1, 18, DSI)],
  // Decimal exponents
  ['1E-3', dec(1, -3, DEX)],
  ['1e3', dec(1, 3, DEX)],
  ['1E6', dec(1, 6, DEX)],
  ['1e9', dec(1, 9, DEX)],
  ['1E12', dec(1, 12, DEX)],
  ['1e15', dec(1, 15, DEX)],
  ['1E18', dec(1, 18, DEX)],
  // Nonstandard but still parsable
  ['1e14', dec(1, 14, DEX)],
  ['1e13', dec(1, 13, DEX)],
  ['100.035k', dec(100035, 0, DSI)],
  // Things that look like floating point
  ['0.001', dec(1, -3, DSI)],
  ['0.0005k', dec(5, -1, DSI)],
  ['0.005', dec(5, -3, DSI)],
  ['0.05', dec(5, -2, DSI)],
  ['0.5', dec(5, -1, DSI)],
  ['0.00050k', dec(5, -1, DSI)],
  ['0.00500', dec(5, -3, DSI)],
  ['0.05000', dec(5, -2, DSI)],
  ['0.50000', dec(5, -1, DSI)],
  ['0.5e0', dec(5, -1, DEX)],
  ['0.5e-1', dec(5, -2, DEX)],
  ['0.5e-2', dec(5, -3, DEX)],
  ['10.035M', dec(10035, 3, DSI)],
  ['1.2e3', dec(12, 2, DEX)],
  ['1.3E+6', dec(13, 5, DEX)],
  ['1.40e9', dec(14, 8, DEX)],
  ['1.53E12', dec(153, 10, DEX)],
  ['1.6e15', dec(16, 14, DEX)],
  ['1.7E18', dec(17, 17, DEX)],
  ['9.01', dec(901, -2, DSI)],
  ['8.1k', dec(81, 2, DSI)],
  ['7.123456M', dec(7123456, 0, DSI)],
  ['6.987654321G', dec(6987654321, 0, DSI)],
  ['5.444T', dec(5444, 9, DSI)],
  ['40.1T', dec(401, 11, DSI)],
  ['300.2T', dec(3002, 11, DSI)],
  ['2.5P', dec(25, 14, DSI)],
  ['1.01E', dec(101, 16, DSI)],
  // Things that saturate/round
  ['3.001n', dec(4, -9, DSI)],
  ['1.1E-9', dec(2, -9, DEX)],
  ['0.0000000001', dec(1, -9, DSI)],
  ['0.0000000005', dec(1, -9, DSI)],
  ['0.00000000050', dec(1, -9, DSI)],
  ['0.5e-9', dec(1, -9, DEX)],
  ['0.9n', dec(1, -9, DSI)],
  ['0.00000012345', dec(124, -9, DSI)],
  ['0.00000012354', dec(124, -9, DSI)],
  ['9Ei', dec(MAX_INT64, 0, BSI)],
  ['9223372036854775807Ki', dec(MAX_INT64, 0, BSI)],
  ['12E', dec(12, 18, DSI)],
  // Fractional binary quantities are accepted too
  ['100.035Ki', dec(10243584, -2, BSI)],
  ['0.5Mi', dec(0.5 * 1024 * 1024, 0, BSI)],
  ['0.05Gi', dec(536870912, -1, BSI)],
  ['0.025Ti', dec(274877906944, -1, BSI)],
  // Things written by trolls
  ['0.000000000001Ki', dec(2, -9, DSI)], // rounds up, changes format
  ['.001', dec(1, -3, DSI)],
  ['.0001k', dec(100, -3, DSI)],
  ['1.', dec(1, 0, DSI)],
  ['1.G', dec(1, 9, DSI)],
];

const INVALID = [
  '',
  '1.1.M',
  '1+1.0M',
  '0.1mi',
  '0.1am',
  'aoeu',
  '.5i',
  '1i',
  '-3.01i',
  '-3.01e-',
  // trailing (and leading) whitespace is forbidden
  ' 1',
  '1 ',
  // not among the suffixes (k is lower-case; no exponent without digits)
  '1K',
  '1e',
  '1E+',
  'Non-Numeric',
];

const show = (q: Quantity) => `${q.mantissa}e${q.exponent} ${q.format}`;

describe('parseQuantity: apimachinery TestQuantityParse', () => {
  for (const [input, want] of PARSE) {
    it(input, () => {
      const got = parseQuantity(input);
      expect(got.cmp(want), `${input}: ${show(got)} vs ${show(want)}`).toBe(0);
      expect(got.format).toBe(want.format);
      // The negative of everything, and everything with an explicit '+'.
      const neg = parseQuantity(`-${input}`);
      expect(neg.cmp(new Quantity(-want.mantissa, want.exponent, want.format))).toBe(0);
      expect(neg.format).toBe(want.format);
      const plus = parseQuantity(`+${input}`);
      expect(plus.cmp(want)).toBe(0);
      expect(plus.format).toBe(want.format);
    });
  }

  it.each(INVALID)('refuses %j', (input) => {
    expect(() => parseQuantity(input)).toThrow(QuantityError);
    expect(tryParseQuantity(input)).toBeUndefined();
  });

  // parseQuantityString's own table: a lone '.' (or sign) scans as zero, and so parses.
  it.each([
    ['.', 0],
    ['-.', 0],
    ['1E-3', 0.001],
    ['-1.025Ti', -1.025 * 1024 ** 4],
  ])('%j scans as %d', (input, value) => {
    expect(parseQuantity(input).toNumber()).toBe(value);
  });
});

describe('Quantity.cmp: apimachinery TestQuantityCmp', () => {
  it.each([
    ['0', '0', 0],
    ['100m', '50m', 1],
    ['50m', '100m', -1],
    ['10000T', '100Gi', 1],
    // exponents far apart, and signs
    ['1e300', '1n', 1],
    ['-1e300', '1n', -1],
    ['-1', '-2', 1],
    ['1000m', '1', 0],
    ['1Ki', '1024', 0],
  ] as const)('%s vs %s is %d', (x, y, want) => {
    expect(parseQuantity(x).cmp(parseQuantity(y))).toBe(want);
    expect(parseQuantity(y).cmp(parseQuantity(x))).toBe(want === 0 ? 0 : -want);
  });
});

describe('scaledValue: apimachinery TestScaledValue (NewScaledQuantity(1, from).ScaledValue(to))', () => {
  const NANO = -9;
  const MICRO = -6;
  const MILLI = -3;
  it.each([
    [NANO, NANO, 1n],
    [NANO, MICRO, 1n],
    [NANO, MILLI, 1n],
    [NANO, 0, 1n],
    [MICRO, NANO, 1000n],
    [MICRO, MICRO, 1n],
    [MICRO, MILLI, 1n],
    [MICRO, 0, 1n],
    [MILLI, NANO, 1000n * 1000n],
    [MILLI, MICRO, 1000n],
    [MILLI, MILLI, 1n],
    [MILLI, 0, 1n],
    [0, NANO, 1000n * 1000n * 1000n],
    [0, MICRO, 1000n * 1000n],
    [0, MILLI, 1000n],
    [0, 0, 1n],
    [2, -2, 100n * 100n],
  ])('1e%d in units of 1e%d is %d', (from, to, want) => {
    expect(dec(1, from, DSI).scaledValue(to)).toBe(want);
  });
});

describe('round trips: apimachinery TestNewSet, TestMilliNewSet, TestNewScaledSet', () => {
  it.each([
    ['1', 1n],
    ['1k', 1000n],
    ['1234k', 1234000n],
    ['1Ki', 1024n],
    ['1e6', 1000000n],
    ['1Mi', 1024n * 1024n],
  ])('Value(%s) = %d', (s, want) => expect(parseQuantity(s).value()).toBe(want));

  it.each([
    ['1m', 1n],
    ['1', 1000n],
    ['1234', 1234000n],
    ['1e3', 1000000n],
  ])('MilliValue(%s) = %d', (s, want) => expect(parseQuantity(s).milliValue()).toBe(want));

  it.each([
    ['1n', -9, 1n],
    ['1u', -9, 1000n],
    ['1u', -6, 1n],
    ['1m', -6, 1000n],
    ['1m', -3, 1n],
    ['1', -3, 1000n],
    ['1', 0, 1n],
    ['0', -9, 0n],
    ['0', 0, 0n],
  ])('ScaledValue(%s, %d) = %d', (s, scale, want) => expect(parseQuantity(s).scaledValue(scale)).toBe(want));
});

describe('equal spellings: apimachinery TestQuantityParseEmit and TestQuantityString alternates', () => {
  it.each([
    ['1024Mi', '1Gi'],
    ['1000M', '1G'],
    ['.001Ki', '1024m'],
    ['.000001Ki', '1024u'],
    ['.000000001Ki', '1024n'],
    ['.000000000001Ki', '2n'],
    ['307200Ki', '300Mi'],
    ['1025024Mi', '1001Gi'],
    ['1024Gi', '1Ti'],
    ['5000m', '5'],
    ['0.5', '500m'],
    ['0.001T', '1G'],
    ['1000u', '1m'],
    ['1.08', '1080m'],
    ['1080000000n', '1080m'],
    ['1000E', '1e21'],
    ['5000E', '5e21'],
    ['1000000E', '1e24'],
    ['.001e12', '1e9'],
    ['0.001e0', '1e-3'],
    ['1000e-12', '1e-9'],
    ['00', '0'],
  ])('%s = %s', (a, b) => {
    expect(parseQuantity(a).cmp(parseQuantity(b))).toBe(0);
    expect(parseQuantity(`-${a}`).cmp(parseQuantity(`-${b}`))).toBe(0);
  });
});

describe('toNumber: apimachinery TestQuantityAsFloat64Slow and TestStringQuantityAsFloat64Slow', () => {
  it.each([
    [dec(0, 0, DSI), 0],
    [dec(1, 0, BSI), 1],
    [dec(7 * 1024 * 1024, 1, DSI), 7 * 1024 * 1024 * 10],
    [dec(7 * 1024 * 1024, 8, DEX), 7 * 1024 * 1024 * 100000000],
    [dec(7 * 1024 * 1024, -1, BSI), (7 * 1024 * 1024) / 10],
    [dec(7 * 1024 * 1024, -8, DSI), (7 * 1024 * 1024) / 100000000],
    [dec(MAX_INT64, 0, DSI), 2 ** 63], // math.MaxInt64 as a float64
    [dec(12, 18, DSI), 1.2e19],
    [dec(12, 500, DSI), Infinity],
    [dec(-12, 500, DSI), -Infinity],
  ])('%#', (q, want) => expect(q.toNumber()).toBe(want));

  it.each([
    ['2Ki', 2048],
    ['1.1Ki', 1126.4],
    ['1Mi', 1.048576e6],
    ['2Gi', 2.147483648e9],
  ])('%s', (s, want) => expect(parseQuantity(s).toNumber()).toBe(want));
});

describe('exact integers where the scheduler and the metrics need them', () => {
  it.each([
    // MilliValue rounds up, away from zero (a tiny request still asks for one millicore)
    ['250n', 1n, 1n],
    ['250m', 250n, 1n],
    ['1.0001', 1001n, 2n],
    ['100.5m', 101n, 1n],
    ['0.3', 300n, 1n],
    ['2', 2000n, 2n],
    ['1.5Gi', 1610612736000n, 1610612736n],
    ['32827396Ki', 33615253504000n, 33615253504n],
    ['-1.5', -1500n, -2n],
    ['-250n', -1n, -1n],
    // saturates where Go's int64 would overflow
    ['1e30', MAX_INT64, MAX_INT64],
    ['1e2000000000', MAX_INT64, MAX_INT64],
    ['-1e30', -(1n << 63n), -(1n << 63n)],
  ])('%s: %d millis, %d units', (s, milli, units) => {
    const q = parseQuantity(s);
    expect(q.milliValue()).toBe(milli);
    expect(q.value()).toBe(units);
  });

  it('sums exactly', () => {
    const sum = ['0.1', '0.2', '100m'].map((s) => parseQuantity(s).milliValue()).reduce((a, b) => a + b, 0n);
    expect(sum).toBe(400n);
  });

  it('reads stored fields as the API server decodes JSON: trimmed strings and numbers', () => {
    expect(quantityOf(' 1 ')?.value()).toBe(1n);
    expect(quantityOf(2)?.milliValue()).toBe(2000n);
    expect(quantityOf(0.5)?.milliValue()).toBe(500n);
    expect(quantityOf(1e21)?.cmp(parseQuantity('1e21'))).toBe(0);
    for (const bad of [undefined, null, '', 'abc', '1K', NaN, Infinity, {}, true])
      expect(quantityOf(bad)).toBeUndefined();
    expect(milliValueOf('250n')).toBe(1);
    expect(milliValueOf('3800m')).toBe(3800);
    expect(milliValueOf(undefined)).toBeUndefined();
    expect(intValueOf('16Gi')).toBe(16 * 2 ** 30);
    expect(intValueOf('500m')).toBe(1);
    expect(intValueOf('x')).toBeUndefined();
  });

  it('rounds huge negative exponents without building their power of ten', () => {
    expect(parseQuantity('1e-2000000000').cmp(parseQuantity('1n'))).toBe(0);
    expect(parseQuantity('-1e-2000000000').cmp(parseQuantity('-1n'))).toBe(0);
    expect(tryParseQuantity('1e99999999999')).toBeUndefined(); // an exponent beyond int32
  });
});
