import { jobsBadRate, jobsTotalRate } from './jobs.js'
import { type LatencySlo, parseRoute, type Slo, type SloConfig } from './options.js'
import { ratioBadRate, ratioTotalRate } from './ratio.js'

/** Metric names of docs/metrics.md the SLIs read. */
export const METRICS = {
  requests: 'http_requests_total',
  duration: 'http_request_duration_seconds',
  inFlight: 'http_requests_in_flight',
  eventLoopLag: 'nodejs_eventloop_lag_seconds',
  rateLimitBlocks: 'rampart_ratelimit_blocks_total',
  csrfBlocks: 'rampart_csrf_blocks_total',
  securityEvents: 'rampart_security_events_total',
  errorReports: 'rampart_error_reports_total',
} as const

/** A PromQL string literal. */
export function quote(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`
}

/** `{a="x",b=~"y"}` from equality matchers plus optional raw matchers. */
export function selector(labels: Record<string, string>, raw: string[] = []): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${quote(v)}`)
  return `{${[...parts, ...raw].join(',')}}`
}

/** The label matchers every query of this service carries (default `{job="<service>"}`). */
export function serviceLabels(config: SloConfig): Record<string, string> {
  return config.selector ?? { job: config.service }
}

/** Service labels plus the SLO's method and route. */
export function sloLabels(config: SloConfig, slo: Slo): Record<string, string> {
  const labels = { ...serviceLabels(config) }
  if (slo.route !== undefined) {
    const r = parseRoute(slo.route)
    if (r.method) labels.method = r.method
    labels.route = r.path
  }
  return labels
}

/**
 * The `le` matcher for a threshold, spelled as prom-client exposes it (`0.5`, `1`). Integer
 * thresholds also match Prometheus 3's normalised float spelling (`1.0`).
 */
export function leMatcher(thresholdSeconds: number): string {
  return Number.isInteger(thresholdSeconds)
    ? `le=~"${leRegex(thresholdSeconds)}"`
    : `le="${thresholdSeconds}"`
}

/** A regex (inside a PromQL string) matching the spellings of one `le` value. */
function leRegex(seconds: number): string {
  const s = String(seconds).replace('.', '\\\\.')
  return Number.isInteger(seconds) ? `${s}|${s}\\\\.0` : s
}

/** A matcher leaving out the buckets at these boundaries (none: no matcher). */
export function leNotIn(seconds: readonly number[]): string[] {
  return seconds.length === 0 ? [] : [`le!~"${seconds.map(leRegex).join('|')}"`]
}

/** Identity labels of an SLO's recorded series. */
export function sloIdentity(config: SloConfig, slo: Slo): Record<string, string> {
  return { rampart_service: config.service, rampart_slo: slo.name }
}

/** Rate of all requests the SLO counts over `window`. */
export function totalRate(config: SloConfig, slo: Slo, window: string): string {
  if (slo.kind === 'ratio') return ratioTotalRate(config, slo, window)
  if (slo.kind === 'jobs') return jobsTotalRate(config, slo, window)
  const sel = selector(sloLabels(config, slo))
  return slo.kind === 'availability'
    ? `sum(rate(${METRICS.requests}${sel}[${window}]))`
    : `sum(rate(${METRICS.duration}_count${sel}[${window}]))`
}

/**
 * Rate of bad requests over `window`, never empty while there is traffic: a service that has
 * never answered a 5xx has no 5xx series, so `or 0 * total` turns "no data" into 0.
 */
export function badRate(config: SloConfig, slo: Slo, window: string): string {
  if (slo.kind === 'ratio') return ratioBadRate(config, slo, window)
  if (slo.kind === 'jobs') return jobsBadRate(config, slo, window)
  const labels = sloLabels(config, slo)
  if (slo.kind === 'availability') {
    const bad = `sum(rate(${METRICS.requests}${selector(labels, ['status=~"5.."'])}[${window}]))`
    return `(${bad} or 0 * ${totalRate(config, slo, window)})`
  }
  const good = `sum(rate(${METRICS.duration}_bucket${selector(labels, [leMatcher((slo as LatencySlo).thresholdSeconds)])}[${window}]))`
  return `(${totalRate(config, slo, window)} - ${good})`
}

/** The latency SLO's threshold bucket, for the missing-bucket guard. */
export function thresholdBucket(config: SloConfig, slo: LatencySlo): string {
  return `${METRICS.duration}_bucket${selector(sloLabels(config, slo), [leMatcher(slo.thresholdSeconds)])}`
}
