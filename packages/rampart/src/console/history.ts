import { DURATION_BUCKETS_SECONDS } from '../config/defaults.js'
import type { Rampart } from '../core/rampart.js'
import { type Labels, samples } from './samples.js'

/** One point of the console's recent history: the 10 s before `at`. */
export interface HistoryPoint {
  /** End of the interval, ISO 8601. */
  at: string
  requests_per_second: number
  /** Responses with a 5xx status, per second. */
  errors_per_second: number
  /**
   * 95th percentile of the interval's durations, ms, estimated from the histogram buckets the
   * way Prometheus' `histogram_quantile` does; null when the interval had no request.
   */
  p95_ms: number | null
}

/** The recent history the console draws, oldest point first. */
export interface ConsoleHistory {
  interval_seconds: number
  /** How many points are kept (15 minutes at the default interval). */
  capacity: number
  points: HistoryPoint[]
}

/** Counters as they stand at one moment, summed over every route. */
export interface Cumulative {
  requests: number
  errors: number
  /** Cumulative count per bucket upper bound (`+Inf` as Infinity), as `_bucket` reports. */
  buckets: Map<number, number>
}

export const HISTORY_INTERVAL_MS = 10_000
export const HISTORY_CAPACITY = 90

/**
 * A bounded ring buffer of request rate, 5xx rate and p95, one point per interval, computed as
 * the difference of two readings of the app's own counters. Memory is fixed: `capacity` points.
 * Hand-written: prom-client keeps totals only, and a time-series store for 90 points of one
 * process would be a dependency for ten lines.
 */
export class RequestHistory {
  readonly #ring: Array<HistoryPoint | undefined>
  #next = 0
  #last: { at: number; value: Cumulative } | undefined

  constructor(
    private readonly read: () => Promise<Cumulative>,
    readonly intervalMs = HISTORY_INTERVAL_MS,
    readonly capacity = HISTORY_CAPACITY,
    private readonly now: () => number = Date.now,
  ) {
    this.#ring = new Array(capacity)
  }

  /** Reads the counters; from the second reading on, appends the interval since the previous one. */
  async sample(): Promise<void> {
    const value = await this.read()
    const at = this.now()
    const last = this.#last
    this.#last = { at, value }
    if (last === undefined || at <= last.at) return
    const seconds = (at - last.at) / 1000
    // A registry reset (tests, `resetMetrics`) makes counters go down: start again from there.
    if (value.requests < last.value.requests) return
    const requests = value.requests - last.value.requests
    const delta = new Map<number, number>()
    for (const [le, count] of value.buckets)
      delta.set(le, Math.max(0, count - (last.value.buckets.get(le) ?? 0)))
    this.#ring[this.#next] = {
      at: new Date(at).toISOString(),
      requests_per_second: round3(requests / seconds),
      errors_per_second: round3(Math.max(0, value.errors - last.value.errors) / seconds),
      p95_ms: requests === 0 ? null : estimateQuantileMs(delta, 0.95),
    }
    this.#next = (this.#next + 1) % this.capacity
  }

  /** The kept points, oldest first. */
  series(): ConsoleHistory {
    const points: HistoryPoint[] = []
    for (let i = 0; i < this.capacity; i++) {
      const p = this.#ring[(this.#next + i) % this.capacity]
      if (p !== undefined) points.push(p)
    }
    return { interval_seconds: this.intervalMs / 1000, capacity: this.capacity, points }
  }
}

/**
 * The quantile of a cumulative histogram, interpolated linearly inside the bucket that holds it,
 * as Prometheus' `histogram_quantile` does (above the largest finite bound: that bound).
 */
export function estimateQuantileMs(buckets: Map<number, number>, q: number): number | null {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0])
  const total = sorted.at(-1)?.[1] ?? 0
  if (total === 0) return null
  const rank = q * total
  let lowerBound = 0
  let lowerCount = 0
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return round3(lowerBound * 1000)
      const share = count === lowerCount ? 1 : (rank - lowerCount) / (count - lowerCount)
      return round3((lowerBound + (le - lowerBound) * share) * 1000)
    }
    lowerBound = le
    lowerCount = count
  }
  return round3(lowerBound * 1000)
}

const DEFAULT_BOUNDS: ReadonlySet<number> = new Set(DURATION_BUCKETS_SECONDS)

/** Reads the RED counters of the app's registry, summed over every route. */
export async function readCumulative(core: Rampart): Promise<Cumulative> {
  const { registry } = core.metrics
  const [requests, durations] = await Promise.all([
    samples(registry, 'http_requests_total'),
    samples(registry, 'http_request_duration_seconds'),
  ])
  const value: Cumulative = { requests: 0, errors: 0, buckets: new Map() }
  for (const s of requests) {
    value.requests += s.value
    if (isServerError(s.labels)) value.errors += s.value
  }
  for (const s of durations) {
    if (s.labels.__name__?.endsWith('_bucket') !== true) continue
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le)
    // An SLO threshold adds a boundary to some routes only; summed over every route it would
    // break the cumulative counts, so only the boundaries every series has are read.
    if (Number.isFinite(le) && !DEFAULT_BOUNDS.has(le)) continue
    value.buckets.set(le, (value.buckets.get(le) ?? 0) + s.value)
  }
  return value
}

const isServerError = (l: Labels) => Number(l.status) >= 500

/**
 * Starts sampling this app's counters every interval on an unref'd timer (it never keeps the
 * process alive), stopped when the core closes. A failing read is logged once and skipped:
 * the console's picture must never take the service down.
 */
export function startRequestHistory(
  core: Rampart,
  intervalMs = HISTORY_INTERVAL_MS,
): RequestHistory {
  const history = new RequestHistory(() => readCumulative(core), intervalMs)
  let running = false
  let warned = false
  const tick = () => {
    if (running) return
    running = true
    history
      .sample()
      .catch((err: unknown) => {
        if (warned) return
        warned = true
        core.logger.warn(
          { event: 'console.sample_failed', err },
          'the console could not read the metrics registry; its charts skip this interval',
        )
      })
      .finally(() => {
        running = false
      })
  }
  tick()
  const timer = setInterval(tick, intervalMs)
  timer.unref()
  core.onClose('console history', () => clearInterval(timer))
  return history
}

const round3 = (x: number) => Math.round(x * 1000) / 1000
