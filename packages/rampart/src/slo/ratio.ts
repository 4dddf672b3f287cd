import { z } from 'zod'
import type { Slo, SloConfig } from './options.js'
import { quote, selector, serviceLabels } from './promql.js'

/**
 * Ratio SLOs: the share of events counted by one counter selector (`good`) among those of
 * another (`total`), e.g. successful logins among all login attempts. Any counters the
 * service registers, checked against its registry at start-up.
 */

/** One label matcher of a counter selector. Only equality and inequality: see `parseCounter`. */
export interface Matcher {
  readonly label: string
  readonly op: '=' | '!='
  readonly value: string
}

/** `airlock_login_attempts_total{ok="true"}`, parsed. */
export interface CounterSelector {
  readonly metric: string
  readonly matchers: readonly Matcher[]
}

// eslint-disable-next-line security/detect-unsafe-regex -- selectors of the operator's config file, never request input
const METRIC = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?$/s
const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/

/**
 * Parses `metric{label="value",other!="x"}`; a message saying what is wrong otherwise.
 * Regex matchers are refused: the generated promtool tests must invent series that do and do
 * not match each selector, which is exact for `=` and `!=` and guesswork for a regex.
 */
export function parseCounter(text: string): CounterSelector | string {
  const m = METRIC.exec(text.trim())
  if (!m?.[1]) return 'expected a counter selector such as metric_total{label="value"}'
  const body = m[2]?.trim() ?? ''
  const matchers: Matcher[] = []
  // Split on commas outside quotes.
  // eslint-disable-next-line security/detect-unsafe-regex -- the operator's config file, never request input
  const parts = body === '' ? [] : (body.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? [])
  for (const part of parts) {
    const mm = MATCHER.exec(part)
    if (!mm?.[1] || !mm[2]) return `"${part.trim()}" is not a label matcher such as label="value"`
    if (mm[2] === '=~' || mm[2] === '!~')
      return `"${part.trim()}": only label="value" and label!="value" matchers, no regular expressions`
    const value = (mm[3] ?? '').replace(/\\(.)/g, '$1')
    matchers.push({ label: mm[1], op: mm[2] as Matcher['op'], value })
  }
  if (new Set(matchers.map((x) => `${x.label}${x.op}`)).size !== matchers.length)
    return 'a label is matched twice'
  return { metric: m[1], matchers }
}

const counterSelector = z.string().superRefine((s, ctx) => {
  const parsed = parseCounter(s)
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed })
})

const same = (a: Matcher, b: Matcher) => a.label === b.label && a.op === b.op && a.value === b.value

/** The ratio-specific fields of an SLO (the common ones are added by `options.ts`). */
export const ratioFields = {
  /** Good events over the total: `{ kind: 'ratio', good: 'x_total{ok="true"}', total: 'x_total' }`. */
  kind: z.literal('ratio'),
  /** Counter selector of the good events. */
  good: counterSelector,
  /** Counter selector of every event the SLO counts; `good` selects a part of it. */
  total: counterSelector,
  /** A ratio SLO counts events of its counters, not requests of a route. */
  route: z
    .undefined({ error: 'a ratio SLO has no route: its counters say what it counts' })
    .optional(),
}

/**
 * When `good` and `total` name one metric, `good` must keep every matcher of `total` and add
 * one: otherwise it counts series outside the total (a ratio above 1) or all of it (always 1).
 */
export function ratioProblem(good: string, total: string): string | undefined {
  const g = parseCounter(good)
  const t = parseCounter(total)
  if (typeof g === 'string' || typeof t === 'string' || g.metric !== t.metric) return undefined
  if (!t.matchers.every((x) => g.matchers.some((y) => same(x, y))))
    return `good must keep every matcher of total (${total}), or it counts events outside the total`
  if (g.matchers.length === t.matchers.length)
    return 'good selects the same series as total: the ratio would always be 100 %'
  return undefined
}

export type RatioSlo = Extract<Slo, { kind: 'ratio' }>

