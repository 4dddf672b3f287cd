import { DURATION_BUCKETS_SECONDS, STANDARD_METHODS } from '../config/defaults.js'
import { extraBucketsFor, sloBuckets } from '../slo/buckets.js'
import type { SloConfig } from '../slo/options.js'
import type {
  BoundCounter,
  BoundHistogram,
  CappedCounter,
  CappedHistogram,
  RampartMetrics,
} from './registry.js'

/** `GET`…`CONNECT` as they are; anything else (invented or malformed methods) is `OTHER`. */
export function methodLabel(method: string): string {
  return STANDARD_METHODS.has(method) ? method : 'OTHER'
}

type RedLabels = 'method' | 'route' | 'status'
/** The request counter and duration histogram, for code that creates their series ahead. */
export interface RedMetrics {
  requests: CappedCounter<RedLabels>
  duration: CappedHistogram<RedLabels>
  /** The series of one method, route and status, found once and kept (the hot path's cache). */
  series: RedSeriesCache
}
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
export function createRedMetrics(metrics: RampartMetrics, slo?: SloConfig): RedMetrics {
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
