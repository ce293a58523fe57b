// Redis plumbing shared by the caches: a client that fails fast while Redis is down, a bounded wait for it to be
// ready, deletion by key prefix, and a URL fit for logs.
import { Redis } from 'ioredis';
import type { Logger } from './log.js';

/** A Redis client for caches: fails fast instead of queueing commands forever while Redis is down. */
export function createRedisClient(url: string, logger?: Logger): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000, enableAutoPipelining: true });
  let reported = false;
  redis.on('error', (e: Error) => {
    if (!reported) logger?.warn('redis connection error', { error: e.message });
    reported = true;
  });
  redis.on('ready', () => {
    reported = false;
  });
  return redis;
}

/** Waits for the connection to be ready, at most timeoutMs; false when it is not (the caches are then bypassed). */
export async function redisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}

/** Deletes every key under a prefix (SCAN, not KEYS); for tests and maintenance. */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', prefix.replace(/[*?[\]\\]/g, '\\$&') + '*', 'COUNT', 500);
    cursor = next;
    if (keys.length) n += await redis.del(...keys);
  } while (cursor !== '0');
  return n;
}

/** A Redis URL without its password, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(invalid)';
  }
}
