import type { Rampart } from '../core/rampart.js'
import type { Readiness } from '../health/health.js'
import type { Slo, SloConfig } from '../slo/options.js'
import { parseRoute } from '../slo/options.js'
import type { ConsoleHistory } from './history.js'
import { type QueueSummary, queueSummaries } from './queues.js'
import { type Labels, samples } from './samples.js'

/** One route's traffic since the process started. */
export interface RouteSummary {
  method: string
  route: string
  requests: number
  /** Responses with a 5xx status. */
  errors: number
  /** Upper bound of the duration bucket that holds the 95th percentile, ms; null above the largest bucket. */
  p95_ms_at_most: number | null
}

/** What the ops console shows: the state of this one process, from its own registry. */
export interface ConsoleSnapshot {
  service: string
  environment: string
  node: string
  pid: number
  started_at: string
  uptime_seconds: number
  tracing: boolean
  readiness: Readiness
  requests: { total: number; errors: number; in_flight: number; routes: RouteSummary[] }
  /** The last 15 minutes at 10 s resolution: what the console's charts draw. */
  history: ConsoleHistory
  security_events: Array<{ kind: string; count: number }>
  rate_limit_blocks: Array<{ policy: string; scope: string; count: number }>
  /** Background-job queues (`rampart/bullmq`): depth now, runs since start. */
  queues: QueueSummary[]
  slos: Array<{
    name: string
    kind: 'availability' | 'latency'
    objective_percent: number
    route: string | null
    /** Since this process started (the SLO's window is for Prometheus to judge). */
    requests: number
    bad: number
    compliance_percent: number | null
    /** Unrounded comparison with the objective; null without traffic. */
    meets_objective: boolean | null
  }>
}

const byCount = <T extends { count: number }>(a: T, b: T) => b.count - a.count

/** The routes shown: the busiest first, at most this many. */
const MAX_ROUTES = 50
const startedAt = new Date(Date.now() - process.uptime() * 1000)

/**
 * Reads this process's registry and readiness into the console's snapshot. Everything is
 * counted since the process started, except `history` (the last 15 minutes, kept by the
 * console); Prometheus and the generated dashboards own longer history and the fleet.
 */
export async function consoleSnapshot(
  core: Rampart,
  slo: SloConfig | undefined,
  history: ConsoleHistory,
): Promise<ConsoleSnapshot> {
  const { registry } = core.metrics
  const [requests, durations, inFlight, events, blocks, readiness, queues] = await Promise.all([
    samples(registry, 'http_requests_total'),
    samples(registry, 'http_request_duration_seconds'),
    samples(registry, 'http_requests_in_flight'),
    samples(registry, 'rampart_security_events_total'),
    samples(registry, 'rampart_ratelimit_blocks_total'),
    core.health.readiness(),
    queueSummaries((name) => samples(registry, name)),
  ])

  const routes = new Map<string, RouteSummary & { buckets: Map<number, number> }>()
  const routeOf = (l: Labels) => {
    const key = `${l.method} ${l.route}`
    let r = routes.get(key)
    if (!r) {
      r = {
        method: l.method ?? '',
        route: l.route ?? '',
        requests: 0,
        errors: 0,
        p95_ms_at_most: null,
        buckets: new Map(),
      }
      routes.set(key, r)
    }
    return r
  }
  for (const s of requests) {
    if (s.value === 0) continue
    const r = routeOf(s.labels)
    r.requests += s.value
    if (Number(s.labels.status) >= 500) r.errors += s.value
  }
  for (const s of durations) {
    if (s.labels.__name__?.endsWith('_bucket') !== true || s.value === 0) continue
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le)
    const r = routeOf(s.labels)
    r.buckets.set(le, (r.buckets.get(le) ?? 0) + s.value)
  }
  const list = [...routes.values()].filter((r) => r.requests > 0)
  for (const r of list) r.p95_ms_at_most = quantileBound(r.buckets, r.requests, 0.95)

  return {
    service: core.config.service,
    environment: core.config.nodeEnv,
    node: process.version,
    pid: process.pid,
    started_at: startedAt.toISOString(),
    uptime_seconds: Math.round(process.uptime()),
    tracing: core.config.tracing.enabled,
    readiness,
    requests: {
      total: list.reduce((n, r) => n + r.requests, 0),
      errors: list.reduce((n, r) => n + r.errors, 0),
      in_flight: inFlight[0]?.value ?? 0,
      routes: list
        .sort((a, b) => b.requests - a.requests)
        .slice(0, MAX_ROUTES)
        .map(({ buckets: _, ...r }) => r),
    },
    history,
    security_events: events
      .filter((s) => s.value > 0)
      .map((s) => ({ kind: s.labels.kind ?? '', count: s.value }))
      .sort(byCount),
    rate_limit_blocks: blocks
      .filter((s) => s.value > 0)
      .map((s) => ({ policy: s.labels.policy ?? '', scope: s.labels.scope ?? '', count: s.value }))
      .sort(byCount),
    queues,
    // Request SLOs only: ratio SLOs count their own counters and jobs SLOs are judged by
    // Prometheus (the queues section shows their raw counts).
    slos: (slo?.slos ?? []).filter(isHttpSlo).map((s) => {
      const match = s.route === undefined ? undefined : parseRoute(s.route)
      const mine = (l: Labels) =>
        match === undefined ||
        (l.route === match.path && (match.method === undefined || l.method === match.method))
      const total = requests.filter((x) => mine(x.labels)).reduce((n, x) => n + x.value, 0)
      let bad = 0
      if (s.kind === 'availability') {
        bad = requests
          .filter((x) => mine(x.labels) && Number(x.labels.status) >= 500)
          .reduce((n, x) => n + x.value, 0)
      } else {
        const fast = durations
          .filter(
            (x) =>
              mine(x.labels) &&
              x.labels.__name__?.endsWith('_bucket') === true &&
              Number(x.labels.le) === s.thresholdSeconds,
          )
          .reduce((n, x) => n + x.value, 0)
        bad = total - fast
      }
      return {
        name: s.name,
        kind: s.kind,
        objective_percent: s.objective,
        route: s.route ?? null,
        requests: total,
        bad,
        compliance_percent: total === 0 ? null : round2(((total - bad) / total) * 100),
        meets_objective: total === 0 ? null : ((total - bad) / total) * 100 >= s.objective,
      }
    }),
  }
}

/** The upper bound (ms) of the cumulative bucket that reaches quantile `q` of `total`. */
function quantileBound(buckets: Map<number, number>, total: number, q: number): number | null {
  for (const [le, count] of [...buckets].sort((a, b) => a[0] - b[0]))
    if (count >= q * total) return Number.isFinite(le) ? round2(le * 1000) : null
  return null
}

const round2 = (x: number) => Math.round(x * 100) / 100

/** The SLOs about requests (not background jobs). */
function isHttpSlo(s: Slo): s is Exclude<Slo, { kind: 'jobs' | 'ratio' }> {
  return s.kind !== 'jobs' && s.kind !== 'ratio'
}
