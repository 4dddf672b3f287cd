import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DURATION_BUCKETS_SECONDS, STANDARD_METHODS } from '../../config/defaults.js'
import type { Rampart } from '../../core/rampart.js'
import { HttpError } from '../../errors/http-error.js'
import type {
  BoundCounter,
  BoundHistogram,
  CappedCounter,
  CappedHistogram,
} from '../../metrics/registry.js'
import { bearerMatches } from '../../security/bearer.js'
import { extraBucketsFor, sloBuckets } from '../../slo/buckets.js'
import type { SloConfig } from '../../slo/options.js'
import type { RequestObservers } from './request-context.js'

/** `GET`…`CONNECT` as they are; anything else (invented or malformed methods) is `OTHER`. */
export function methodLabel(method: string): string {
  return STANDARD_METHODS.has(method) ? method : 'OTHER'
}

// Framework-free; kept importable from here for the console adapter.

/** Set on requests the RED metrics count (not Rampart's own paths) until they are counted. */
const COUNTED = 'rampartCounted'

type RedLabels = 'method' | 'route' | 'status'
/** The request counter and duration histogram, for code that creates their series ahead. */
export interface RedMetrics {
  requests: CappedCounter<RedLabels>
  duration: CappedHistogram<RedLabels>
  /** The series of one method, route and status, found once and kept (the hot path's cache). */
  series: RedSeriesCache
}
type Timed = FastifyRequest & { [COUNTED]?: boolean }

interface RedSeries {
  requests: BoundCounter
  duration: BoundHistogram
}

/**
 * The RED series by route, method and status. A request's labels are strings the router and
 * the HTTP parser hand out again for every request (route templates, method names), so three
 * `Map` lookups on them find the pair of series without building a label object or a key.
 * Bounded: route templates and methods are finite, statuses are 100–599, and past `MAX_CACHED`
 * entries lookups go through the capped metrics each time.
 */
class RedSeriesCache {
  static readonly MAX_CACHED = 10_000
  readonly #byRoute = new Map<string, Map<string, Map<number, RedSeries>>>()
  #size = 0
  constructor(
    readonly requests: CappedCounter<RedLabels>,
    readonly duration: CappedHistogram<RedLabels>,
  ) {}

  get(method: string, route: string, status: number): RedSeries {
    let byMethod = this.#byRoute.get(route)
    let byStatus = byMethod?.get(method)
    const found = byStatus?.get(status)
    if (found !== undefined) return found
    const labels = { method: methodLabel(method), route, status }
    const series = {
      requests: this.requests.labels(labels),
      duration: this.duration.labels(labels),
    }
    if (this.#size >= RedSeriesCache.MAX_CACHED) return series
    if (byMethod === undefined) {
      byMethod = new Map()
      this.#byRoute.set(route, byMethod)
    }
    if (byStatus === undefined) {
      byStatus = new Map()
      byMethod.set(method, byStatus)
    }
    byStatus.set(status, series)
    this.#size++
    return series
  }
}

/**
 * The request counter and duration histogram, registered on `metrics`. The latency SLOs of
 * `slo` add their thresholds as bucket boundaries (of their route's series, or of all).
 */
export function createRedMetrics(metrics: Rampart['metrics'], slo?: SloConfig): RedMetrics {
  const labelNames = ['method', 'route', 'status'] as const
  const extra = slo === undefined ? undefined : sloBuckets(slo)
  const requests = metrics.counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames,
  })
  const duration = metrics.histogram<RedLabels>({
    name: 'http_request_duration_seconds',
    help: 'Time from the first byte of the request to the end of the response, by method, route template and status',
    labelNames,
    buckets: DURATION_BUCKETS_SECONDS,
    ...(extra === undefined ? {} : { bucketsFor: ({ route }) => extraBucketsFor(extra, route) }),
  })
  return { requests, duration, series: new RedSeriesCache(requests, duration) }
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
  const series = red.series.get(method, route, status)
  series.requests.inc()
  if (traceId === undefined) series.duration.observe(seconds)
  else series.duration.observe(seconds, { trace_id: traceId })
}

/**
 * RED metrics (`http_requests_total`, `http_request_duration_seconds`, `http_requests_in_flight`)
 * and the `/metrics` endpoint. Rampart's own paths are left out of the request metrics.
 */
export function installMetrics(
  app: FastifyInstance,
  core: Rampart,
  observers: RequestObservers,
  slo?: SloConfig,
): RedMetrics {
  const { metrics, config } = core
  const red = createRedMetrics(core.metrics, slo)
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
    onResponse(request: Timed, _reply, route, seconds, _internal, status) {
      if (request[COUNTED] !== true) return
      request[COUNTED] = false
      inFlight--
      recordRequest(red, request.method, route, status, seconds, request.rampartContext.traceId)
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
    // OpenMetrics or Prometheus text, by Accept: caches must key on it.
    return reply
      .type(contentType)
      .header('cache-control', 'no-store')
      .header('vary', 'Accept')
      .send(body)
  })
  return red
}
