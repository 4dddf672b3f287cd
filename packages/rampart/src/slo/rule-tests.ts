import { stringify } from 'yaml'
import { routeBuckets } from './buckets.js'
import { jobsNoFailuresScenario, jobsTrafficSeries, sameJobsSli } from './jobs.js'
import { errorBudget, type LatencySlo, type Slo, type SloConfig } from './options.js'
import { probeScenarios } from './probe.js'
import { METRICS, selector, serviceLabels, sloIdentity, sloLabels } from './promql.js'
import { type RatioSlo, ratioInputSeries, ratioScenario } from './ratio.js'
import {
  GENERATED_HEADER,
  generateRules,
  groupNames,
  type Rule,
  type SloTier,
  sloTiers,
} from './rules.js'
import { durationSeconds } from './windows.js'

/**
 * `promtool test rules` cases for the rules `generateRules` emits: synthetic traffic with a
 * known burn rate, and the alerts that must (and must not) be firing at given minutes. The
 * expected alerts come from a direct model of the windows (bad / total requests counted over
 * the last W minutes), not from the rules themselves, so a wrong factor, window or bucket in
 * the rules makes promtool fail.
 */

const CLEAN_MINUTES = 360
const INCIDENT_MINUTES = 120

interface PromtoolAlert {
  exp_labels: Record<string, string>
  exp_annotations: Record<string, string>
}

interface PromtoolTest {
  name?: string
  interval: string
  input_series: Array<{ series: string; values: string }>
  alert_rule_test?: Array<{ eval_time: string; alertname: string; exp_alerts: PromtoolAlert[] }>
  promql_expr_test?: Array<{
    expr: string
    eval_time: string
    exp_samples: Array<{ labels: string; value: number }>
  }>
}

/** Cumulative counter values from per-minute increments, in promtool's `a+bxn` notation. */
export function seriesValues(increments: number[]): string {
  const parts = ['0']
  let value = 0
  let i = 0
  while (i < increments.length) {
    const inc = increments[i] as number
    let j = i
    while (j + 1 < increments.length && increments[j + 1] === inc) j++
    const first = value + inc
    parts.push(j === i ? String(first) : `${first}+${inc}x${j - i}`)
    value += inc * (j - i + 1)
    i = j + 1
  }
  return parts.join(' ')
}

/** Σ of increments over the minutes (t − w, t]: what a `[w]` range sees at minute t on Prometheus 2.x. */
function windowSum(increments: number[], t: number, w: number): number {
  let s = 0
  for (let m = Math.max(1, t - w + 1); m <= t; m++) s += increments[m - 1] ?? 0
  return s
}

/** Tiers that fire at minute t for the traffic, by the SRE-workbook definition. */
export function firingTiers(
  tiers: SloTier[],
  total: number[],
  bad: number[],
  t: number,
): SloTier[] {
  const ratio = (w: string) => {
    const minutes = durationSeconds(w) / 60
    const tot = windowSum(total, t, minutes)
    return tot === 0 ? Number.NaN : windowSum(bad, t, minutes) / tot
  }
  // A relative tolerance of 1e-9 treats a burn at exactly the tier's rate as firing, as `>=` does.
  const atLeast = (r: number, thr: number) => r >= thr * (1 - 1e-9)
  return tiers.filter(
    (x) => atLeast(ratio(x.long), x.threshold) && atLeast(ratio(x.short), x.threshold),
  )
}

/**
 * Requests per minute such that bad and total requests per minute are whole multiples of 60:
 * then every `rate()` over a window full of samples is an exact integer per second, the ratio
 * is the correctly rounded quotient, and a burn at exactly a tier's rate compares equal to its
 * threshold in promtool as it does on paper.
 */
function volumeFor(ratio: number): number {
  for (let v = 60_000; v <= 6e10; v *= 10) {
    const bad = (ratio * v) / 60
    if (Math.abs(bad - Math.round(bad)) < 1e-6) return v
  }
  throw new Error(`cannot express a bad ratio of ${ratio} in whole requests`)
}

function sampleLabels(config: SloConfig, slo: Slo): Record<string, string> {
  const l = sloLabels(config, slo)
  return { ...l, method: l.method ?? 'GET', route: l.route ?? '/', instance: 'app:3000' }
}

