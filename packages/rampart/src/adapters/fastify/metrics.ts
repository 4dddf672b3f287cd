import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DURATION_BUCKETS_SECONDS, STANDARD_METHODS } from '../../config/defaults.js'
import type { Rampart } from '../../core/rampart.js'
import { HttpError } from '../../errors/http-error.js'
import type { CappedCounter, CappedHistogram } from '../../metrics/registry.js'
import type { RequestObservers } from './request-context.js'

/** `GET`…`CONNECT` as they are; anything else (invented or malformed methods) is `OTHER`. */
export function methodLabel(method: string): string {
  return STANDARD_METHODS.has(method) ? method : 'OTHER'
}

/** Constant-time comparison of a presented bearer token against the expected one. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
  if (header === undefined || !/^bearer /i.test(header)) return false
  const given = Buffer.from(header.slice(7))
  const want = Buffer.from(expected)
  // Compare equal-length buffers so the time taken does not reveal the token's length either.
  const padded = Buffer.alloc(want.length)
  given.copy(padded, 0, 0, Math.min(given.length, want.length))
  return timingSafeEqual(padded, want) && given.length === want.length
}

/** Set on requests the RED metrics count (not Rampart's own paths) until they are counted. */
const COUNTED = 'rampartCounted'

type RedLabels = 'method' | 'route' | 'status'
/** The request counter and duration histogram, for code that creates their series ahead. */
export interface RedMetrics {
  requests: CappedCounter<RedLabels>
  duration: CappedHistogram<RedLabels>
}
type Timed = FastifyRequest & { [COUNTED]?: boolean }

/** The request counter and duration histogram, registered on `metrics`. */
export function createRedMetrics(metrics: Rampart['metrics']): RedMetrics {
  const labelNames = ['method', 'route', 'status'] as const
  return {
    requests: metrics.counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status',
      labelNames,
    }),
    duration: metrics.histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from the first byte of the request to the end of the response, by method, route template and status',
      labelNames,
      buckets: DURATION_BUCKETS_SECONDS,
    }),
  }
}

/** What the RED metrics record of one answered request (the hot path; `bench/metrics.ts` times it). */
export function recordRequest(
  red: RedMetrics,
  method: string,
  route: string,
  status: number,
  seconds: number,
  traceId: string | undefined,
): void {
  const labels = { method: methodLabel(method), route, status }
  red.requests.inc(labels)
  if (traceId === undefined) red.duration.observe(labels, seconds)
  else red.duration.observe(labels, seconds, { trace_id: traceId })
}

/**
 * RED metrics (`http_requests_total`, `http_request_duration_seconds`, `http_requests_in_flight`)
 * and the `/metrics` endpoint. Rampart's own paths are left out of the request metrics.
 */
export function installMetrics(
  app: FastifyInstance,
  core: Rampart,
  observers: RequestObservers,
): RedMetrics {
  const { metrics, config } = core
  const red = createRedMetrics(core.metrics)
  let inFlight = 0
  app.decorateRequest(COUNTED, false)
  metrics.gauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests being served right now',
    collect() {
      this.set(inFlight)
    },
  })

  // Started and ended from the request context's own hooks: no hook dispatch of its own.
  observers.add({
    onRequest(request: Timed, _reply, internal) {
      if (internal) return
      request[COUNTED] = true
      inFlight++
    },
    // The client went away before the response finished: out of flight, not counted as answered.
    onAbort(request: Timed) {
      if (request[COUNTED] !== true) return
      request[COUNTED] = false
      inFlight--
    },
    onResponse(request: Timed, reply, route, seconds) {
      if (request[COUNTED] !== true) return
      request[COUNTED] = false
      inFlight--
      recordRequest(
        red,
        request.method,
        route,
        reply.statusCode,
        seconds,
        request.rampartContext.traceId,
      )
    },
  })

  app.get('/metrics', { config: { rateLimit: false, csrf: false } }, async (request, reply) => {
    if (!config.metrics.enabled) return reply.callNotFound()
    if (
      config.metrics.token !== undefined &&
      !bearerMatches(request.headers.authorization, config.metrics.token)
    ) {
      // Rendered by the error handler (problem+json or a page) and reported as a security event.
      throw new HttpError(401, {
        detail: 'A valid bearer token is required for /metrics.',
        headers: { 'www-authenticate': 'Bearer realm="metrics"' },
      })
    }
    const wantsOpenMetrics = (request.headers.accept ?? '').includes('application/openmetrics-text')
    const { contentType, body } = await metrics.render(wantsOpenMetrics)
    return reply.type(contentType).header('cache-control', 'no-store').send(body)
  })
  return red
}
