/**
 * Where errors that deserve a human's attention go: a 5xx from a handler, a crash outside a
 * request, a background job's last failed attempt. Error tracking (Sentry, when `SENTRY_DSN`
 * is set) implements it; without it the core holds `NOOP_REPORTER`, so callers never branch.
 * Reporting never throws and never waits on the network.
 */
export interface ErrorReporter {
  /** True when reports go somewhere; lets callers skip building a context nobody reads. */
  readonly enabled: boolean
  /** Queues one report. Never throws, never blocks; a full queue drops and counts. */
  capture(error: unknown, context?: ErrorContext): void
  /** Sends what is queued, giving up after `timeoutMs`. Resolves `false` when it gave up. */
  flush(timeoutMs: number): Promise<boolean>
}

/** What a report carries besides the error. Every field is optional; none may hold a secret. */
export interface ErrorContext {
  /** Tags searched on: `request_id`, `trace_id`, `queue`, `job`, … (strings only). */
  tags?: Record<string, string>
  /** Structured extras; redacted with the logs' policy before they leave the process. */
  extra?: Record<string, unknown>
  /** The user's fingerprint (8 hex), never the id, name or e-mail. */
  user?: string
  /** The trace the report belongs to (32 hex) and its span (16 hex). */
  traceId?: string
  spanId?: string
}

/** The reporter of a service without error tracking: every call does nothing. */
export const NOOP_REPORTER: ErrorReporter = Object.freeze({
  enabled: false,
  capture() {},
  flush: async () => true,
})