/** Input series for a traffic pattern: good/bad requests, or histogram buckets for latency. */
function trafficSeries(config: SloConfig, slo: Slo, total: number[], bad: number[]) {
  if (slo.kind === 'jobs') return jobsTrafficSeries(config, slo, total, bad, seriesValues)
  const labels = sampleLabels(config, slo)
  const good = total.map((t, i) => t - (bad[i] ?? 0))
  if (slo.kind === 'ratio') return ratioInputSeries(config, slo, good, bad, seriesValues)
  if (slo.kind === 'availability') {
    return [
      {
        series: `${METRICS.requests}${selector({ ...labels, status: '200' })}`,
        values: seriesValues(good),
      },
      {
        series: `${METRICS.requests}${selector({ ...labels, status: '500' })}`,
        values: seriesValues(bad),
      },
    ]
  }
  const ok = { ...labels, status: '200' }
  return [
    { series: `${METRICS.duration}_count${selector(ok)}`, values: seriesValues(total) },
    {
      series: `${METRICS.duration}_bucket${selector({ ...ok, le: String(slo.thresholdSeconds) })}`,
      values: seriesValues(good),
    },
    {
      series: `${METRICS.duration}_bucket${selector({ ...ok, le: '+Inf' })}`,
      values: seriesValues(total),
    },
  ]
}

/** SLOs of the same kind (and threshold) that select series carrying `labels`. */
function overlapping(config: SloConfig, slo: Slo, labels: Record<string, string>): Slo[] {
  if (slo.kind === 'jobs') return config.slos.filter((o) => sameJobsSli(slo, o))
  return config.slos.filter(
    (o) =>
      o.kind === slo.kind &&
      (o.kind === 'availability' ||
        (o.kind === 'latency' && o.thresholdSeconds === (slo as LatencySlo).thresholdSeconds) ||
        // Ratio SLOs see the traffic of the same counters only.
        (o.kind === 'ratio' &&
          o.good === (slo as RatioSlo).good &&
          o.total === (slo as RatioSlo).total)) &&
      Object.entries(sloLabels(config, o)).every(([k, v]) => labels[k] === v),
  )
}

function burnRule(rules: Rule[], slo: Slo, tier: SloTier): Rule {
  const rule = rules.find(
    (r) =>
      r.alert === 'SLOErrorBudgetBurn' &&
      r.labels?.rampart_slo === slo.name &&
      r.labels?.long_window === tier.long,
  )
  if (!rule) throw new Error(`no burn rule for ${slo.name} ${tier.long}`)
  return rule
}

function burnScenario(
  config: SloConfig,
  slo: Slo,
  rules: Rule[],
  burn: number,
  name: string,
  checkAt: number[],
): PromtoolTest {
  const badRatio = burn * errorBudget(slo)
  const volume = volumeFor(badRatio)
  const minutes = CLEAN_MINUTES + INCIDENT_MINUTES
  const total = Array.from({ length: minutes }, () => volume)
  const bad = total.map((_, i) => (i + 1 > CLEAN_MINUTES ? Math.round(badRatio * volume) : 0))
  return {
    name,
    interval: '1m',
    input_series: trafficSeries(config, slo, total, bad),
    alert_rule_test: checkAt.map((t) => ({
      eval_time: `${t}m`,
      alertname: 'SLOErrorBudgetBurn',
      // Every SLO of the same kind whose selector matches the synthetic series sees this traffic.
      exp_alerts: overlapping(config, slo, sampleLabels(config, slo)).flatMap((other) =>
        firingTiers(sloTiers(other).tiers, total, bad, t).map((tier) => {
          const rule = burnRule(rules, other, tier)
          return {
            exp_labels: { ...(rule.labels ?? {}) },
            exp_annotations: { ...(rule.annotations ?? {}) },
          }
        }),
      ),
    })),
  }
}

