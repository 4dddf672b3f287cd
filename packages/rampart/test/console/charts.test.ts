import { describe, expect, it } from 'vitest'
import { compact, lineChart, niceCeiling } from '../../src/console/charts.js'

const base = { title: 'p95', unit: 'ms', color: '#8250df', from: 0, to: 900_000 }

describe('the console line chart (server-rendered SVG)', () => {
  it('with no points yet: the axes and a "collecting" note, no line', () => {
    const svg = lineChart({ ...base, points: [] })
    expect(svg).toContain('collecting: one point every interval')
    expect(svg).not.toMatch(/<polyline|<circle/)
    expect(svg).toContain('<figcaption>p95 <b>—</b></figcaption>')
    expect(svg).toMatch(/>−15 min<\/text>.*>now<\/text>/)
  })

  it('an interval without a value is a gap: two lines, and a lone point is a dot', () => {
    const points = [
      { at: 100_000, value: 10 },
      { at: 110_000, value: 20 },
      { at: 120_000, value: null },
      { at: 130_000, value: 30 },
      { at: 140_000, value: 40 },
      { at: 150_000, value: null },
      { at: 160_000, value: 5 },
    ]
    const svg = lineChart({ ...base, points })
    expect(svg.match(/<polyline /g)).toHaveLength(2)
    expect(svg.match(/<circle /g)).toHaveLength(1)
    // The y axis tops out at a round number above the largest value, halfway labelled.
    expect(svg).toMatch(/>50<\/text>/)
    expect(svg).toMatch(/>25<\/text>/)
    expect(svg).toContain('aria-label="p95 over the last 15 minutes; latest 5 ms"')
    // Points outside the window are not drawn (the x axis is fixed).
    const late = lineChart({ ...base, points: [{ at: 1_000_000, value: 1 }] })
    expect(late).not.toMatch(/<polyline|<circle/)
  })

  it('escapes its text and uses no inline style', () => {
    const svg = lineChart({ ...base, title: '<b>x</b>', points: [{ at: 1, value: 1 }] })
    expect(svg).toContain('&#60;b&#62;x&#60;/b&#62;')
    expect(svg).not.toMatch(/style=|<script/)
  })

  it('rounds axis tops and labels for reading at a glance', () => {
    expect([0, 0.3, 1, 1.2, 2.2, 3, 7, 12, 480].map(niceCeiling)).toEqual([
      1, 0.5, 1, 2, 2.5, 5, 10, 20, 500,
    ])
    expect([0.25, 1.5, 12.34, 480, 3500, 12_500, 2_400_000].map(compact)).toEqual([
      '0.25',
      '1.5',
      '12.3',
      '480',
      '3500',
      '12.5k',
      '2.4M',
    ])
  })
})
