import { DURATION_BUCKETS_SECONDS } from '../config/defaults.js'
import { parseRoute, type SloConfig } from './options.js'

/**
 * Where latency SLO thresholds become bucket boundaries of `http_request_duration_seconds`
 * (ADR 0016). A threshold that is already a default bucket costs nothing. Any other one is
 * added to the series of the SLO's route only (every method and status of that route
 * template, so `sum by (le, route)` stays a consistent histogram), or to every series when the
 * SLO covers the whole service. Per route is what keeps series lowest: one extra `_bucket`
 * series per method and status of one route, against one per method, status and route.
 */
export interface SloBuckets {
  /** Extra boundaries on every series (thresholds of service-wide latency SLOs). */
  readonly all: readonly number[]
  /** Extra boundaries by route template (the path; the method does not matter). */
  readonly byRoute: ReadonlyMap<string, readonly number[]>
}

const isDefault = (t: number) => (DURATION_BUCKETS_SECONDS as readonly number[]).includes(t)

/** The extra boundaries the config's latency SLOs need. */
export function sloBuckets(config: SloConfig): SloBuckets {
  const all = new Set<number>()
  const byRoute = new Map<string, Set<number>>()
  for (const slo of config.slos) {
    if (slo.kind !== 'latency' || isDefault(slo.thresholdSeconds)) continue
    if (slo.route === undefined) all.add(slo.thresholdSeconds)
    else {
      const path = parseRoute(slo.route).path
      byRoute.set(path, (byRoute.get(path) ?? new Set()).add(slo.thresholdSeconds))
    }
  }
  const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b)
  return {
    all: sorted(all),
    byRoute: new Map([...byRoute].map(([route, set]) => [route, sorted(set)])),
  }
}

/** Extra boundaries of one route's series (undefined: the defaults only). */
export function extraBucketsFor(buckets: SloBuckets, route: string): readonly number[] | undefined {
  const own = buckets.byRoute.get(route)
  if (own === undefined) return buckets.all.length ? buckets.all : undefined
  return [...new Set([...buckets.all, ...own])].sort((a, b) => a - b)
}

/** Every boundary of one route's series: the defaults plus its extras, ascending. */
export function routeBuckets(config: SloConfig, route: string | undefined): number[] {
  const b = sloBuckets(config)
  const extra = route === undefined ? b.all : (extraBucketsFor(b, parseRoute(route).path) ?? [])
  return [...new Set([...DURATION_BUCKETS_SECONDS, ...extra])].sort((a, b) => a - b)
}

/**
 * Boundaries that only some routes have: a quantile summed over several routes must leave them
 * out, or `histogram_quantile` sees a bucket holding a few routes' requests between buckets
 * holding every route's (not monotonic) and bends its estimate.
 */
export function routeOnlyBuckets(config: SloConfig): number[] {
  const b = sloBuckets(config)
  const only = new Set<number>()
  for (const list of b.byRoute.values()) for (const t of list) if (!b.all.includes(t)) only.add(t)
  return [...only].sort((a, b) => a - b)
}
