import { DURATION_BUCKETS_SECONDS } from '../config/defaults.js'
import { escapeHtml } from '../errors/html-page.js'
import { lineChart } from './charts.js'
import { QUEUE_HEADERS, queueRows } from './queues.js'
import type { ConsoleSnapshot } from './snapshot.js'

/**
 * The console's stylesheet, served from `/_rampart/console.css`: the Content-Security-Policy
 * allows same-origin styles only (no inline style, no script anywhere on the page).
 */
export const CONSOLE_CSS = `body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1c2430}
header{background:#1c2430;color:#fff;padding:.8rem 1.5rem;display:flex;gap:.3rem 1.5rem;align-items:baseline;flex-wrap:wrap}
header h1{font-size:1.1rem;margin:0}header span{color:#b8c0cc;font-size:.9rem}
main{max-width:72rem;margin:1.5rem auto;padding:0 1.5rem;display:grid;gap:1.2rem}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002;padding:1rem 1.2rem;min-width:0}
h2{font-size:1rem;margin:0 0 .6rem}table{border-collapse:collapse;width:100%}
.scroll{overflow-x:auto}
th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #eef0f3;font-variant-numeric:tabular-nums}
th{color:#6b7482;font-weight:600;font-size:.85rem;white-space:nowrap}td code,td.n{white-space:nowrap}td.n,th.n{text-align:right}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:1rem}
.tile b{display:block;font-size:1.6rem}.tile{color:#6b7482}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}
figure.chart{margin:0;min-width:0}figure.chart figcaption{color:#6b7482;font-size:.9rem}
figure.chart figcaption b{color:#1c2430;margin-left:.3rem}
figure.chart svg{display:block;width:100%;height:auto}
svg .grid{stroke:#e3e6ea;stroke-width:1}svg .axis{fill:#6b7482;font:10px system-ui,sans-serif}
.ok{color:#18794e}.bad{color:#c2302a}.muted{color:#6b7482}
code{font:.9em ui-monospace,monospace;background:#eef0f3;padding:.1em .3em;border-radius:3px}
footer{color:#6b7482;font-size:.85rem;text-align:center;margin:1rem;overflow-wrap:anywhere}
@media (max-width:40rem){header,main{padding-left:.8rem;padding-right:.8rem}main{margin-top:.8rem}
section{padding:.8rem}table{font-size:.85rem}th,td{padding:.3rem .35rem}.tiles{grid-template-columns:repeat(2,minmax(0,1fr))}}
`

const LARGEST_BUCKET_MS = Math.max(...DURATION_BUCKETS_SECONDS) * 1000
const n = (x: number) => x.toLocaleString('en')
const pct = (x: number | null) => (x === null ? '—' : `${x.toFixed(2)} %`)

