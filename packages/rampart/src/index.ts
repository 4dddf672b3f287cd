// The public API of `rampart` (docs/api.md lists each name; test/package/api.test.ts pins the
// list). Framework entry points are `rampart/fastify` and `rampart/express`; building blocks the
// CLI, the benchmarks and the tests use are in `rampart/internal`, which is not a stable API.
export type { AuditLog, AuditReceipt, AuditRecord } from './audit/index.js'
export { isInternalPath } from './config/defaults.js'
export type {
  RampartOptions,
  RateLimitKeyRequest,
  RateLimitPolicyOptions,
} from './config/options.js'
export type { ResolvedConfig } from './config/resolve.js'
export { bindUser, currentContext, type RequestContext } from './context/context.js'
export { createRampart, type Rampart } from './core/rampart.js'
export { csrfField } from './csrf/index.js'
export { HttpError } from './errors/http-error.js'
export { isRampartError, RampartError, type RampartErrorCode } from './errors/rampart-error.js'
export type { ReadinessCheck } from './health/health.js'
export { createLogger, type Logger } from './logging/logger.js'
export { createRedactor, type Redactor } from './logging/redact.js'
export type { Decision, Store, WindowSpec } from './ratelimit/index.js'
export { type OutageTracker, trackOutage } from './resilience/outage.js'
export { createPgPool, type PgPoolOptions } from './resilience/pg-pool.js'
export { applyServerTimeouts, type ServerTimeouts } from './security/server-timeouts.js'
export { defineConfig, type SloConfig } from './slo/index.js'
export type { RampartSpan, SpanAttributes } from './tracing/types.js'
export { withSpan } from './tracing/with-span.js'
