export { bucketKey, clientBucket, type Subject, subjectOf } from './client-key.js'
export {
  createRateLimiter,
  type LimitOutcome,
  type LimitRequest,
  type Policy,
  type RateLimiter,
  type RateLimiterOptions,
  WINDOW_MS,
} from './limiter.js'
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js'
export { createRedisStore, type RedisStore, type RedisStoreOptions } from './redis-store.js'
export type { Decision, Store, WindowSpec } from './store.js'
