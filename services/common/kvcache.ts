// Apollo's KeyValueCache interface (from @apollo/utils.keyvaluecache, matched structurally) over ioredis, so that
// several replicas of a service share one cache (persisted queries, query plans). Every key gets a prefix; values
// go through a codec (strings as they are by default, JSON for objects); a TTL in seconds applies per entry.
// Redis failures never fail a request: a failed read is a miss and a failed write is dropped, both logged; while
// the connection is down, the cache is bypassed without waiting.
import { Redis } from 'ioredis';
import type { Logger } from './log.js';

export interface KeyValueCacheSetOptions {
  /** Seconds; null or 0 means no expiry. */
  ttl?: number | null;
}

export interface KeyValueCache<V = string> {
  get(key: string): Promise<V | undefined>;
  set(key: string, value: V, options?: KeyValueCacheSetOptions): Promise<void>;
  delete(key: string): Promise<boolean | void>;
}

export interface Codec<V> {
  encode(value: V): string;
  decode(raw: string): V;
}

export const stringCodec: Codec<string> = { encode: (v) => v, decode: (r) => r };
export function jsonCodec<V>(): Codec<V> {
  return { encode: (v) => JSON.stringify(v), decode: (r) => JSON.parse(r) as V };
}

export interface RedisKeyValueCacheOptions<V> {
  prefix: string;
  codec: Codec<V>;
  /** TTL in seconds used when set() is given none; undefined or 0: no expiry. */
  defaultTtl?: number;
  logger?: Logger;
}

export class RedisKeyValueCache<V = string> implements KeyValueCache<V> {
  constructor(
    private readonly redis: Redis,
    private readonly opts: RedisKeyValueCacheOptions<V>,
  ) {}

  get prefix(): string {
    return this.opts.prefix;
  }

  /** While Redis is not connected, the cache is skipped at once instead of waiting for a reconnect. */
  private get up(): boolean {
    return this.redis.status === 'ready';
  }

  async get(key: string): Promise<V | undefined> {
    if (!this.up) return undefined;
    try {
      const raw = await this.redis.get(this.opts.prefix + key);
      return raw === null ? undefined : this.opts.codec.decode(raw);
    } catch (e) {
      this.opts.logger?.warn('redis cache read failed', { prefix: this.opts.prefix, error: String(e) });
      return undefined;
    }
  }

  async set(key: string, value: V, options?: KeyValueCacheSetOptions): Promise<void> {
    const ttl = options?.ttl === undefined ? this.opts.defaultTtl : options.ttl;
    if (!this.up) return;
    try {
      const raw = this.opts.codec.encode(value);
      if (ttl && ttl > 0) await this.redis.set(this.opts.prefix + key, raw, 'EX', Math.ceil(ttl));
      else await this.redis.set(this.opts.prefix + key, raw);
    } catch (e) {
      this.opts.logger?.warn('redis cache write failed', { prefix: this.opts.prefix, error: String(e) });
    }
  }

  async delete(key: string): Promise<boolean> {
    if (!this.up) return false;
    try {
      return (await this.redis.del(this.opts.prefix + key)) > 0;
    } catch (e) {
      this.opts.logger?.warn('redis cache delete failed', { prefix: this.opts.prefix, error: String(e) });
      return false;
    }
  }
}

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

/** An in-memory KeyValueCache bounded by entry count (least recently used goes first), with TTLs. */
export class MemoryKeyValueCache<V = string> implements KeyValueCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(private readonly maxEntries = 1000) {}

  async get(key: string): Promise<V | undefined> {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (e.expires && e.expires < Date.now()) return undefined;
    this.entries.set(key, e);
    return e.value;
  }

  async set(key: string, value: V, options?: KeyValueCacheSetOptions): Promise<void> {
    const ttl = options?.ttl;
    this.entries.delete(key);
    this.entries.set(key, { value, expires: ttl && ttl > 0 ? Date.now() + ttl * 1000 : 0 });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  async delete(key: string): Promise<boolean> {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
