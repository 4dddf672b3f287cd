import { createAuditLog } from '../audit/index.js'
import type { RampartOptions } from '../config/options.js'
import { type ResolvedConfig, resolveConfig } from '../config/resolve.js'
import type { ErrorReporter } from '../error-tracking/reporter.js'
import { createReporterSlot } from '../error-tracking/slot.js'
import { Health } from '../health/health.js'
import { createFingerprint } from '../logging/fingerprint.js'
import { type AccessLine, createLogging, type Logger } from '../logging/logger.js'
import { createRedactor, type Redactor } from '../logging/redact.js'
import { createMetrics, type RampartMetrics } from '../metrics/registry.js'
import type { RawAnswers } from '../pipeline/raw-answers.js'
import { MAX_JSON_DEPTH } from '../security/json-depth.js'
import { type RampartLimits, resolveLimits } from '../security/limits.js'
import { SecurityEventReporter } from '../security/reporter.js'
import type { TracingRuntime } from '../tracing/types.js'
import { Lifecycle } from './lifecycle.js'

/**
 * The framework-free core one service holds: resolved configuration, logger, redaction and
 * fingerprinting, and the shutdown sequence. Adapters create one per app and hang the
 * capabilities (metrics, security, rate limiting, audit, tracing) off it.
 */
export interface Rampart {
  readonly config: ResolvedConfig
  readonly logger: Logger
  /** Writes the request's access line (`request.completed`) through the logger's destination. */
  readonly writeAccess: (level: 'debug' | 'info' | 'error', line: AccessLine) => void
  readonly redactor: Redactor
  /** This app's metrics registry (private, never prom-client's global one); every metric is series-capped. */
  readonly metrics: RampartMetrics
  /** Readiness checks and the draining flag behind `/readyz`. */
  readonly health: Health
  /** Body, upload and JSON limits; `limits.multipart` is what to pass to `@fastify/multipart`. */
  readonly limits: RampartLimits
  /**
   * Error tracking: reports go nowhere (`enabled` false) until `SENTRY_DSN` turns it on (see
   * docs/error-tracking.md). The object never changes, so it can be kept from the start.
   */
  readonly errors: ErrorReporter
  /** HMAC-SHA256 of a value keyed with the secret key, 8 hex characters. */
  readonly fingerprint: (value: string) => string
  /**
   * Answers written outside the framework's request lifecycle (parser and router errors, the
   * server closing), once the adapter made them (`pipeline/raw-answers.ts`).
   */
  rawAnswers?: RawAnswers
  /** The tracing runtime this core joined (`tracing/attach.ts`), while tracing is on. */
  tracing?: TracingRuntime
  /** Security events (`security.<kind>` lines, `rampart_security_events_total`): one per core. */
  readonly securityEvents: SecurityEventReporter
  /** Registers a resource to close at shutdown (closed in reverse order of registration). */
  onClose(name: string, close: () => Promise<void> | void): void
  /** Closes every registered resource once, then flushes the logger. */
  close(): Promise<void>
}

/**
 * Validates the configuration and builds the core. Throws `RampartError`
 * (`ERR_RAMPART_CONFIG`) with a one-line message on bad configuration.
 *
 * @example
 * const core = createRampart({ service: 'orders' })
 * core.logger.info({ event: 'service.started' })
 */
export function createRampart(
  options: RampartOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Rampart {
  const config = resolveConfig(options, env)
  const redactor = createRedactor(config.redactKeys)
  const { logger, writeAccess, release } = createLogging({
    service: config.service,
    level: config.logLevel,
    format: config.logFormat,
    redactor,
    destination: config.logDestination,
  })
  for (const warning of config.warnings) logger.warn({ event: 'config.warning' }, warning)
  const lifecycle = new Lifecycle()
  const fingerprint = createFingerprint(config.secretKey)
  const metrics = createMetrics(options.metrics)
  const audit = createAuditLog(
    { config, logger, redactor, fingerprint, metrics },
    options.auditOptions,
  )
  lifecycle.onClose('audit', () => audit.close())
  return {
    config,
    logger,
    writeAccess,
    redactor,
    metrics,
    health: new Health(),
    audit,
    limits: resolveLimits(config, MAX_JSON_DEPTH),
    errors: createReporterSlot(),
    fingerprint,
    securityEvents: new SecurityEventReporter(metrics, logger),
    onClose: (name, close) => lifecycle.onClose(name, close),
    async close() {
      await lifecycle.close((name, err) =>
        logger.error({ event: 'shutdown.step_failed', step: name, err }, `closing ${name} failed`),
      )
      await new Promise<void>((resolve) => logger.flush(() => resolve()))
      release()
    },
  }
}
