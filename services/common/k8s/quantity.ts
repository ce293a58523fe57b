// Kubernetes resource quantities ("250m", "1.5Gi", "1e3"), read by apimachinery's rules
// (k8s.io/apimachinery/pkg/api/resource): the same grammar, the same suffixes, the same rounding. A quantity is kept
// exactly (a bigint mantissa and a power of ten), never as a float, because the scheduler, quotas and volume binding
// compare them: "0.1" + "0.2" cores must be 300 millicores, and "3.001n" must not become 3n.
//
//   <quantity>      ::= <signedNumber><suffix>
//   <number>        ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//   <suffix>        ::= <binarySI> | <decimalExponent> | <decimalSI>
//   <binarySI>      ::= Ki | Mi | Gi | Ti | Pi | Ei
//   <decimalSI>     ::= n | u | m | "" | k | M | G | T | P | E
//   <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>   (an integer)
//
// As ParseQuantity does: a value finer than 1n is rounded away from zero to a whole number of nanos (asking for some
// resource gets some), a binary quantity is capped at 2^63-1, and a binary one between 0 and 1 becomes DecimalSI.

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

const DECIMAL_SI: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SI: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
/** The characters apimachinery's scanner takes as the start of a suffix. */
const SUFFIX_CHARS = 'eEinumkKMGTP';
const NANO = -9;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT32_MAX = 2 ** 31 - 1;

export class QuantityError extends Error {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(
      `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (${JSON.stringify(input)}: ${reason})`,
    );
    this.name = 'QuantityError';
  }
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const abs = (n: bigint) => (n < 0n ? -n : n);
const digitCount = (n: bigint) => (n === 0n ? 0 : abs(n).toString().length);

/** n / 10^k rounded away from zero (inf.RoundUp, and apimachinery's negativeScaleInt64), for k >= 0. */
function divPow10AwayFromZero(n: bigint, k: number): bigint {
  if (k <= 0 || n === 0n) return n;
  // |n| < 10^k: the quotient is below one, so it rounds to ±1 without building a huge power of ten.
  if (k >= digitCount(n)) return n > 0n ? 1n : -1n;
  const d = 10n ** BigInt(k);
  const q = n / d; // truncates toward zero
  if (q * d === n) return q;
  return n > 0n ? q + 1n : q - 1n;
}

/** An exact quantity: mantissa × 10^exponent, in the format it was written in (kept for display, as apimachinery does). */
export class Quantity {
  constructor(
    readonly mantissa: bigint,
    readonly exponent: number,
    readonly format: QuantityFormat,
  ) {}

  sign(): -1 | 0 | 1 {
    return this.mantissa === 0n ? 0 : this.mantissa > 0n ? 1 : -1;
  }

  isZero(): boolean {
    return this.mantissa === 0n;
  }

  /**
   * The value in units of 10^scale, rounded away from zero (apimachinery's ScaledValue: MilliValue is scale -3, Value
   * scale 0). Where Go would silently overflow an int64, this saturates at the int64 bounds instead.
   */
  scaledValue(scale: number): bigint {
    if (this.mantissa === 0n) return 0n;
    const shift = this.exponent - scale;
    if (shift < 0) return divPow10AwayFromZero(this.mantissa, -shift);
    // Beyond 19 digits the result cannot fit an int64 (and 10^shift may be astronomically large): saturate first.
    if (digitCount(this.mantissa) + shift > 19) return this.mantissa > 0n ? INT64_MAX : INT64_MIN;
    const v = this.mantissa * 10n ** BigInt(shift);
    return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : v;
  }

  /** ceil(q), away from zero: bytes, counts (apimachinery's Value). */
  value(): bigint {
    return this.scaledValue(0);
  }

  /** ceil(q × 1000), away from zero: millicores (apimachinery's MilliValue). */
  milliValue(): bigint {
    return this.scaledValue(-3);
  }

  /** The nearest float64 (apimachinery's AsFloat64Slow); ±Infinity beyond its range. For display and metrics only. */
  toNumber(): number {
    return Number(`${this.mantissa}e${this.exponent}`);
  }

  /** -1, 0 or 1 as this is less than, equal to or greater than `other` (exact). */
  cmp(other: Quantity): -1 | 0 | 1 {
    const a = this.sign();
    const b = other.sign();
    if (a !== b) return a < b ? -1 : 1;
    if (a === 0) return 0;
    // Same sign: compare magnitudes by their leading digit's position first, so exponents far apart need no power.
    const magA = digitCount(this.mantissa) + this.exponent;
    const magB = digitCount(other.mantissa) + other.exponent;
    let absCmp: number;
    if (magA !== magB) absCmp = magA < magB ? -1 : 1;
    else {
      const e = Math.min(this.exponent, other.exponent);
      const x = abs(this.mantissa) * 10n ** BigInt(this.exponent - e);
      const y = abs(other.mantissa) * 10n ** BigInt(other.exponent - e);
      absCmp = x === y ? 0 : x < y ? -1 : 1;
    }
    if (absCmp === 0) return 0;
    return (absCmp * a) as -1 | 1;
  }
}

