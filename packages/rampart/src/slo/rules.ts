import { stringify } from 'yaml'
import { runbookAnchor } from './alerts.js'
import { jobsInfoLabels, jobsSloTitle, jobsSubject } from './jobs.js'
import { errorBudget, type Slo, type SloConfig } from './options.js'
import { probeRules } from './probe.js'
import {
  badRate,
  METRICS,
  selector,
  serviceLabels,
  sloIdentity,
  sloLabels,
  thresholdBucket,
  totalRate,
} from './promql.js'
import {
  BURN_TIERS,
  type BurnTier,
  burnFactor,
  durationSeconds,
  RATIO_WINDOWS,
  round,
} from './windows.js'

export interface Rule {
  record?: string
  alert?: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export interface RuleGroup {
  name: string
  interval?: string
  rules: Rule[]
}

/** A burn tier as it applies to one SLO. */
export interface SloTier extends BurnTier {
  readonly factor: number
  /** Error ratio at which the tier fires: `factor × budget`. */
  readonly threshold: number
}

export interface GeneratedRules {
  groups: RuleGroup[]
  /** Tiers left out because they could never fire, one line each (print them as warnings). */
  warnings: string[]
}

/** The alert tiers of an SLO; a tier whose threshold is 100 % or more could never fire. */
export function sloTiers(slo: Slo): { tiers: SloTier[]; dropped: SloTier[] } {
  const budget = errorBudget(slo)
  const period = durationSeconds(slo.window)
  const all = BURN_TIERS.map((t) => {
    const factor = burnFactor(t, period)
    return { ...t, factor, threshold: round(factor * budget) }
  })
  return { tiers: all.filter((t) => t.threshold < 1), dropped: all.filter((t) => t.threshold >= 1) }
}

function pct(ratio: number): string {
  return `${round(ratio * 100)} %`
}

/** `50h` → `2d 2h`: how long the whole budget lasts at a burn rate. */
function humanHours(hours: number): string {
  const d = Math.floor(hours / 24)
  const h = Math.round(hours - d * 24)
  return d > 0 ? (h > 0 ? `${d}d ${h}h` : `${d}d`) : `${h}h`
}

export function sloTitle(slo: Slo): string {
  if (slo.kind === 'ratio')
    return `${slo.objective} % of ${slo.total} events are ${slo.good} over ${slo.window}`
  if (slo.kind === 'jobs') return jobsSloTitle(slo)
  const what = slo.kind === 'availability' ? 'non-5xx' : `within ${slo.thresholdSeconds * 1000} ms`
  return `${slo.objective} % of ${slo.route ?? 'all'} requests ${what} over ${slo.window}`
}

/** What an SLO counts, for alert texts: `POST /login requests`, `x_total events`. */
export function sloEvents(slo: Slo): string {
  if (slo.kind === 'ratio') return `${slo.total} events`
  if (slo.kind === 'jobs') return jobsSubject(slo)
  return `${slo.route ?? 'all'} requests`
}

/** Group names, in the order promtool must evaluate them (`group_eval_order`). */
export function groupNames(config: SloConfig): string[] {
  return [
    ...config.slos.flatMap((s) => [
      `rampart-slo-sli-${config.service}-${s.name}`,
      `rampart-slo-meta-${config.service}-${s.name}`,
      `rampart-slo-alerts-${config.service}-${s.name}`,
    ]),
    `rampart-service-${config.service}`,
    `rampart-probe-${config.service}`,
  ]
}

function sloGroups(config: SloConfig, slo: Slo, warnings: string[]): RuleGroup[] {
  const id = sloIdentity(config, slo)
  const idSel = selector(id)
  const budget = errorBudget(slo)
  const [sliName, metaName, alertName] = groupNames(config).slice(
    config.slos.indexOf(slo) * 3,
    config.slos.indexOf(slo) * 3 + 3,
  ) as [string, string, string]

  const sli: RuleGroup = {
    name: sliName,
    rules: [
      // Numerator and denominator at 5m: the period ratio sums these, weighting by traffic
      // (Sloth's default averages ratios instead, which is biased on uneven traffic).
      { record: 'slo:sli_error_events:rate5m', expr: badRate(config, slo, '5m'), labels: id },
      { record: 'slo:sli_total_events:rate5m', expr: totalRate(config, slo, '5m'), labels: id },
      ...RATIO_WINDOWS.map((w) => ({
        record: `slo:sli_error:ratio_rate${w}`,
        expr: `${badRate(config, slo, w)} / ${totalRate(config, slo, w)}`,
        labels: id,
      })),
    ],
  }

  const period = slo.window
  const meta: RuleGroup = {
    name: metaName,
    interval: '1m',
    rules: [
      {
        record: `slo:sli_error:ratio_rate${period}`,
        expr: `sum_over_time(slo:sli_error_events:rate5m${idSel}[${period}]) / sum_over_time(slo:sli_total_events:rate5m${idSel}[${period}])`,
        labels: id,
      },
      { record: 'slo:objective:ratio', expr: `vector(${round(slo.objective / 100)})`, labels: id },
      { record: 'slo:error_budget:ratio', expr: `vector(${budget})`, labels: id },
      {
        record: 'slo:time_period:days',
        expr: `vector(${durationSeconds(period) / 86_400})`,
        labels: id,
      },
      {
        record: 'slo:current_burn_rate:ratio',
        expr: `slo:sli_error:ratio_rate5m${idSel} / ${budget}`,
        labels: id,
      },
      {
        record: 'slo:period_burn_rate:ratio',
        expr: `slo:sli_error:ratio_rate${period}${idSel} / ${budget}`,
        labels: id,
      },
      {
        record: 'slo:period_error_budget_remaining:ratio',
        expr: `1 - slo:period_burn_rate:ratio${idSel}`,
        labels: id,
      },
      {
        record: 'rampart_slo_info',
        expr: 'vector(1)',
        labels: {
          ...id,
          rampart_kind: slo.kind,
          rampart_route: slo.route ?? 'all',
          ...(slo.kind === 'ratio' ? { rampart_good: slo.good, rampart_total: slo.total } : {}),
          rampart_objective: String(slo.objective),
          rampart_window: period,
          ...(slo.kind === 'latency'
            ? { rampart_threshold_seconds: String(slo.thresholdSeconds) }
            : {}),
          ...(slo.kind === 'jobs' ? jobsInfoLabels(slo) : {}),
        },
      },
    ],
  }

  const { tiers, dropped } = sloTiers(slo)
  for (const t of dropped)
    warnings.push(
      `SLO "${slo.name}": the ${t.factor}x ${t.severity} tier (${t.long}/${t.short}) is left out: it would need ${pct(t.threshold)} of ${sloEvents(slo)} to fail`,
    )
  const periodHours = durationSeconds(period) / 3600
  const alerts: RuleGroup = {
    name: alertName,
    rules: tiers.map((t) => ({
      alert: 'SLOErrorBudgetBurn',
      // `>=`: a burn at exactly the tier's rate spends exactly its share of the budget and alerts.
      expr: `slo:sli_error:ratio_rate${t.long}${idSel} >= ${t.threshold} and slo:sli_error:ratio_rate${t.short}${idSel} >= ${t.threshold}`,
      labels: {
        severity: t.severity,
        ...id,
        burn_rate: String(t.factor),
        long_window: t.long,
        short_window: t.short,
      },
      // Static text: `$labels` in annotations does not see the rule's own labels, and promtool
      // tests must match annotations exactly, so every number is written in here.
      annotations: {
        summary: `${config.service}: SLO "${slo.name}" is burning its error budget ${t.factor}x too fast (${t.severity})`,
        description: `More than ${pct(t.threshold)} of ${sloEvents(slo)} were bad over both the last ${t.long} and ${t.short} (SLO: ${sloTitle(slo)}). At this rate the whole ${period} error budget is gone in ${humanHours(periodHours / t.factor)}.`,
        runbook_url: `${config.runbookUrl}#${runbookAnchor('SLOErrorBudgetBurn')}`,
      },
    })),
  }
  if (slo.kind === 'latency') {
    const count = `${METRICS.duration}_count${selector(sloLabels(config, slo))}`
    alerts.rules.push({
      alert: 'SLOLatencyBucketMissing',
      expr: `absent(${thresholdBucket(config, slo)}) and on() count(${count}) > 0`,
      for: '10m',
      labels: { severity: 'ticket', ...id },
      annotations: {
        summary: `${config.service}: SLO "${slo.name}" has no histogram bucket at ${slo.thresholdSeconds} s`,
        description: `${slo.route ?? 'The service'} is serving requests but http_request_duration_seconds has no le="${slo.thresholdSeconds}" bucket, so this latency SLO measures nothing and cannot alert.`,
        runbook_url: `${config.runbookUrl}#${runbookAnchor('SLOLatencyBucketMissing')}`,
      },
    })
  }
  return [sli, meta, alerts]
}

/** `ServiceErrorSpike`: at least `min` reports in 5 minutes, at `factor` times the hour before's rate. */
export const ERROR_SPIKE = { min: 10, factor: 5 } as const

function serviceGroup(config: SloConfig): RuleGroup {
  const sel = selector(serviceLabels(config))
  const svc = config.service
  const link = (a: string) => `${config.runbookUrl}#${runbookAnchor(a)}`
  const { inFlight, eventLoopLagSeconds } = config.saturation
  const reports5m = `sum(increase(${METRICS.errorReports}${sel}[5m]))`
  return {
    name: groupNames(config).at(-2) as string,
    rules: [
      {
        alert: 'ServiceTargetDown',
        expr: `up${sel} == 0 or absent(up${sel})`,
        for: '2m',
        labels: { severity: 'page', rampart_service: svc },
        annotations: {
          summary: `${svc}: Prometheus cannot scrape the service`,
          description: `The ${svc} target has been down (or missing from Prometheus) for 2 minutes.`,
          runbook_url: link('ServiceTargetDown'),
        },
      },
      {
        alert: 'ServiceInFlightRequestsHigh',
        expr: `${METRICS.inFlight}${sel} > ${inFlight}`,
        for: '10m',
        labels: { severity: 'ticket', rampart_service: svc },
        annotations: {
          summary: `${svc}: more than ${inFlight} requests in flight on one instance`,
          description: `An instance of ${svc} has had more than ${inFlight} requests in flight for 10 minutes: it is saturated.`,
          runbook_url: link('ServiceInFlightRequestsHigh'),
        },
      },
      {
        alert: 'ServiceEventLoopLagHigh',
        expr: `avg_over_time(${METRICS.eventLoopLag}${sel}[5m]) > ${eventLoopLagSeconds}`,
        for: '10m',
        labels: { severity: 'ticket', rampart_service: svc },
        annotations: {
          summary: `${svc}: event-loop lag above ${eventLoopLagSeconds * 1000} ms`,
          description: `The Node.js event loop of an instance of ${svc} has lagged more than ${eventLoopLagSeconds * 1000} ms on average for 10 minutes: synchronous work is blocking requests.`,
          runbook_url: link('ServiceEventLoopLagHigh'),
        },
      },
      {
        alert: 'ServiceErrorSpike',
        // At least 10 reports in 5 minutes, at 5 times the rate of the hour before: a jump,
        // not a steady trickle (the availability SLO judges that).
        expr: `${reports5m} >= ${ERROR_SPIKE.min} and ${reports5m} > ${ERROR_SPIKE.factor} * sum(increase(${METRICS.errorReports}${sel}[1h] offset 5m)) / 12`,
        for: '2m',
        labels: { severity: 'ticket', rampart_service: svc },
        annotations: {
          summary: `${svc}: error reports jumped`,
          description: `${svc} has sent at least ${ERROR_SPIKE.min} error reports in 5 minutes, ${ERROR_SPIKE.factor} times the rate of the hour before (5xx answers, crashes, failed jobs; see Sentry).`,
          runbook_url: link('ServiceErrorSpike'),
        },
      },
    ],
  }
}

/** Recording rules, burn-rate alerts and service alerts for every SLO of the config. */
export function generateRules(config: SloConfig): GeneratedRules {
  const warnings: string[] = []
  const groups = [
    ...config.slos.flatMap((s) => sloGroups(config, s, warnings)),
    serviceGroup(config),
    { name: groupNames(config).at(-1) as string, rules: probeRules(config) },
  ]
  return { groups, warnings }
}

export const GENERATED_HEADER = (what: string) =>
  `# Generated by \`rampart ${what}\` from rampart.config.ts. Do not edit; regenerate.\n`

/** The rules as a Prometheus rules file. */
export function renderRules(config: SloConfig): string {
  const { groups } = generateRules(config)
  return (
    GENERATED_HEADER('slo rules') +
    stringify({ groups }, { lineWidth: 0, aliasDuplicateObjects: false })
  )
}
