import type { Logger } from '../logging/logger.js'
import type { RampartMetrics } from '../metrics/registry.js'

/**
 * The up/down state of one dependency (a database, a store), so that an outage is one log line
 * and one counter increment, not one per failed request: `failed()` logs
 * `dependency.unavailable` (error) on the first failure only, `succeeded()` logs
 * `dependency.recovered` (info, with the outage's length) on the first success after it.
 */
export interface OutageTracker {
  readonly dependency: string
  /** True between the first failure and the next success. */
  readonly down: boolean
  /** Reports a failed call; returns true when it started an outage (the caller may log more). */
  failed(err: unknown): boolean
  /**
   * Reports a call that worked, started at `startedAt` (`performance.now()`). A call started
   * before the outage began does not end it: at the moment a connection is cut, answers already
   * on their way still arrive among the errors. Cheap: one comparison while up.
   */
  succeeded(startedAt?: number): void
}

/** What a tracker needs from the core (`Rampart` satisfies it). */
export interface OutageDeps {
  readonly logger: Logger
  readonly metrics?: Pick<RampartMetrics, 'counter'>
}

const counters = new WeakMap<object, ReturnType<RampartMetrics['counter']>>()

/**
 * Creates the tracker of `dependency` (e.g. `audit-db`, `database`). Every tracker of one
 * registry shares `rampart_dependency_outages_total{dependency}`.
 *
 * @example
 * const outage = trackOutage({ logger, metrics }, 'database')
 * try { await query(); outage.succeeded() } catch (err) { outage.failed(err); throw err }
 */
export function trackOutage(deps: OutageDeps, dependency: string): OutageTracker {
  const { logger, metrics } = deps
  let outages = metrics ? counters.get(metrics) : undefined
  if (metrics && outages === undefined) {
    outages = metrics.counter({
      name: 'rampart_dependency_outages_total',
      help: 'Outages of a dependency: runs of failed calls ended by a call that worked.',
      labelNames: ['dependency'] as const,
    })
    counters.set(metrics, outages)
  }
  let since = 0
  return {
    dependency,
    get down() {
      return since !== 0
    },
    failed(err) {
      if (since !== 0) return false
      since = performance.now()
      try {
        outages?.inc({ dependency })
      } catch {
        // telemetry never breaks the caller
      }
      logger.error(
        { event: 'dependency.unavailable', dependency, err },
        `${dependency} is unavailable; calls fail until it answers again`,
      )
      return true
    },
    succeeded(startedAt) {
      if (since === 0 || (startedAt !== undefined && startedAt < since)) return
      const downMs = performance.now() - since
      since = 0
      logger.info(
        { event: 'dependency.recovered', dependency, down_ms: Math.round(downMs) },
        `${dependency} answers again after ${Math.round(downMs / 1000)} s`,
      )
    },
  }
}