/** A selector the config schema already accepted, parsed. */
export function parsed(text: string): CounterSelector {
  const p = parseCounter(text)
  if (typeof p === 'string') throw new Error(`${text}: ${p}`)
  return p
}

/** A counter selector in PromQL with the service's matchers added. */
export function counterSeries(config: SloConfig, text: string): string {
  const { metric, matchers } = parsed(text)
  return `${metric}${selector(
    serviceLabels(config),
    matchers.map((x) => `${x.label}${x.op}${quote(x.value)}`),
  )}`
}

/** Rate of all events of a ratio SLO. */
export function ratioTotalRate(config: SloConfig, slo: RatioSlo, window: string): string {
  return `sum(rate(${counterSeries(config, slo.total)}[${window}]))`
}

/**
 * Rate of bad events: total minus good. A good counter without any series yet reads as 0
 * (`or 0 * total`), so a service whose every event failed still has an error ratio of 1.
 */
export function ratioBadRate(config: SloConfig, slo: RatioSlo, window: string): string {
  const total = ratioTotalRate(config, slo, window)
  const good = `sum(rate(${counterSeries(config, slo.good)}[${window}]))`
  return `(${total} - (${good} or 0 * ${total}))`
}

/** Labels of one input series satisfying every matcher (`!=` gets a value that differs). */
function satisfying(sel: CounterSelector): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const x of sel.matchers) if (x.op === '=') labels[x.label] = x.value
  for (const x of sel.matchers)
    if (x.op === '!=' && labels[x.label] === undefined) labels[x.label] = `not_${x.value}`
  return labels
}

/**
 * promtool input series with `good` and `bad` events per minute (cumulative values computed
 * by `values`). One metric: a good series and a bad one that fails a matcher `total` lacks.
 * Two metrics: the good counter, and the total counter counting both.
 */
export function ratioInputSeries(
  config: SloConfig,
  slo: RatioSlo,
  good: number[],
  bad: number[],
  values: (increments: number[]) => string,
): Array<{ series: string; values: string }> {
  const g = parsed(slo.good)
  const t = parsed(slo.total)
  const base = { ...serviceLabels(config), instance: 'app:3000' }
  const goodLabels = { ...base, ...satisfying(g) }
  if (g.metric !== t.metric) {
    return [
      { series: `${g.metric}${selector(goodLabels)}`, values: values(good) },
      {
        series: `${t.metric}${selector({ ...base, ...satisfying(t) })}`,
        values: values(good.map((n, i) => n + (bad[i] ?? 0))),
      },
    ]
  }
  const flip = g.matchers.find((x) => !t.matchers.some((y) => same(x, y))) as Matcher
  const badLabels = {
    ...goodLabels,
    [flip.label]: flip.op === '=' ? `not_${flip.value}` : flip.value,
  }
  return [
    { series: `${g.metric}${selector(goodLabels)}`, values: values(good) },
    { series: `${g.metric}${selector(badLabels)}`, values: values(bad) },
  ]
}

/**
 * A promtool case for the ratio SLI: 45 good and 15 bad events a minute must record an error
 * ratio of exactly 0.25 (1 − 0.75 and 0.25 / 1 are exact in binary floating point).
 */
export function ratioScenario(
  config: SloConfig,
  slo: RatioSlo,
  id: Record<string, string>,
  values: (increments: number[]) => string,
) {
  const minutes = (n: number) => Array.from({ length: 20 }, () => n)
  const series = (w: string) => `slo:sli_error:ratio_rate${w}${selector(id)}`
  return {
    name: `${slo.name}: 45 good and 15 bad events a minute are an error ratio of 0.25`,
    interval: '1m',
    input_series: ratioInputSeries(config, slo, minutes(45), minutes(15), values),
    promql_expr_test: ['5m', '1h'].map((w) => ({
      expr: series(w),
      eval_time: '15m',
      exp_samples: [{ labels: series(w), value: 0.25 }],
    })),
  }
}
