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

// The slots `createReporterSlot` made: `Rampart.errors` stays the seam's plain `ErrorReporter`,
// and error tracking finds the slot behind it here.
const slots = new WeakSet<object>()

/** The slot behind a core's `errors` (made by `createRampart`), or undefined for another reporter. */
export function reporterSlotOf(errors: ErrorReporter): ReporterSlot | undefined {
  return slots.has(errors) ? (errors as ReporterSlot) : undefined
}

/** A slot holding `NOOP_REPORTER` until error tracking starts. */
export function createReporterSlot(): ReporterSlot {
  let target: ErrorReporter = NOOP_REPORTER
  const slot: ReporterSlot = {
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
  slots.add(slot)
  return slot
}
