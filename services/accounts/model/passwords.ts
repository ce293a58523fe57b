// Password hashes: scrypt from node:crypto, with the salt and the cost parameters stored in the hash string
// (scrypt$<log2 N>$<r>$<p>$<salt base64>$<hash base64>) so the cost can be raised later without breaking old hashes.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { badUserInput } from '../../common/errors.js';

const KEY_LEN = 64;
export const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;

function scryptAsync(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}
// scrypt needs 128·N·r bytes; Node's default cap (32 MiB) is too small for N = 2^15 and up.
const maxmem = (logN: number, r: number) => 256 * 2 ** logN * r + 1024 * 1024;

export function checkPasswordPolicy(password: string, field = 'password'): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw badUserInput(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`, { field });
  if (password.length > MAX_PASSWORD_LENGTH)
    throw badUserInput(`the password must have at most ${MAX_PASSWORD_LENGTH} characters`, { field });
}

export async function hashPassword(password: string, logN = 15): Promise<string> {
  const r = 8;
  const p = 1;
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, { N: 2 ** logN, r, p, maxmem: maxmem(logN, r) });
  return ['scrypt', logN, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number);
  if (![logN, r, p].every(Number.isInteger) || logN < 1 || logN > 22) return false;
  const expected = Buffer.from(parts[5], 'base64');
  const key = await scryptAsync(password.slice(0, MAX_PASSWORD_LENGTH + 1), Buffer.from(parts[4], 'base64'), {
    N: 2 ** logN,
    r,
    p,
    maxmem: maxmem(logN, r),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

// Verified against when the user does not exist, so that an unknown username takes as long as a wrong password.
let dummy: Promise<string> | undefined;
export async function burnPasswordCheck(password: string, logN: number): Promise<void> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'), logN);
  await verifyPassword(password, await dummy);
}

export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
