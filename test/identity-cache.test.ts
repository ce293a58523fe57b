// Remembered verifications of the gateway's signed identity: a hit answers only what verifying again would answer at
// that moment (same key, same whole token, not expired), and failures are never remembered.
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  clearVerifiedIdentities,
  identityKey,
  signIdentity,
  verifyIdentity,
  verifySignedIdentity,
  VERIFIED_CACHE_SIZE,
} from '../services/common/identity.js';

// jose's jwtVerify, counted: a remembered verification does not call it.
const verifyCalls = vi.hoisted(() => ({ n: 0 }));
vi.mock('jose', async (importOriginal) => {
  const jose = await importOriginal<typeof import('jose')>();
  return {
    ...jose,
    jwtVerify: (...args: Parameters<typeof jose.jwtVerify>) => {
      verifyCalls.n++;
      return jose.jwtVerify(...args);
    },
  };
});

const key = identityKey('test-identity-secret-0123456789');
const otherKey = identityKey('another-identity-secret-0123456789');
const bob = {
  username: 'bob',
  platformRole: 'platform-regular',
  workspaceRoles: { 'team-a': 'workspace-regular' },
  projectRoles: { alpha: 'project-admin' },
  projectUids: { alpha: 'uid-alpha' },
};
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

beforeEach(() => {
  for (const k of [key, otherKey]) clearVerifiedIdentities(k);
  verifyCalls.n = 0;
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('remembered identity verifications', () => {
  it('answers a token verified before with the same identity, without verifying it again', async () => {
    const token = await signIdentity(key, bob, 60);
    const first = await verifySignedIdentity(key, token);
    expect(first).toEqual({ viewer: bob, expiresAt: T0 + 60_000 });
    vi.setSystemTime(T0 + 30_000);
    const again = await verifySignedIdentity(key, token);
    expect(again).toEqual(first);
    expect(await verifyIdentity(key, token)).toEqual(bob);
    expect(verifyCalls.n).toBe(1);
    // Each caller gets its own viewer object.
    expect(again.viewer).not.toBe(first.viewer);
  });

  it('refuses a remembered token once it has expired, from the second of its exp on (as jose does)', async () => {
    const token = await signIdentity(key, bob, 60);
    await verifyIdentity(key, token);
    vi.setSystemTime(T0 + 59_999);
    expect(await verifyIdentity(key, token)).toEqual(bob);
    vi.setSystemTime(T0 + 60_000);
    await expect(verifyIdentity(key, token)).rejects.toThrow('the forwarded identity has expired');
    await expect(verifyIdentity(key, token)).rejects.toThrow('the forwarded identity has expired');
  });

  it('refuses a remembered token under another key', async () => {
    const token = await signIdentity(key, bob, 60);
    await verifyIdentity(key, token);
    await expect(verifyIdentity(otherKey, token)).rejects.toThrow('not signed by the gateway');
    // A key with the same bytes is the same key.
    expect(await verifyIdentity(new Uint8Array(key), token)).toEqual(bob);
  });

  it('refuses a tampered token whose original is remembered', async () => {
    const token = await signIdentity(key, bob, 60);
    await verifyIdentity(key, token);
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, pr: 'platform-admin' })).toString('base64url');
    await expect(verifyIdentity(key, `${header}.${forged}.${signature}`)).rejects.toThrow('not signed by the gateway');
    const flipped = signature.slice(0, -2) + (signature.at(-2) === 'A' ? 'B' : 'A') + signature.at(-1);
    await expect(verifyIdentity(key, `${header}.${payload}.${flipped}`)).rejects.toThrow('not signed by the gateway');
  });

  it('does not remember failures', async () => {
    const token = await signIdentity(otherKey, bob, 60);
    await expect(verifyIdentity(key, token)).rejects.toThrow('not signed by the gateway');
    await expect(verifyIdentity(key, token)).rejects.toThrow('not signed by the gateway');
    expect(verifyCalls.n).toBe(2);
    const notYet = await new SignJWT({ pr: 'platform-admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bob')
      .setIssuer('kubegraph-gateway')
      .setAudience('kubegraph-subgraphs')
      .setNotBefore(Math.floor(T0 / 1000) + 10)
      .setExpirationTime(Math.floor(T0 / 1000) + 60)
      .sign(key);
    await expect(verifyIdentity(key, notYet)).rejects.toThrow('not signed by the gateway');
    vi.setSystemTime(T0 + 10_000);
    expect((await verifyIdentity(key, notYet)).platformRole).toBe('platform-admin');
    // Remembered with its nbf: a clock set back before it refuses it again, as verifying would.
    vi.setSystemTime(T0);
    await expect(verifyIdentity(key, notYet)).rejects.toThrow('not signed by the gateway');
  });

  it(`remembers at most ${VERIFIED_CACHE_SIZE} tokens, dropping the oldest`, async () => {
    const tokens = await Promise.all(
      Array.from({ length: VERIFIED_CACHE_SIZE + 1 }, (_, i) => signIdentity(key, { ...bob, username: `u${i}` }, 60)),
    );
    for (const t of tokens) await verifyIdentity(key, t);
    verifyCalls.n = 0;
    expect((await verifyIdentity(key, tokens[VERIFIED_CACHE_SIZE])).username).toBe(`u${VERIFIED_CACHE_SIZE}`);
    expect((await verifyIdentity(key, tokens[1])).username).toBe('u1');
    expect(verifyCalls.n).toBe(0);
    expect((await verifyIdentity(key, tokens[0])).username).toBe('u0');
    expect(verifyCalls.n).toBe(1);
  });
});