interface Scanned {
  positive: boolean;
  num: string;
  denom: string;
  suffix: string;
}

/** apimachinery's parseQuantityString: sign, digits, '.', digits, then the suffix; undefined when malformed. */
function scan(str: string): Scanned | undefined {
  let pos = 0;
  const end = str.length;
  let positive = true;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') pos++;
  while (pos < end && str[pos] === '0') pos++;
  // Only a sign and zeros ("-", "+", "00"): zero, as apimachinery's scanner has it.
  if (pos >= end) return { positive, num: '0', denom: '', suffix: '' };
  let i = pos;
  while (isDigit(str[i])) i++;
  const num = str.slice(pos, i) || '0';
  let denom = '';
  if (str[i] === '.') {
    const start = ++i;
    while (isDigit(str[i])) i++;
    denom = str.slice(start, i); // "1." and "1.G" are accepted (an empty fraction), as upstream does
  }
  const suffixStart = i;
  while (i < end && SUFFIX_CHARS.includes(str[i])) i++;
  if (str[i] === '-' || str[i] === '+') i++;
  while (isDigit(str[i])) i++;
  if (i < end) return undefined;
  return { positive, num, denom, suffix: str.slice(suffixStart) };
}

/** The base and exponent of a suffix (quantitySuffixer.interpret); undefined when it is none of the three kinds. */
function interpret(suffix: string): { base: 10 | 2; exponent: number; format: QuantityFormat } | undefined {
  if (suffix in DECIMAL_SI) return { base: 10, exponent: DECIMAL_SI[suffix], format: 'DecimalSI' };
  if (suffix in BINARY_SI) return { base: 2, exponent: BINARY_SI[suffix], format: 'BinarySI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    const rest = suffix.slice(1);
    if (!/^[+-]?\d+$/.test(rest)) return undefined;
    const exponent = Number(rest);
    // Go parses an int64 and narrows it to int32, wrapping; a wrapped exponent is meaningless, so it is refused.
    if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > INT32_MAX) return undefined;
    return { base: 10, exponent, format: 'DecimalExponent' };
  }
  return undefined;
}

/** Parses a quantity exactly as the API server does (no surrounding whitespace); throws QuantityError otherwise. */
export function parseQuantity(str: string): Quantity {
  if (str === '') throw new QuantityError(str, 'empty');
  const s = scan(str);
  if (!s) throw new QuantityError(str, 'malformed');
  const suffix = interpret(s.suffix);
  if (!suffix) throw new QuantityError(str, `unknown suffix ${JSON.stringify(s.suffix)}`);
  let format = suffix.format;
  let mantissa = BigInt(s.num + s.denom);
  let exponent = -s.denom.length;
  if (suffix.base === 10) exponent += suffix.exponent;
  else mantissa <<= BigInt(suffix.exponent);
  // Finer than a nano: round away from zero to whole nanos (a tiny non-zero request still gets something).
  if (exponent < NANO) {
    mantissa = divPow10AwayFromZero(mantissa, NANO - exponent);
    exponent = NANO;
  }
  if (format === 'BinarySI') {
    // Here the exponent is -(fraction digits), at least -9 after the rounding above: 10^-exponent is small.
    const unit = 10n ** BigInt(-exponent);
    if (mantissa > INT64_MAX * unit) {
      // The cap apimachinery applies to binary quantities ("9Ei" is 2^63-1).
      mantissa = INT64_MAX;
      exponent = 0;
    } else if (mantissa !== 0n && mantissa < unit) {
      // Between 0 and 1: shown as DecimalSI rather than rounded to a whole binary unit.
      format = 'DecimalSI';
    }
  }
  return new Quantity(s.positive ? mantissa : -mantissa, exponent, format);
}

/** parseQuantity without the throw: undefined for a malformed quantity. */
export function tryParseQuantity(str: string): Quantity | undefined {
  try {
    return parseQuantity(str);
  } catch (e) {
    if (e instanceof QuantityError) return undefined;
    throw e;
  }
}

/**
 * A quantity field of an object as stored (requests, limits, capacity, storage), read as the API server's JSON decoder
 * reads one: a string with surrounding whitespace trimmed, or a JSON number. Undefined when absent or malformed.
 */
export function quantityOf(v: unknown): Quantity | undefined {
  if (typeof v === 'string') return tryParseQuantity(v.trim());
  if (typeof v === 'number' && Number.isFinite(v)) return tryParseQuantity(String(v));
  return undefined;
}

/** A quantity field as millicores (MilliValue, rounded up), e.g. CPU; undefined when absent or malformed. */
export function milliValueOf(v: unknown): number | undefined {
  const q = quantityOf(v);
  return q && Number(q.milliValue());
}

/** A quantity field as a whole number (Value, rounded up), e.g. bytes or pods; undefined when absent or malformed. */
export function intValueOf(v: unknown): number | undefined {
  const q = quantityOf(v);
  return q && Number(q.value());
}