/** The latency SLI reads exactly the threshold's bucket: the buckets around it give other ratios. */
function bucketScenario(config: SloConfig, slo: LatencySlo): PromtoolTest {
  const labels = { ...sampleLabels(config, slo), status: '200' }
  // The boundaries the service gives this route (its defaults plus every SLO threshold on it).
  const bounds = routeBuckets(config, slo.route)
  const i = bounds.indexOf(slo.thresholdSeconds)
  const below = bounds[i - 1]
  const above = bounds[i + 1]
  const perMinute = (n: number) => seriesValues(Array.from({ length: 20 }, () => n))
  const bucket = (le: string, n: number) => ({
    series: `${METRICS.duration}_bucket${selector({ ...labels, le })}`,
    values: perMinute(n),
  })
  // 100 requests a minute: 20 under the bucket below, 50 within the threshold, 90 under the one above.
  const input_series = [
    { series: `${METRICS.duration}_count${selector(labels)}`, values: perMinute(100) },
    bucket(String(slo.thresholdSeconds), 50),
    bucket('+Inf', 100),
    ...(below !== undefined ? [bucket(String(below), 20)] : []),
    ...(above !== undefined ? [bucket(String(above), 90)] : []),
  ]
  return {
    name: `${slo.name}: the latency SLI counts the le="${slo.thresholdSeconds}" bucket (half the requests are slower)`,
    interval: '1m',
    input_series,
    promql_expr_test: ['5m', '1h'].map((w) => ({
      expr: `slo:sli_error:ratio_rate${w}${selector(sloIdentity(config, slo))}`,
      eval_time: '15m',
      exp_samples: [
        { labels: `slo:sli_error:ratio_rate${w}${selector(sloIdentity(config, slo))}`, value: 0.5 },
      ],
    })),
  }
}

/** No 5xx series at all: the availability SLI is 0, not "no data". */
function noErrorsScenario(config: SloConfig, slo: Slo): PromtoolTest {
  const labels = { ...sampleLabels(config, slo), status: '200' }
  const id = selector(sloIdentity(config, slo))
  return {
    name: `${slo.name}: without any 5xx series the error ratio is 0, not empty`,
    interval: '1m',
    input_series: [
      {
        series: `${METRICS.requests}${selector(labels)}`,
        values: seriesValues(Array.from({ length: 20 }, () => 60)),
      },
    ],
    promql_expr_test: [
      {
        expr: `slo:sli_error:ratio_rate5m${id}`,
        eval_time: '15m',
        exp_samples: [{ labels: `slo:sli_error:ratio_rate5m${id}`, value: 0 }],
      },
    ],
  }
}

function missingBucketScenario(config: SloConfig, slo: LatencySlo, rules: Rule[]): PromtoolTest {
  const labels = { ...sampleLabels(config, slo), status: '200' }
  // absent() returns the equality matchers of its selector as labels; an integer threshold is a
  // regex matcher (`le=~"1|1\\.0"`), so `le` is then left out.
  const expected = config.slos
    .filter((o): o is LatencySlo => o.kind === 'latency')
    .filter((o) =>
      Object.entries(sloLabels(config, o)).every(
        ([k, v]) => labels[k as keyof typeof labels] === v,
      ),
    )
    .map((o) => {
      const rule = rules.find(
        (r) => r.alert === 'SLOLatencyBucketMissing' && r.labels?.rampart_slo === o.name,
      )
      const absentLabels: Record<string, string> = { ...sloLabels(config, o) }
      if (!Number.isInteger(o.thresholdSeconds)) absentLabels.le = String(o.thresholdSeconds)
      return {
        exp_labels: { ...absentLabels, ...(rule?.labels ?? {}) },
        exp_annotations: { ...(rule?.annotations ?? {}) },
      }
    })
  return {
    name: `${slo.name}: requests but no le="${slo.thresholdSeconds}" bucket raises SLOLatencyBucketMissing`,
    interval: '1m',
    input_series: [
      {
        series: `${METRICS.duration}_count${selector(labels)}`,
        values: seriesValues(Array.from({ length: 20 }, () => 10)),
      },
      {
        series: `${METRICS.duration}_bucket${selector({ ...labels, le: '+Inf' })}`,
        values: seriesValues(Array.from({ length: 20 }, () => 10)),
      },
    ],
    alert_rule_test: [
      { eval_time: '5m', alertname: 'SLOLatencyBucketMissing', exp_alerts: [] },
      {
        eval_time: '15m',
        alertname: 'SLOLatencyBucketMissing',
        exp_alerts: expected,
      },
    ],
  }
}

