export {
  type AuditLog,
  type AuditOptions,
  type AuditReceipt,
  type AuditRecord,
  type AuditRow,
  type AuditStore,
  type Checkpoint,
  canonicalJson,
  canonicalRow,
  checkpointIsValid,
  createAuditLog,
  openStore,
  rowHash,
  signCheckpoint,
  type VerifyResult,
  verifyChain,
} from './audit/index.js'
export { DEFAULTS, DURATION_BUCKETS_SECONDS, isInternalPath } from './config/defaults.js'
export type { LogLevel, RampartOptions, RateLimitPolicyOptions } from './config/options.js'
export { type ResolvedConfig, resolveConfig } from './config/resolve.js'
export {
  bindUser,
  createContext,
  currentContext,
  type RequestContext,
  runWithContext,
} from './context/context.js'
export { requestIdFrom } from './context/request-id.js'
export { createRampart, type Rampart } from './core/rampart.js'
export {
  CSRF_DEFAULTS,
  type CsrfOptions,
  type CsrfTokens,
  createCsrfTokens,
  createOriginCheck,
  csrfField,
  type TokenFailure,
} from './csrf/index.js'
export {
  type ErrorContext,
  type ErrorReporter,
  NOOP_REPORTER,
} from './error-tracking/reporter.js'
export { HttpError, REASONS } from './errors/http-error.js'
export { prefersHtml } from './errors/negotiate.js'
export { type FieldError, toHttpError } from './errors/normalize.js'
export { isRampartError, RampartError, type RampartErrorCode } from './errors/rampart-error.js'
export { type Problem, type RenderedError, renderError } from './errors/render.js'
export { type CheckResult, Health, type Readiness, type ReadinessCheck } from './health/health.js'
export { createFingerprint } from './logging/fingerprint.js'
export {
  type AccessLine,
  createLogger,
  createLogging,
  type Logger,
  type LoggerSettings,
  type Logging,
} from './logging/logger.js'
export { createRedactor, REDACTED, type Redactor } from './logging/redact.js'
export { type MetricsOptions, OVERFLOW } from './metrics/options.js'
export {
  type CappedCounter,
  type CappedGauge,
  type CappedHistogram,
  createMetrics,
  type RampartMetrics,
} from './metrics/registry.js'
export {
  bucketKey,
  clientBucket,
  createRateLimiter,
  createRedisStore,
  type Decision,
  type LimitOutcome,
  type LimitRequest,
  MemoryStore,
  type MemoryStoreOptions,
  type Policy,
  type RateLimiter,
  type RateLimiterOptions,
  type RedisStore,
  type RedisStoreOptions,
  type Store,
  type Subject,
  subjectOf,
  WINDOW_MS,
  type WindowSpec,
} from './ratelimit/index.js'
export {
  type OutageDeps,
  type OutageTracker,
  trackOutage,
} from './resilience/outage.js'
export { createPgPool, isUnavailableError, type PgPoolOptions } from './resilience/pg-pool.js'
export { type ClientIpResolver, createClientIpResolver } from './security/client-ip.js'
export { JsonTooDeepError, jsonDepthGuard, MAX_JSON_DEPTH } from './security/json-depth.js'
export { type MultipartLimits, type RampartLimits, resolveLimits } from './security/limits.js'
export { applyServerTimeouts, type ServerTimeouts } from './security/server-timeouts.js'
export {
  defineConfig,
  generateDashboard,
  generateRules,
  parseConfig as parseRampartConfig,
  renderRules,
  renderRuleTests,
  type Slo,
  type SloConfig,
  type SloConfigInput,
} from './slo/index.js'
export type { RampartSpan, SpanAttributes, SpanAttributeValue } from './tracing/types.js'
export { withSpan } from './tracing/with-span.js'