function table(
  headers: string[],
  rows: string[][],
  numeric: Set<number>,
  empty = 'Nothing yet.',
): string {
  if (rows.length === 0) return `<p class="muted">${empty}</p>`
  const th = headers
    .map((h, i) => `<th${numeric.has(i) ? ' class="n"' : ''}>${escapeHtml(h)}</th>`)
    .join('')
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${numeric.has(i) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`,
    )
    .join('')
  // Wide tables scroll inside their box, so the page itself never scrolls sideways on a phone.
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`
}

/** One section of the console page, rendered from the snapshot. */
export type ConsoleSection = (s: ConsoleSnapshot) => string

const summarySection: ConsoleSection = (s) => {
  const ready = s.readiness.ready
    ? '<b class="ok">ready</b>'
    : `<b class="bad">${s.readiness.draining ? 'draining' : 'not ready'}</b>`
  const errorShare = s.requests.total === 0 ? null : (s.requests.errors / s.requests.total) * 100
  const tiles = [
    ['requests', n(s.requests.total)],
    ['5xx', `${n(s.requests.errors)} (${pct(errorShare)})`],
    ['in flight', n(s.requests.in_flight)],
    ['readiness', ready],
    ['tracing', s.tracing ? 'on' : 'off'],
  ]
    .map(([label, value]) => `<div class="tile">${label}<b>${value}</b></div>`)
    .join('')
  return `<section><h2>Since start</h2><div class="tiles">${tiles}</div></section>`
}

/** Request rate, 5xx rate and p95 over the kept history, as three server-rendered SVG charts. */
export const historySection =
  (now: () => number = Date.now): ConsoleSection =>
  (s) => {
    const { interval_seconds, capacity, points } = s.history
    const to = now()
    const from = to - interval_seconds * capacity * 1000
    const at = points.map((p) => Date.parse(p.at))
    const chart = (
      title: string,
      unit: string,
      color: string,
      value: (i: number) => number | null,
    ) =>
      lineChart({
        title,
        unit,
        color,
        from,
        to,
        points: at.map((t, i) => ({ at: t, value: value(i) })),
      })
    const charts = [
      chart('requests', 'req/s', '#2f6feb', (i) => points[i]?.requests_per_second ?? null),
      chart('5xx', 'err/s', '#c2302a', (i) => points[i]?.errors_per_second ?? null),
      chart('p95', 'ms', '#8250df', (i) => points[i]?.p95_ms ?? null),
    ].join('')
    return `<section><h2>Last ${Math.round((capacity * interval_seconds) / 60)} minutes <span class="muted">(a point every ${interval_seconds} s)</span></h2><div class="charts">${charts}</div></section>`
  }

const sloSection: ConsoleSection = (s) =>
  `<section><h2>SLOs (since start; Prometheus judges the window)</h2>${table(
    ['SLO', 'kind', 'route', 'objective', 'requests', 'bad', 'compliance'],
    s.slos.map((o) => [
      escapeHtml(o.name),
      escapeHtml(o.kind),
      o.route === null ? '<span class="muted">all</span>' : `<code>${escapeHtml(o.route)}</code>`,
      `${o.objective_percent} %`,
      n(o.requests),
      n(o.bad),
      `<span class="${o.meets_objective === false ? 'bad' : 'ok'}">${pct(o.compliance_percent)}</span>`,
    ]),
    new Set([3, 4, 5, 6]),
  )}</section>`

const routesSection: ConsoleSection = (s) =>
  `<section><h2>Routes</h2>${table(
    ['method', 'route', 'requests', '5xx', 'p95 ≤'],
    s.requests.routes.map((r) => [
      escapeHtml(r.method),
      `<code>${escapeHtml(r.route)}</code>`,
      n(r.requests),
      r.errors > 0 ? `<span class="bad">${n(r.errors)}</span>` : '0',
      // Listed routes have traffic: no bound means above the largest bucket.
      r.p95_ms_at_most === null ? `&#62; ${LARGEST_BUCKET_MS} ms` : `${r.p95_ms_at_most} ms`,
    ]),
    new Set([2, 3, 4]),
  )}</section>`

const readinessSection: ConsoleSection = (s) =>
  `<section><h2>Readiness checks</h2>${table(
    ['check', 'state', 'ms'],
    s.readiness.checks.map((c) => [
      escapeHtml(c.name),
      c.ok
        ? '<span class="ok">ok</span>'
        : `<span class="bad">${escapeHtml(c.error ?? 'failed')}</span>`,
      String(c.duration_ms),
    ]),
    new Set([2]),
    'None registered (<code>app.rampart.health.addCheck</code>).',
  )}</section>`

const securitySection: ConsoleSection = (s) =>
  `<section><h2>Security events</h2>${table(
    ['kind', 'count'],
    s.security_events.map((x) => [escapeHtml(x.kind), n(x.count)]),
    new Set([1]),
  )}<h2>Rate-limit blocks</h2>${table(
    ['policy', 'scope', 'count'],
    s.rate_limit_blocks.map((x) => [escapeHtml(x.policy), escapeHtml(x.scope), n(x.count)]),
    new Set([2]),
  )}</section>`

/** Background-job queues (`rampart/bullmq`), when the service has any. */
const queuesSection: ConsoleSection = (s) =>
  s.queues.length === 0
    ? ''
    : `<section><h2>Queues (depth now; runs since start)</h2>${table(
        QUEUE_HEADERS,
        queueRows(s.queues, escapeHtml),
        new Set(QUEUE_HEADERS.map((_, i) => i).slice(1)),
      )}</section>`

/** The page's sections, top to bottom; a new capability adds its own renderer here. */
export const CONSOLE_SECTIONS: readonly ConsoleSection[] = [
  summarySection,
  historySection(),
  sloSection,
  routesSection,
  readinessSection,
  securitySection,
  queuesSection,
]

/**
 * The console page: the snapshot as HTML, every value escaped, refreshed by the browser every
 * 10 s (a `<meta>` refresh: no script). The same data is at `/_rampart/api/summary` as JSON.
 */
export function consolePage(
  s: ConsoleSnapshot,
  sections: readonly ConsoleSection[] = CONSOLE_SECTIONS,
): string {
  const e = escapeHtml
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    '<meta name="robots" content="noindex"><meta http-equiv="refresh" content="10">' +
    `<title>${e(s.service)} · Rampart console</title>` +
    '<link rel="stylesheet" href="/_rampart/console.css"></head><body>' +
    `<header><h1>${e(s.service)}</h1><span>${e(s.environment)} · pid ${s.pid} · Node ${e(s.node)} · up ${duration(s.uptime_seconds)}</span></header>` +
    `<main>${sections.map((section) => section(s)).join('')}</main>` +
    '<footer>Rampart ops console · this process only · JSON at <code>/_rampart/api/summary</code> · metrics at <code>/metrics</code></footer>' +
    '</body></html>'
  )
}

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86_400)
  const h = Math.floor((seconds % 86_400) / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min ${seconds % 60} s`
}
