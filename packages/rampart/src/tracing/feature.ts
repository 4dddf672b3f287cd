import type { Rampart } from '../core/rampart.js'
import type { Feature } from '../pipeline/feature.js'
import { attachTracing } from './attach.js'

/**
 * One server span per request, named `METHOD /route/template`, parented on the caller's
 * `traceparent`; its ids go into the request context (log lines, exemplars). Rampart's own
 * paths are not traced. No feature, and no OpenTelemetry module loaded, when tracing is off.
 * OpenTelemetry's context manager shares Rampart's async storage: one storage entered per request.
 */
export async function tracingFeature(core: Rampart): Promise<Feature | undefined> {
  const runtime = await attachTracing(core)
  if (runtime === undefined) return undefined
  return {
    name: 'tracing',
    start(ex) {
      if (ex.internal) return
      const { headers } = ex
      ex.span = runtime.startServerSpan(
        {
          method: ex.method,
          route: ex.matched ? ex.route : undefined,
          url: ex.url,
          headers,
          userAgent: headers['user-agent'],
          httpVersion: ex.httpVersion,
        },
        ex.context,
      )
    },
    end(ex, status) {
      const span = ex.span
      if (span === undefined) return
      const user = ex.context.userId
      // The principal goes out only as its keyed fingerprint, never the raw id.
      span.finish(status, user === undefined ? undefined : core.fingerprint(user))
    },
    // The client went away before the response finished (with or without its whole body sent):
    // the span ends as aborted, so it is still exported or counted as dropped.
    abort(ex) {
      ex.span?.abort()
    },
    failed(ex, error, status) {
      if (status >= 500) ex.span?.recordError(error)
    },
  }
}
