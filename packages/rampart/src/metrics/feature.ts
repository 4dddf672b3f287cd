import type { Rampart } from '../core/rampart.js'
import { HttpError } from '../errors/http-error.js'
import type { Feature } from '../pipeline/feature.js'
import { bearerMatches } from '../security/bearer.js'
import { type RedMetrics, recordRequest } from './red.js'

/**
 * RED metrics (`http_requests_total`, `http_request_duration_seconds`, `http_requests_in_flight`)
 * and the `/metrics` endpoint. Rampart's own paths are left out of the request metrics.
 */
export function metricsFeature(core: Rampart, red: RedMetrics): Feature {
  const { metrics, config } = core
  let inFlight = 0
  metrics.gauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests being served right now',
    collect() {
      this.set(inFlight)
    },
  })
  return {
    name: 'metrics',
    start(ex) {
      if (ex.internal) return
      ex.counted = true
      inFlight++
    },
    // The client went away before the response finished: out of flight, not counted as answered.
    abort(ex) {
      if (!ex.counted) return
      ex.counted = false
      inFlight--
    },
    end(ex, status, seconds) {
      if (!ex.counted) return
      ex.counted = false
      inFlight--
      recordRequest(red, ex.method, ex.route, status, seconds, ex.context.traceId)
    },
    routes: [
      {
        method: 'GET',
        path: '/metrics',
        async handle(ex) {
          if (!config.metrics.enabled) return undefined
          if (
            config.metrics.token !== undefined &&
            !bearerMatches(ex.headers.authorization, config.metrics.token)
          ) {
            // Rendered by the error handler (problem+json or a page) and reported as a security event.
            throw new HttpError(401, {
              detail: 'A valid bearer token is required for /metrics.',
              headers: { 'www-authenticate': 'Bearer realm="metrics"' },
            })
          }
          const wantsOpenMetrics = (ex.headers.accept ?? '').includes(
            'application/openmetrics-text',
          )
          const { contentType, body } = await metrics.render(wantsOpenMetrics)
          // OpenMetrics or Prometheus text, by Accept: caches must key on it.
          return {
            headers: { 'content-type': contentType, 'cache-control': 'no-store', vary: 'Accept' },
            body,
          }
        },
      },
    ],
  }
}
