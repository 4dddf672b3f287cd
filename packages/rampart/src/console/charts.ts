import { escapeHtml } from '../errors/html-page.js'

/** One value of a chart; null draws a gap (e.g. p95 of an interval without requests). */
export interface ChartPoint {
  /** Epoch ms. */
  at: number
  value: number | null
}

export interface LineChart {
  title: string
  /** Shown after values, e.g. `req/s`, `ms`. */
  unit: string
  /** Line colour: an SVG presentation attribute, which the page CSP does not govern. */
  color: string
  points: readonly ChartPoint[]
  /** The time span drawn, epoch ms: the x axis is fixed, so an idle gap shows as a gap. */
  from: number
  to: number
}

// The drawing's own coordinates; the SVG scales to its box (the stylesheet sets width 100 %),
// sized so that its text stays readable in a 390 px wide phone column.
const W = 320
const H = 150
const LEFT = 38
const RIGHT = 8
const TOP = 10
const BOTTOM = 22

/**
 * A line chart as inline SVG, rendered on the server: no script, no inline style (colours are
 * presentation attributes, the rest comes from the console's stylesheet), so it works under
 * the console's Content-Security-Policy. Hand-written: a charting library would need script in
 * the browser or a DOM on the server for three polylines.
 */
export function lineChart(c: LineChart): string {
  const e = escapeHtml
  const values = c.points.flatMap((p) => (p.value === null ? [] : [p.value]))
  const top = niceCeiling(Math.max(0, ...values))
  const x = (at: number) => LEFT + ((at - c.from) / (c.to - c.from)) * (W - LEFT - RIGHT)
  const y = (v: number) => TOP + (1 - v / top) * (H - TOP - BOTTOM)
  const f = (n: number) => n.toFixed(1)

  const grid = [0, top / 2, top]
    .map(
      (v) =>
        `<line class="grid" x1="${LEFT}" x2="${W - RIGHT}" y1="${f(y(v))}" y2="${f(y(v))}"/>` +
        `<text class="axis" x="${LEFT - 4}" y="${f(y(v) + 4)}" text-anchor="end">${compact(v)}</text>`,
    )
    .join('')
  const minutes = Math.round((c.to - c.from) / 60_000)
  const ticks = [minutes, Math.round((minutes * 2) / 3), Math.round(minutes / 3), 0]
    .map((m, i, all) => {
      const anchor = i === 0 ? 'start' : i === all.length - 1 ? 'end' : 'middle'
      return `<text class="axis" x="${f(x(c.to - m * 60_000))}" y="${H - 6}" text-anchor="${anchor}">${m === 0 ? 'now' : `−${m} min`}</text>`
    })
    .join('')

  // One polyline per run of known values; a lone point is a dot.
  const runs: ChartPoint[][] = [[]]
  for (const p of c.points) {
    if (p.at < c.from || p.at > c.to) continue
    if (p.value === null) runs.push([])
    else runs.at(-1)?.push(p)
  }
  const lines = runs
    .filter((r) => r.length > 0)
    .map((r) =>
      r.length === 1
        ? `<circle cx="${f(x(r[0]?.at ?? 0))}" cy="${f(y(r[0]?.value ?? 0))}" r="2" fill="${c.color}"/>`
        : `<polyline fill="none" stroke="${c.color}" stroke-width="2" stroke-linejoin="round" points="${r
            .map((p) => `${f(x(p.at))},${f(y(p.value ?? 0))}`)
            .join(' ')}"/>`,
    )
    .join('')
  const empty =
    c.points.length === 0
      ? `<text class="axis" x="${(LEFT + W - RIGHT) / 2}" y="${H / 2}" text-anchor="middle">collecting: one point every interval</text>`
      : ''

  const latest = c.points.at(-1)?.value
  const now = latest === undefined || latest === null ? '—' : `${compact(latest)} ${c.unit}`
  const label = `${c.title} over the last ${minutes} minutes; latest ${now}`
  return (
    `<figure class="chart"><figcaption>${e(c.title)} <b>${e(now)}</b></figcaption>` +
    `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${e(label)}"><title>${e(label)}</title>` +
    `${grid}${ticks}${lines}${empty}</svg></figure>`
  )
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above `v` (1 for nothing): a readable axis top. */
export function niceCeiling(v: number): number {
  if (!(v > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(v))
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= v * (1 - 1e-9)) return step * power
  return 10 * power
}

/** Short axis labels: 0.25, 12, 3.5k, 1.2M. */
export function compact(v: number): string {
  if (v >= 1e6) return `${trim(v / 1e6)}M`
  if (v >= 1e4) return `${trim(v / 1e3)}k`
  if (v >= 100) return String(Math.round(v))
  return trim(v)
}

const trim = (v: number) => String(Number(v.toPrecision(v >= 10 ? 3 : 2)))
