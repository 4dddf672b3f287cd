import type { PanelSpec } from './dashboard.js'
import type { SloConfig } from './options.js'
import { METRICS, selector, serviceLabels } from './promql.js'
import { counterSeries } from './ratio.js'

/**
 * The dashboard rows beyond the per-SLO panels: every SLO's burn at a glance, auth health,
 * and the service's business counters (declared in `businessMetrics`, plus the counters of
 * ratio SLOs).
 */

/** Burn rate, budget left and firing burn alerts of every SLO of the service. */
export function burnRow(config: SloConfig): PanelSpec[] {
  const svc = selector({ rampart_service: config.service })
  return [
    {
      title: 'SLO burn rate (5m) of every SLO',
      description:
        'Error ratio over the last 5 minutes divided by each SLO’s error budget: 1x spends the budget exactly over the SLO window; the lines are the page tiers of a 30d window.',
      type: 'timeseries',
      w: 12,
      unit: 'none',
      targets: [{ expr: `slo:current_burn_rate:ratio${svc}`, legend: '{{rampart_slo}}' }],
      steps: [
        { value: 6, color: 'orange' },
        { value: 14.4, color: 'red' },
      ],
    },
    {
      title: 'Error budget remaining',
      description: 'Share of each SLO’s error budget not yet spent over its window.',
      type: 'bargauge',
      w: 8,
      unit: 'percentunit',
      targets: [
        {
          expr: `slo:period_error_budget_remaining:ratio${svc}`,
          legend: '{{rampart_slo}}',
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
      title: 'Burn alerts firing',
      description: 'SLOErrorBudgetBurn alerts firing now, pages and tickets.',
      type: 'stat',
      w: 4,
      unit: 'short',
      targets: [
        {
          expr: `count(ALERTS${selector({ alertname: 'SLOErrorBudgetBurn', alertstate: 'firing', rampart_service: config.service })}) or vector(0)`,
          legend: 'firing',
          instant: true,
        },
      ],
      steps: [{ value: 1, color: 'red' }],
    },
  ]
}

function declaredPanels(config: SloConfig, row: 'business' | 'auth'): PanelSpec[] {
  const sel = selector(serviceLabels(config))
  return (config.businessMetrics ?? [])
    .filter((m) => (m.row ?? 'business') === row)
    .map((m) => {
      const by = m.by ?? []
      return {
        title: `${m.title ?? m.name} per hour`,
        description: `Increase of ${m.name} over the last hour${by.length ? `, by ${by.join(', ')}` : ''}.`,
        type: 'timeseries',
        w: 8,
        unit: 'short',
        targets: [
          {
            expr: `sum${by.length ? ` by (${by.join(', ')})` : ''} (increase(${m.name}${sel}[1h]))`,
            legend: by.length ? by.map((l) => `{{${l}}}`).join(' ') : m.name,
          },
        ],
      }
    })
}

/** Login failures, CSRF blocks, 401/403/429 by reason and route, rate-limit blocks. */
export function authRow(config: SloConfig): PanelSpec[] {
  const sel = selector(serviceLabels(config))
  const denied = selector(serviceLabels(config), ['status=~"401|403|429"'])
  return [
    ...declaredPanels(config, 'auth'),
    {
      title: 'Security events by kind',
      description:
        'rampart_security_events_total: 401 (unauthorized), 403 (forbidden), 429 (rate_limited), CSRF blocks and client errors on sensitive paths.',
      type: 'timeseries',
      w: 8,
      unit: 'reqps',
      targets: [
        { expr: `sum by (kind) (rate(${METRICS.securityEvents}${sel}[5m]))`, legend: '{{kind}}' },
      ],
    },
    {
      title: '401 / 403 / 429 by route',
      description: 'Requests refused as unauthenticated, forbidden or rate limited, by route.',
      type: 'timeseries',
      w: 8,
      unit: 'reqps',
      targets: [
        {
          expr: `sum by (route, status) (rate(${METRICS.requests}${denied}[5m]))`,
          legend: '{{status}} {{route}}',
        },
      ],
    },
    {
      title: 'CSRF blocks',
      description: 'State-changing requests refused by the CSRF checks, by reason.',
      type: 'timeseries',
      w: 8,
      unit: 'reqps',
      targets: [
        { expr: `sum by (reason) (rate(${METRICS.csrfBlocks}${sel}[5m]))`, legend: '{{reason}}' },
      ],
    },
    {
      title: 'Rate-limit blocks',
      description: 'Requests refused with 429, by policy and key scope.',
      type: 'timeseries',
      w: 8,
      unit: 'reqps',
      targets: [
        {
          expr: `sum by (policy, scope) (rate(${METRICS.rateLimitBlocks}${sel}[5m]))`,
          legend: '{{policy}} ({{scope}})',
        },
      ],
    },
  ]
}

/** The declared business counters, and the good and total events of each ratio SLO. */
export function businessRow(config: SloConfig): PanelSpec[] {
  const ratios = config.slos.flatMap((s) =>
    s.kind === 'ratio'
      ? [
          {
            title: `${s.name}: good and total events`,
            description: `The counters of the ratio SLO: ${s.good} among ${s.total}.`,
            type: 'timeseries' as const,
            w: 8,
            unit: 'ops',
            targets: [
              { expr: `sum(rate(${counterSeries(config, s.good)}[5m]))`, legend: 'good' },
              { expr: `sum(rate(${counterSeries(config, s.total)}[5m]))`, legend: 'total' },
            ],
          },
        ]
      : [],
  )
  return [...declaredPanels(config, 'business'), ...ratios]
}
