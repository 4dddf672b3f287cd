import { createMetrics } from 'rampart/internal'
import { describe, expect, it } from 'vitest'

function seriesOf(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
}

describe('metrics registry', () => {
  it('a service counter fed 100,000 distinct label values holds at cap + 1 series and counts the folded ones', async () => {
    const metrics = createMetrics({ seriesCap: 50, defaultMetrics: false })
    const c = metrics.counter({
      name: 'orders_total',
      help: 'orders',
      labelNames: ['customer'] as const,
    })
    for (let i = 0; i < 100_000; i++) c.inc({ customer: `c-${i}` })
    const { body } = await metrics.render()
    const series = seriesOf(body, 'orders_total')
    expect(series).toHaveLength(51)
    expect(series).toContain('orders_total{customer="__overflow__"} 99950')
    expect(body).toContain('rampart_metric_series_dropped_total{metric="orders_total"} 99950')
  })

  it('counts exact values per label set and keeps registries apart', async () => {
    const a = createMetrics({ defaultMetrics: false })
    const b = createMetrics({ defaultMetrics: false })
    const ca = a.counter({
      name: 'hits_total',
      help: 'h',
      labelNames: ['route', 'status'] as const,
    })
    b.counter({ name: 'hits_total', help: 'h', labelNames: ['route', 'status'] as const })
    ca.inc({ route: '/x', status: 200 })
    ca.inc({ route: '/x', status: 200 }, 2)
    ca.inc({ route: '/y', status: 500 })
    const textA = (await a.render()).body
    const textB = (await b.render()).body
    expect(textA).toContain('hits_total{route="/x",status="200"} 3')
    expect(textA).toContain('hits_total{route="/y",status="500"} 1')
    expect(seriesOf(textB, 'hits_total')).toHaveLength(0)
  })

  it('gauges and histograms share the cap; unlabelled metrics work', async () => {
    const m = createMetrics({ seriesCap: 2, defaultMetrics: false })
    const g = m.gauge({ name: 'queue_depth', help: 'q', labelNames: ['queue'] as const })
    g.set({ queue: 'a' }, 5)
    g.inc({ queue: 'b' })
    g.set({ queue: 'c' }, 7)
    const h = m.histogram({ name: 'job_seconds', help: 'j', buckets: [0.1, 1] })
    h.observe(0.5)
    const plain = m.counter({ name: 'ticks_total', help: 't' })
    plain.inc()
    plain.inc(4)
    const { body } = await m.render()
    expect(body).toContain('queue_depth{queue="__overflow__"} 7')
    expect(body).toContain('rampart_metric_series_dropped_total{metric="queue_depth"} 1')
    expect(body).toContain('job_seconds_bucket{le="1"} 1')
    expect(body).toContain('ticks_total 5')
  })

  it('renders OpenMetrics when asked', async () => {
    const m = createMetrics({ defaultMetrics: false })
    m.counter({ name: 'x_total', help: 'x' }).inc()
    const om = await m.render(true)
    expect(om.contentType).toContain('application/openmetrics-text')
    expect(om.body.trimEnd().endsWith('# EOF')).toBe(true)
    const text = await m.render(false)
    expect(text.contentType).toContain('text/plain')
  })
})
