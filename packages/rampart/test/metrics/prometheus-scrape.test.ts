import { describe, expect, it } from 'vitest'
import { listeningAirlock } from '../support/airlock.js'
import { startPrometheus, until } from '../support/prometheus.js'
import { service } from '../support/services.js'

const PROMETHEUS = service('PROMETHEUS_BIN')

describe.skipIf(!PROMETHEUS)('a real Prometheus scraping airlock', () => {
  it('returns the same http_requests_total the test sent', async () => {
    const airlock = await listeningAirlock()
    const prom = await startPrometheus(PROMETHEUS as string, {
      job: 'airlock',
      target: airlock.host,
    })
    try {
      const sent = 23
      for (let i = 0; i < sent; i++) {
        const res = await fetch(`${airlock.url}/static/airlock.css`)
        expect(res.status).toBe(200)
        await res.arrayBuffer()
      }
      const series =
        'http_requests_total{job="airlock",method="GET",route="/static/airlock.css",status="200"}'
      const value = await until(
        'the scrape',
        async () => {
          const [v] = await prom.query(series)
          return v === sent ? v : undefined
        },
        30_000,
      )
      expect(value).toBe(sent)
    } finally {
      prom.stop()
      await airlock.close()
    }
  }, 60_000)
})
