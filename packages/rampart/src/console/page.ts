import { DURATION_BUCKETS_SECONDS } from '../config/defaults.js'
import { escapeHtml } from '../errors/html-page.js'
import { QUEUE_HEADERS, queueRows } from './queues.js'
import type { ConsoleSnapshot } from './snapshot.js'

/**
 * The console's stylesheet, served from `/_rampart/console.css`: the Content-Security-Policy
 * allows same-origin styles only (no inline style, no script anywhere on the page).
 */
export const CONSOLE_CSS = `body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1c2430}
header{background:#1c2430;color:#fff;padding:.8rem 1.5rem;display:flex;gap:1.5rem;align-items:baseline;flex-wrap:wrap}
header h1{font-size:1.1rem;margin:0}header span{color:#b8c0cc;font-size:.9rem}
main{max-width:72rem;margin:1.5rem auto;padding:0 1.5rem;display:grid;gap:1.2rem}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002;padding:1rem 1.2rem}
h2{font-size:1rem;margin:0 0 .6rem}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #eef0f3;font-variant-numeric:tabular-nums}
th{color:#6b7482;font-weight:600;font-size:.85rem}td.n,th.n{text-align:right}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:1rem}
.tile b{display:block;font-size:1.6rem}.tile{color:#6b7482}
.ok{color:#18794e}.bad{color:#c2302a}.muted{color:#6b7482}
code{font:.9em ui-monospace,monospace;background:#eef0f3;padding:.1em .3em;border-radius:3px}
footer{color:#6b7482;font-size:.85rem;text-align:center;margin:1rem}
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
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`
}

/**
 * The console page: the snapshot as HTML, every value escaped, refreshed by the browser every
 * 10 s (a `<meta>` refresh: no script). The same data is at `/_rampart/api/summary` as JSON.
 */
export function consolePage(s: ConsoleSnapshot): string {
  const e = escapeHtml
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
  const sections = [
    `<section><h2>Since start</h2><div class="tiles">${tiles}</div></section>`,
    `<section><h2>SLOs (since start; Prometheus judges the window)</h2>${table(
      ['SLO', 'kind', 'route', 'objective', 'requests', 'bad', 'compliance'],
      s.slos.map((o) => [
        e(o.name),
        e(o.kind),
        o.route === null ? '<span class="muted">all</span>' : `<code>${e(o.route)}</code>`,
        `${o.objective_percent} %`,
        n(o.requests),
        n(o.bad),
        `<span class="${o.meets_objective === false ? 'bad' : 'ok'}">${pct(o.compliance_percent)}</span>`,
      ]),
      new Set([3, 4, 5, 6]),
    )}</section>`,
    `<section><h2>Routes</h2>${table(
      ['method', 'route', 'requests', '5xx', 'p95 ≤'],
      s.requests.routes.map((r) => [
        e(r.method),
        `<code>${e(r.route)}</code>`,
        n(r.requests),
        r.errors > 0 ? `<span class="bad">${n(r.errors)}</span>` : '0',
        // Listed routes have traffic: no bound means above the largest bucket.
        r.p95_ms_at_most === null ? `&#62; ${LARGEST_BUCKET_MS} ms` : `${r.p95_ms_at_most} ms`,
      ]),
      new Set([2, 3, 4]),
    )}</section>`,
    `<section><h2>Readiness checks</h2>${table(
      ['check', 'state', 'ms'],
      s.readiness.checks.map((c) => [
        e(c.name),
        c.ok ? '<span class="ok">ok</span>' : `<span class="bad">${e(c.error ?? 'failed')}</span>`,
        String(c.duration_ms),
      ]),
      new Set([2]),
      'None registered (<code>app.rampart.health.addCheck</code>).',
    )}</section>`,
    `<section><h2>Security events</h2>${table(
      ['kind', 'count'],
      s.security_events.map((x) => [e(x.kind), n(x.count)]),
      new Set([1]),
    )}<h2>Rate-limit blocks</h2>${table(
      ['policy', 'scope', 'count'],
      s.rate_limit_blocks.map((x) => [e(x.policy), e(x.scope), n(x.count)]),
      new Set([2]),
    )}</section>`,
    ...(s.queues.length === 0
      ? []
      : [
          `<section><h2>Queues (depth now; runs since start)</h2>${table(
            QUEUE_HEADERS,
            queueRows(s.queues, e),
            new Set([1, 2, 3, 4, 5, 6, 7, 8]),
          )}</section>`,
        ]),
  ].join('')
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    '<meta name="robots" content="noindex"><meta http-equiv="refresh" content="10">' +
    `<title>${e(s.service)} · Rampart console</title>` +
    '<link rel="stylesheet" href="/_rampart/console.css"></head><body>' +
    `<header><h1>${e(s.service)}</h1><span>${e(s.environment)} · pid ${s.pid} · Node ${e(s.node)} · up ${duration(s.uptime_seconds)}</span></header>` +
    `<main>${sections}</main>` +
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
