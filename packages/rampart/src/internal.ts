// `rampart/internal`: the building blocks Rampart's own CLI, benchmarks and tests use (the
// audit chain, the rate limiter and its stores, the metrics registry, the logging pipeline,
// the SLO rule generators). NOT a stable API: names and signatures change in any release.
// Services use `rampart`, `rampart/fastify` or `rampart/express` (docs/api.md).
export {
  type AuditOptions,
  type AuditRow,
  type AuditStore,
  type Checkpoint,
  canonicalJson,
  checkpointIsValid,
  createAuditLog,
  openStore,
  rowHash,
  signCheckpoint,
  type VerifyResult,
  verifyChain,
} from './audit/index.js'
export { DEFAULTS, DURATION_BUCKETS_SECONDS } from './config/defaults.js'
export type { LogLevel } from './config/options.js'
export { resolveConfig } from './config/resolve.js'
export { createContext, runWithContext } from './context/context.js'
export { requestIdFrom } from './context/request-id.js'
export {
  type CsrfOptions,
  type CsrfTokens,
  createCsrfTokens,
  type TokenFailure,
} from './csrf/index.js'
export type { ErrorContext, ErrorReporter } from './error-tracking/reporter.js'
export { type FieldError, toHttpError } from './errors/normalize.js'
export { type CheckResult, Health, type Readiness } from './health/health.js'
export { createLogging, type LoggerSettings, type Logging } from './logging/logger.js'
export { type MetricsOptions, OVERFLOW } from './metrics/options.js'
export { createMetrics, type RampartMetrics } from './metrics/registry.js'
export {
  createRateLimiter,
  createRedisStore,
  MemoryStore,
  type MemoryStoreOptions,
  type RateLimiter,
  type RateLimiterOptions,
  type RedisStore,
  type RedisStoreOptions,
  WINDOW_MS,
} from './ratelimit/index.js'
export { isUnavailableError } from './resilience/pg-pool.js'
export { type ClientIpResolver, createClientIpResolver } from './security/client-ip.js'
export { MAX_JSON_DEPTH } from './security/json-depth.js'
export {
  generateDashboard,
  generateRules,
  parseConfig as parseRampartConfig,
  renderRules,
  renderRuleTests,
  type Slo,
  type SloConfigInput,
} from './slo/index.js'
