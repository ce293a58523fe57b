// Caches for Apollo (persisted queries, query plans), as Apollo's KeyValueCache (@apollo/utils.keyvaluecache):
// - in memory, Apollo's own InMemoryLRUCache (bounded by entries and size, TTLs per entry);
// - over Redis (services/common/redis.ts), so that several replicas of a service share one cache. Every key gets a
//   prefix; values go through a codec (strings as they are by default, JSON for objects); a TTL in seconds applies
//   per entry. Redis failures never fail a request: a failed read is a miss and a failed write is dropped, both
//   logged; while the connection is down, the cache is bypassed without waiting.
import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { Redis } from 'ioredis';
import type { Logger } from './log.js';

export { InMemoryLRUCache, type KeyValueCache, type KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';

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
