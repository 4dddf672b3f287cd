import { describe, expect, it } from 'vitest'
import { multipartFile } from '../../../../examples/airlock/test/helpers.js'
import { airlockUnderPrometheus, researcherDraft } from '../support/airlock-prometheus.js'
import { until } from '../support/prometheus.js'
import { service } from '../support/services.js'

const PROMETHEUS = service('PROMETHEUS_BIN')

describe.skipIf(!PROMETHEUS)("a real Prometheus with airlock's jobs SLO rules", () => {
  it('reads the scans airlock ran: the wait and failure SLIs see every scan, none bad', async () => {
    const { airlock, prom } = await airlockUnderPrometheus(PROMETHEUS as string)
    try {
      const scans = async () =>
        (await prom.query('sum(job_wait_seconds_count{job="airlock",queue="scans"})'))[0]
      const { auth, id } = await researcherDraft(airlock.url)
      const upload = async (n: number) => {
        const { payload, headers } = multipartFile(`t${n}.csv`, `a,b\n${n},20\n`)
        const res = await fetch(`${airlock.url}/api/v1/requests/${id}/files`, {
          method: 'POST',
          headers: { ...auth, ...headers },
          body: payload,
        })
        await res.arrayBuffer()
        expect(res.status).toBe(200)
      }
      // The first scan creates the series; rate() counts from its second sample on.
      await upload(1)
      await until('the first scan scraped', async () => ((await scans()) === 1 ? true : undefined))
      await new Promise((r) => setTimeout(r, 3000))
      for (let n = 2; n <= 13; n++) await upload(n)
      await until('every scan scraped', async () => ((await scans()) === 13 ? true : undefined))

      for (const slo of ['scans-start', 'scans-succeed']) {
        const sel = `{rampart_service="airlock",rampart_slo="${slo}"}`
        const total = await until(`${slo}: traffic recorded`, async () => {
          const [v] = await prom.query(`slo:sli_total_events:rate5m${sel}`)
          return v !== undefined && v > 0 ? v : undefined
        })
        expect(total).toBeGreaterThan(0)
        const [ratio] = await prom.query(`slo:sli_error:ratio_rate5m${sel}`)
        expect(ratio, slo).toBe(0)
      }
      // Every scan started within 30 s: the le="30" bucket prom-client exposes is the one read.
      const [bucket] = await prom.query(
        'sum(job_wait_seconds_bucket{job="airlock",queue="scans",le=~"30|30\\\\.0"})',
      )
      expect(bucket).toBe(13)
    } finally {
      prom.stop()
      await airlock.close()
    }
  }, 90_000)
})
