import { routeOnlyBuckets } from './buckets.js'
import { jobsPanels } from './dashboard-jobs.js'
import { authRow, burnRow, businessRow } from './dashboard-rows.js'
import { errorBudget, type Slo, type SloConfig } from './options.js'
import { leNotIn, METRICS, selector, serviceLabels, sloIdentity, sloLabels } from './promql.js'
import { sloEvents, sloTiers, sloTitle } from './rules.js'

// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, not a JS template
const DS = { type: 'prometheus' as const, uid: '${datasource}' as const }

interface Target {
  expr: string
  legend: string
  instant?: boolean
  /** Ask Prometheus for exemplars too: a click on one opens its trace (Tempo). */
  exemplar?: boolean
}

/** A panel to lay out; `row` starts a new (expanded) row titled `title`. */
export interface PanelSpec {
  title: string
  description: string
  type: 'timeseries' | 'stat' | 'bargauge' | 'row'
  w: number
  h?: number
  unit: string
  targets: Target[]
  /** Values drawn as lines (time series) or colour steps (stat), ascending. */
  steps?: Array<{ value: number; color: string }>
  baseColor?: string
}

/** A row header: panels after it, up to the next row, belong to it. */
export function row(title: string): PanelSpec {
  return { title, description: '', type: 'row', w: 24, h: 1, unit: '', targets: [] }
}

function panel(spec: PanelSpec, id: number, x: number, y: number) {
  if (spec.type === 'row')
    return {
      id,
      type: spec.type,
      title: spec.title,
      gridPos: { x: 0, y, w: 24, h: 1 },
      collapsed: false,
      panels: [] as unknown[],
    }
  const steps = [
    { color: spec.baseColor ?? 'green', value: null },
    ...(spec.steps ?? []).map((s) => ({ color: s.color, value: s.value })),
  ]
  return {
    id,
    type: spec.type,
    title: spec.title,
    description: spec.description,
    gridPos: { x, y, w: spec.w, h: spec.h ?? 8 },
    datasource: DS,
    targets: spec.targets.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      expr: t.expr,
      legendFormat: t.legend,
      ...(t.instant ? { instant: true } : {}),
      ...(t.exemplar ? { exemplar: true } : {}),
      datasource: DS,
    })),
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        thresholds: { mode: 'absolute', steps },
        ...(spec.type === 'timeseries' && spec.steps
          ? { custom: { thresholdsStyle: { mode: 'line+area' } } }
          : {}),
      },
      overrides: [],
    },
    options:
      spec.type === 'bargauge'
        ? {
            reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
            orientation: 'horizontal',
            displayMode: 'basic',
          }
        : spec.type === 'stat'
          ? {
              reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
              colorMode: 'background',
            }
          : {
              legend: { displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] },
              tooltip: { mode: 'multi', sort: 'desc' },
            },
  }
}

function sloPanels(config: SloConfig, slo: Slo): PanelSpec[] {
  const id = selector(sloIdentity(config, slo))
  const budget = errorBudget(slo)
  const tiers = sloTiers(slo).tiers
  const panels: PanelSpec[] = [
    {
      title: `${slo.name}: compliance (${slo.window})`,
      description: `Share of good ${sloEvents(slo)} over the SLO window. Objective: ${sloTitle(slo)}.`,
      type: 'stat',
      w: 4,
      unit: 'percentunit',
      targets: [
        {
          expr: `1 - slo:sli_error:ratio_rate${slo.window}${id}`,
          legend: 'compliance',
          instant: true,
        },
      ],
      baseColor: 'red',
      steps: [{ value: slo.objective / 100, color: 'green' }],
    },
    {
      title: `${slo.name}: error budget remaining`,
      description: `Share of the ${slo.window} error budget (${budget * 100} % of ${sloEvents(slo)}) not yet spent; below 0 the SLO is missed.`,
      type: 'stat',
      w: 4,
      unit: 'percentunit',
      targets: [
        {
          expr: `slo:period_error_budget_remaining:ratio${id}`,
          legend: 'remaining',
          instant: true,
        },
      ],
      baseColor: 'red',
      steps: [
        { value: 0, color: 'orange' },
        { value: 0.25, color: 'green' },
      ],
    },
    {
      title: `${slo.name}: burn rate`,
      description: `Error ratio divided by the budget (${budget}) over each alert window; the lines are the alert tiers (${tiers.map((t) => `${t.factor}x`).join(', ')}). 1x spends the budget exactly over ${slo.window}.`,
      type: 'timeseries',
      w: slo.kind === 'latency' ? 8 : 16,
      unit: 'none',
      targets: ['5m', '1h', '6h', '3d'].map((w) => ({
        expr: `slo:sli_error:ratio_rate${w}${id} / ${budget}`,
        legend: w,
      })),
      steps: [...tiers]
        .reverse()
        .map((t) => ({ value: t.factor, color: t.severity === 'page' ? 'red' : 'orange' })),
    },
  ]
  if (slo.kind === 'latency') {
    // Over several routes, leave out the boundaries only some routes have (see buckets.ts).
    const only = slo.route === undefined ? routeOnlyBuckets(config) : []
    const sel = selector(sloLabels(config, slo), leNotIn(only))
    const q = slo.objective / 100
    panels.push({
      title: `${slo.name}: p${slo.objective} latency of ${slo.route ?? 'all requests'}`,
      description: `The ${slo.objective}th percentile the SLO promises to keep under ${slo.thresholdSeconds} s (the red line).`,
      type: 'timeseries',
      w: 8,
      unit: 's',
      targets: [
        {
          expr: `histogram_quantile(${q}, sum by (le) (rate(${METRICS.duration}_bucket${sel}[5m])))`,
          legend: `p${slo.objective}`,
          exemplar: true,
        },
      ],
      steps: [{ value: slo.thresholdSeconds, color: 'red' }],
    })
  }
  return panels
}

