import { currentContext, currentSpanIds } from '../context/context.js'
import { isMissingPackage } from '../core/optional-peer.js'
import type { Rampart } from '../core/rampart.js'
import { RampartError } from '../errors/rampart-error.js'
import { NOOP_REPORTER } from './reporter.js'
import type { DropReason, SentryReporter } from './sentry.js'
import { reporterSlotOf } from './slot.js'

/** How long shutdown waits for queued reports: well inside the default 10 s drain budget. */
export const SHUTDOWN_FLUSH_MS = 2000

/** At most one "reports dropped" line per this long. */
const DROP_LOG_INTERVAL_MS = 60_000

type SentryModule = typeof import('./sentry.js')

/**
 * Turns error tracking on when `SENTRY_DSN` (or the `sentryDsn` option) is set: loads
 * `@sentry/node` (only then), points `core.errors` at a Sentry client, counts what it drops
 * (`rampart_error_reports_dropped_total`) and flushes it at shutdown within `SHUTDOWN_FLUSH_MS`.
 * Throws `ERR_RAMPART_CONFIG` with one line when the package is missing.
 */
export async function startErrorTracking(
  core: Rampart,
  load: () => Promise<SentryModule> = () => import('./sentry.js'),
): Promise<SentryReporter | undefined> {
  const { sentry, service } = core.config
  if (sentry.dsn === undefined) return undefined
  const slot = reporterSlotOf(core.errors)
  if (slot === undefined)
    throw new RampartError(
      'ERR_RAMPART_CONFIG',
      'error tracking needs a core made by createRampart',
    )
  let sdk: SentryModule
  try {
    sdk = await load()
  } catch (err) {
    throw new RampartError(
      'ERR_RAMPART_CONFIG',
      isMissingPackage(err, '@sentry/node')
        ? 'SENTRY_DSN: set, but the optional package @sentry/node is not installed (npm install @sentry/node)'
        : `SENTRY_DSN: set, but @sentry/node could not be loaded: ${(err as Error).message}`,
      { cause: err },
    )
  }
  const { logger } = core
  let lastDropLog = 0
  const reporter = sdk.createSentryReporter({
    dsn: sentry.dsn,
    environment: sentry.environment,
    release: sentry.release,
    sampleRate: sentry.sampleRate,
    service,
    version: sentry.version,
    redactor: core.redactor,
    currentIds: () => currentSpanIds(currentContext()),
    onDrop(reason: DropReason) {
      const now = Date.now()
      if (now - lastDropLog < DROP_LOG_INTERVAL_MS) return
      lastDropLog = now
      logger.warn(
        { event: 'error_tracking.report_dropped', reason, dropped: { ...reporter.dropped } },
        'an error report did not reach Sentry (at most one such line a minute)',
      )
    },
  })
  slot.use(reporter)
  registerReportMetrics(core, reporter)
  core.onClose('error-tracking', async () => {
    slot.use(NOOP_REPORTER)
    if (!(await reporter.close(SHUTDOWN_FLUSH_MS)))
      logger.warn(
        { event: 'error_tracking.flush_timed_out', timeout_ms: SHUTDOWN_FLUSH_MS },
        'error reports still queued at shutdown were dropped',
      )
  })
  logger.info({
    event: 'error_tracking.started',
    environment: sentry.environment,
    release: sentry.release,
    sample_rate: sentry.sampleRate,
  })
  return reporter
}

function registerReportMetrics(core: Rampart, reporter: SentryReporter): void {
  core.metrics.counter({
    name: 'rampart_error_reports_total',
    help: 'Error reports made (a 5xx, a crash, a job failure); those that never reached Sentry are counted in rampart_error_reports_dropped_total too',
    collect() {
      this.reset()
      this.inc(reporter.captured)
    },
  })
  core.metrics.counter({
    name: 'rampart_error_reports_dropped_total',
    help: 'Error reports that never reached Sentry, by reason (queue_overflow, network_error, send_error, ratelimit_backoff, client_rate_limit, capture_failed)',
    labelNames: ['reason'] as const,
    collect() {
      this.reset()
      for (const [reason, n] of Object.entries(reporter.dropped)) this.inc({ reason }, n)
    },
  })
}
