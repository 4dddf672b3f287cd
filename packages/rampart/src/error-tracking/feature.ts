import type { Rampart } from '../core/rampart.js'
import { toHttpError } from '../errors/normalize.js'
import type { Exchange } from '../pipeline/exchange.js'
import type { Feature } from '../pipeline/feature.js'
import { installCrashHandlers } from './crash.js'
import { ensureTraceIds, reportRequestFailure } from './request.js'
import { startErrorTracking } from './start.js'

/**
 * Error tracking and crash handlers. A request answered 5xx is reported once, when it ends
 * (after the answer went out), with what the handler threw when it threw. A handler that fails
 * after its client went away (no answer, no `end`) is reported when it throws, with the status
 * its error would have been answered with. No feature when `SENTRY_DSN` is unset (and no Sentry
 * module loaded).
 */
export async function errorTrackingFeature(core: Rampart): Promise<Feature | undefined> {
  // Sentry first: when it cannot start, the plugin fails with nothing installed on `process`.
  await startErrorTracking(core)
  core.onClose('crash-handlers', installCrashHandlers(core))
  if (!core.errors.enabled) return undefined

  const report = (ex: Exchange, status: number) => {
    if (ex.errorReported) return
    ex.errorReported = true
    reportRequestFailure(core.errors, core.fingerprint, {
      error: ex.thrown,
      status,
      method: ex.method,
      route: ex.route,
      ctx: ex.context,
    })
  }
  return {
    name: 'error-tracking',
    start(ex) {
      if (!ex.internal) ensureTraceIds(ex.context, ex.headers.traceparent)
    },
    // The error as thrown, before the error handler turns it into an answer.
    failed(ex, error) {
      ex.thrown = error
      if (!ex.clientGone || ex.internal) return
      const status = toHttpError(error, { exposeMessage: false }).status
      if (status >= 500) report(ex, status)
    },
    // `status` is what the access line says: a response that failed after its headers went
    // out is a 500 there while the reply still holds the 200 that was sent.
    end(ex, status) {
      if (ex.internal || status < 500) return
      report(ex, status)
    },
  }
}