function servicePanels(config: SloConfig): PanelSpec[] {
  const sel = selector(serviceLabels(config))
  const bad = selector(serviceLabels(config), ['status=~"5.."'])
  const thresholds = [
    ...new Set(config.slos.flatMap((s) => (s.kind === 'latency' ? [s.thresholdSeconds] : []))),
  ].sort((a, b) => a - b)
  return [
    {
      title: 'Latency p50 / p95 / p99 by route',
      description:
        'Quantiles estimated from http_request_duration_seconds; the lines are the latency SLO thresholds.',
      type: 'timeseries',
      w: 24,
      unit: 's',
      targets: [0.5, 0.95, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le, route) (rate(${METRICS.duration}_bucket${sel}[5m])))`,
        legend: `p${q * 100} {{route}}`,
        // Exemplars once: three queries would draw each slow request's point three times.
        ...(q === 0.99 ? { exemplar: true } : {}),
      })),
      steps: thresholds.map((t) => ({ value: t, color: 'red' })),
    },
    {
      title: 'Requests per second by route',
      description: 'Rate of http_requests_total by route template.',
      type: 'timeseries',
      w: 12,
      unit: 'reqps',
      targets: [
        { expr: `sum by (route) (rate(${METRICS.requests}${sel}[5m]))`, legend: '{{route}}' },
      ],
    },
    {
      title: 'Error rate (5xx share) by route',
      description: 'Share of requests answered with a 5xx status, by route template.',
      type: 'timeseries',
      w: 12,
      unit: 'percentunit',
      targets: [
        {
          expr: `sum by (route) (rate(${METRICS.requests}${bad}[5m])) / sum by (route) (rate(${METRICS.requests}${sel}[5m]))`,
          legend: '{{route}}',
        },
      ],
    },
    {
      title: 'Requests in flight',
      description:
        'Requests being served per instance; the line is the saturation alert threshold.',
      type: 'timeseries',
      w: 12,
      unit: 'short',
      targets: [{ expr: `sum by (instance) (${METRICS.inFlight}${sel})`, legend: '{{instance}}' }],
      steps: [{ value: config.saturation.inFlight, color: 'red' }],
    },
    {
      title: 'Event-loop lag',
      description:
        'Node.js event-loop lag per instance; the line is the saturation alert threshold.',
      type: 'timeseries',
      w: 12,
      unit: 's',
      targets: [
        { expr: `max by (instance) (${METRICS.eventLoopLag}${sel})`, legend: '{{instance}}' },
      ],
      steps: [{ value: config.saturation.eventLoopLagSeconds, color: 'red' }],
    },
  ]
}

/** Lays panels out left to right on Grafana's 24-column grid. */
function layout(specs: PanelSpec[]) {
  let x = 0
  let y = 0
  let rowHeight = 0
  return specs.map((spec, i) => {
    if (x + spec.w > 24) {
      x = 0
      y += rowHeight
      rowHeight = 0
    }
    const p = panel(spec, i + 1, x, y)
    x += spec.w
    rowHeight = Math.max(rowHeight, spec.h ?? 8)
    return p
  })
}

/**
 * A Grafana dashboard (classic JSON model, schemaVersion 39) for the service and its SLOs, with
 * the Prometheus datasource as a variable so the same file imports into any Grafana.
 */
export function generateDashboard(config: SloConfig) {
  const business = businessRow(config)
  const jobs = jobsPanels(config)
  const specs = [
    row('SLO burn'),
    ...burnRow(config),
    row('SLOs'),
    ...config.slos.flatMap((s) => sloPanels(config, s)),
    row('Traffic, latency and saturation'),
    ...servicePanels(config),
    row('Auth health'),
    ...authRow(config),
    ...(business.length ? [row('Business'), ...business] : []),
    ...(jobs.length ? [row('Jobs'), ...jobs] : []),
  ]
  return {
    uid: `rampart-${config.service}`.slice(0, 40),
    title: `${config.service} (Rampart)`,
    tags: ['rampart', config.service],
    schemaVersion: 39,
    version: 1,
    editable: true,
    timezone: 'browser',
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    annotations: { list: [] as unknown[] },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Prometheus',
          type: 'datasource',
          query: 'prometheus',
          hide: 0,
        },
      ],
    },
    panels: layout(specs),
  }
}

/** Every PromQL expression on the dashboard (for checks). */
export function dashboardExpressions(dashboard: ReturnType<typeof generateDashboard>): string[] {
  return dashboard.panels.flatMap((p) =>
    ('targets' in p ? (p.targets ?? []) : []).map((t) => t.expr),
  )
}
