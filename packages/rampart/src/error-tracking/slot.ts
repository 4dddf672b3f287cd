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

class Slot implements ReporterSlot {
  #target: ErrorReporter = NOOP_REPORTER
  get enabled(): boolean {
    return this.#target.enabled
  }
  capture(error: unknown, context?: ErrorContext): void {
    this.#target.capture(error, context)
  }
  flush(timeoutMs: number): ReturnType<ErrorReporter['flush']> {
    return this.#target.flush(timeoutMs)
  }
  use(reporter: ErrorReporter): void {
    this.#target = reporter
  }
}

/**
 * The slot behind a core's `errors` (made by `createRampart`), or undefined for another
 * reporter: `Rampart.errors` stays the seam's plain `ErrorReporter`.
 */
export function reporterSlotOf(errors: ErrorReporter): ReporterSlot | undefined {
  return errors instanceof Slot ? errors : undefined
}

/** A slot holding `NOOP_REPORTER` until error tracking starts. */
export function createReporterSlot(): ReporterSlot {
  return new Slot()
}