function targetDownScenario(config: SloConfig, rules: Rule[]): PromtoolTest {
  const labels = { ...serviceLabels(config), instance: 'app:3000' }
  const rule = rules.find((r) => r.alert === 'ServiceTargetDown')
  return {
    name: 'ServiceTargetDown fires after the target is down for 2 minutes',
    interval: '1m',
    input_series: [{ series: `up${selector(labels)}`, values: '1 1 1 0 0 0 0 0 0 0' }],
    alert_rule_test: [
      { eval_time: '4m', alertname: 'ServiceTargetDown', exp_alerts: [] },
      {
        eval_time: '6m',
        alertname: 'ServiceTargetDown',
        exp_alerts: [
          {
            exp_labels: { ...labels, ...(rule?.labels ?? {}) },
            exp_annotations: { ...(rule?.annotations ?? {}) },
          },
        ],
      },
    ],
  }
}

/**
 * No reports for 70 minutes, then 5 a minute: the 5-minute count reaches 10 at minute 72
 * (pending), fires at 74; an hour of the same rate later it is no spike and resolves.
 */
function errorSpikeScenario(config: SloConfig, rules: Rule[]): PromtoolTest {
  const labels = { ...serviceLabels(config), instance: 'app:3000' }
  const rule = rules.find((r) => r.alert === 'ServiceErrorSpike')
  const increments = [...Array<number>(70).fill(0), ...Array<number>(80).fill(5)]
  const firing = {
    // sum() keeps no label of the series: only the rule's own.
    exp_labels: { ...(rule?.labels ?? {}) },
    exp_annotations: { ...(rule?.annotations ?? {}) },
  }
  return {
    name: 'ServiceErrorSpike fires 2 minutes into a jump of error reports and resolves once the rate is the usual one',
    interval: '1m',
    input_series: [
      { series: `${METRICS.errorReports}${selector(labels)}`, values: seriesValues(increments) },
    ],
    alert_rule_test: [
      { eval_time: '73m', alertname: 'ServiceErrorSpike', exp_alerts: [] },
      { eval_time: '75m', alertname: 'ServiceErrorSpike', exp_alerts: [firing] },
      { eval_time: '145m', alertname: 'ServiceErrorSpike', exp_alerts: [] },
    ],
  }
}

/** A `promtool test rules` file for the rules file named `rulesFile` (relative to the test file). */
export function generateRuleTests(config: SloConfig, rulesFile: string): { tests: PromtoolTest[] } {
  const rules = generateRules(config).groups.flatMap((g) => g.rules)
  const tests: PromtoolTest[] = []
  const S = CLEAN_MINUTES
  for (const slo of config.slos) {
    const { tiers } = sloTiers(slo)
    const fast = tiers[0]
    if (fast?.long === '1h') {
      tests.push(
        burnScenario(
          config,
          slo,
          rules,
          fast.factor,
          `${slo.name}: a ${fast.factor}x burn after ${S / 60}h of clean traffic pages exactly when the 1h window is full`,
          [S + 30, S + 59, S + 60, S + 90],
        ),
      )
    }
    tests.push(
      burnScenario(
        config,
        slo,
        rules,
        1,
        `${slo.name}: a 1x burn (spending the budget exactly over the period) never pages`,
        [S + 5, S + 60, S + 120],
      ),
    )
    if (slo.kind === 'latency') {
      tests.push(bucketScenario(config, slo), missingBucketScenario(config, slo, rules))
    } else if (slo.kind === 'ratio') {
      tests.push(ratioScenario(config, slo, sloIdentity(config, slo), seriesValues))
    } else if (slo.kind === 'jobs') {
      if (slo.waitSeconds === undefined)
        tests.push(jobsNoFailuresScenario(config, slo, seriesValues))
    } else {
      tests.push(noErrorsScenario(config, slo))
    }
  }
  tests.push(targetDownScenario(config, rules), ...probeScenarios(config, rules))
  tests.push(errorSpikeScenario(config, rules))
  void rulesFile
  return { tests }
}

/** The promtool test file, YAML. */
export function renderRuleTests(config: SloConfig, rulesFile: string): string {
  const doc = {
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    // Alert groups read series recorded by other groups: evaluate them in order (promtool picks a
    // random order otherwise, and the alert would see the previous minute's ratios).
    group_eval_order: groupNames(config),
    tests: generateRuleTests(config, rulesFile).tests,
  }
  return (
    GENERATED_HEADER('slo rules --tests') +
    stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })
  )
}
