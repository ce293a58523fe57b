// services/common/k8s/resource-version.ts, table-driven: integers compare as numbers (never as strings: "10" is after
// "9"), anything else only as equal or not, and absurdly long digit strings are not integers.
import { describe, expect, it } from 'vitest';
import {
  compareResourceVersions,
  isIntegerResourceVersion,
  resourceVersionValue,
  rvAtLeast,
} from '../services/common/k8s/resource-version.js';

describe('resourceVersionValue', () => {
  it.each([
    ['0', 0n],
    ['7', 7n],
    ['0012', 12n],
    ['9223372036854775807', 9223372036854775807n], // etcd's largest revision
    ['123456789012345678901234567890', 123456789012345678901234567890n],
  ])('%j is %d', (rv, want) => {
    expect(resourceVersionValue(rv)).toBe(want);
    expect(isIntegerResourceVersion(rv)).toBe(true);
  });

  it.each([
    undefined,
    null,
    '',
    '-1',
    '+1',
    '1.5',
    '1e3',
    ' 1',
    '1 ',
    'abc',
    '0x10',
    '1234567890123456789012345678901',
  ])('%j is not an integer', (rv) => {
    expect(resourceVersionValue(rv)).toBeUndefined();
    expect(isIntegerResourceVersion(rv)).toBe(false);
  });
});

describe('compareResourceVersions', () => {
  it.each([
    ['1', '1', 0],
    ['1', '2', -1],
    ['2', '1', 1],
    ['9', '10', -1], // numbers, not strings
    ['100', '99', 1],
    ['007', '7', 0],
    ['18446744073709551616', '18446744073709551615', 1], // beyond 2^64, exactly
    ['abc', 'abc', undefined],
    ['abc', '1', undefined],
    ['1', 'abc', undefined],
    ['', '1', undefined],
  ] as const)('%j vs %j is %j', (a, b, want) => {
    expect(compareResourceVersions(a, b)).toBe(want);
  });
});

describe('rvAtLeast', () => {
  it.each([
    [undefined, '1', false],
    ['', '1', false],
    ['1', '1', true],
    ['2', '1', true],
    ['1', '2', false],
    ['10', '9', true],
    ['9', '10', false],
    ['abc', 'abc', true], // opaque: equal only
    ['abd', 'abc', false],
    ['5', 'abc', false],
  ] as const)('%j at least %j: %j', (seen, wanted, want) => {
    expect(rvAtLeast(seen, wanted)).toBe(want);
  });
});
