import { type ErrorContext, type ErrorReporter, NOOP_REPORTER } from './reporter.js'

/**
 * The core's `errors`: a stable reporter that forwards to the one error tracking installs.
 * The core is built synchronously and Sentry is loaded asynchronously afterwards, so code that
 * keeps `core.errors` early (a job queue, a crash handler) still reaches the real reporter.
 */
export interface ReporterSlot extends ErrorReporter {
  /** Makes `reporter` the target of every later call (`NOOP_REPORTER` to turn reporting off). */
  use(reporter: ErrorReporter): void
}

/** A slot holding `NOOP_REPORTER` until error tracking starts. */
export function createReporterSlot(): ReporterSlot {
  let target: ErrorReporter = NOOP_REPORTER
  return {
    get enabled() {
      return target.enabled
    },
    capture(error: unknown, context?: ErrorContext) {
      target.capture(error, context)
    },
    flush: (timeoutMs: number) => target.flush(timeoutMs),
    use(reporter) {
      target = reporter
    },
  }
}
