// The gateway's caches: automatic persisted queries and query plans. With a Redis URL both live in Redis (shared by
// replicas, Redis down means a miss: services/common/kvcache.ts); without one, plans are kept in memory and APQ is
// Apollo Server's own in-memory cache.
import type { GatewayConfig } from '@apollo/gateway';
import type { Redis } from 'ioredis';
import {
  InMemoryLRUCache,
  jsonCodec,
  RedisKeyValueCache,
  stringCodec,
  type KeyValueCache,
} from '../services/common/kvcache.js';
import type { Logger } from '../services/common/log.js';
import { createRedisClient, redactRedisUrl, redisReady } from '../services/common/redis.js';

type QueryPlanCache = NonNullable<NonNullable<GatewayConfig['queryPlannerConfig']>['cache']>;
type QueryPlan = QueryPlanCache extends KeyValueCache<infer P> ? P : never;

export interface GatewayCachesOptions {
  redisUrl?: string;
  /** Prefix of every Redis key of this gateway. */
  redisKeyPrefix: string;
  /** Plans are only valid for the supergraph they were planned on: its hash is part of their keys. */
  supergraphHash: string;
  queryPlanTtlSeconds: number;
  log: Logger;
  /** Each plan lookup, hit or miss. */
  onPlanLookup?: (hit: boolean) => void;
}

export interface GatewayCaches {
  /** Where the caches live, for the start log line. */
  backend: 'redis' | 'memory';
  /** The persisted-query cache to give Apollo Server; undefined: its own. */
  apq?: KeyValueCache<string>;
  plans: QueryPlanCache;
  close(): Promise<void>;
}

/** Plans kept in memory without Redis. */
const MEMORY_PLANS = 2000;

export async function createGatewayCaches(opts: GatewayCachesOptions): Promise<GatewayCaches> {
  const { log } = opts;
  let redis: Redis | undefined;
  let apq: KeyValueCache<string> | undefined;
  let planStore: KeyValueCache<QueryPlan>;
  let memoryPlans: InMemoryLRUCache<QueryPlan> | undefined;
  if (opts.redisUrl) {
    redis = createRedisClient(opts.redisUrl, log);
    if (!(await redisReady(redis, 2_000)))
      log.warn('redis not reachable at start: caches bypassed until it is', { redis: redactRedisUrl(opts.redisUrl) });
    const prefix = opts.redisKeyPrefix;
    apq = new RedisKeyValueCache(redis, { prefix: `${prefix}apq:`, codec: stringCodec, logger: log });
    planStore = new RedisKeyValueCache<QueryPlan>(redis, {
      prefix: `${prefix}plan:${opts.supergraphHash}:`,
      codec: jsonCodec<QueryPlan>(),
      logger: log,
    });
  } else {
    planStore = memoryPlans = new InMemoryLRUCache<QueryPlan>({ max: MEMORY_PLANS });
  }
  const ttl = opts.queryPlanTtlSeconds;
  const plans: QueryPlanCache = {
    async get(key) {
      const plan = await planStore.get(key);
      opts.onPlanLookup?.(Boolean(plan));
      return plan;
    },
    set: (key, value) => planStore.set(key, value, { ttl }),
    delete: (key) => planStore.delete(key),
    // Called when the supergraph changes; it never does at run time here (static supergraph), and Redis keys are
    // per supergraph hash anyway.
    clear: () => memoryPlans?.clear(),
  };
  return {
    backend: redis ? 'redis' : 'memory',
    apq,
    plans,
    async close() {
      if (redis) await redis.quit().catch(() => redis?.disconnect());
    },
  };
}
