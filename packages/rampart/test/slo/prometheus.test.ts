import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { multipartFile } from '../../../../examples/airlock/test/helpers.js'
import { airlockUnderPrometheus, researcherDraft } from '../support/airlock-prometheus.js'
import { until } from '../support/prometheus.js'
import { service } from '../support/services.js'

const PROMETHEUS = service('PROMETHEUS_BIN')

describe.skipIf(!PROMETHEUS)("a real Prometheus with airlock's generated rules", () => {
  it('records an error ratio equal to the share of 5xx the test sent to airlock', async () => {
    const { airlock, prom } = await airlockUnderPrometheus(PROMETHEUS as string)
    try {
      const total = async () => (await prom.query('sum(http_requests_total{job="airlock"})'))[0]
      // A researcher's token and a draft request to upload files to.
      const { auth, id } = await researcherDraft(airlock.url)

      // The fault: the uploads directory's place is taken by a file (a full or broken disk
      // would do the same), so every upload fails with a 500 and everything else still works.
      rmSync(join(airlock.dataDir, 'uploads'), { recursive: true, force: true })
      writeFileSync(join(airlock.dataDir, 'uploads'), 'not a directory')
      const css = async () => {
        const res = await fetch(`${airlock.url}/static/airlock.css`)
        await res.arrayBuffer()
        return res.status
      }
      const upload = async () => {
        const { payload, headers } = multipartFile('t.csv', 'a,b\n1,2\n')
        const res = await fetch(`${airlock.url}/api/v1/requests/${id}/files`, {
          method: 'POST',
          headers: { ...auth, ...headers },
          body: payload,
        })
        await res.arrayBuffer()
        return res.status
      }

      // Create the 200 and 500 series and let Prometheus scrape them first: rate() cannot see
      // increments made before a series' first sample (research note, pitfall 5).
      for (let i = 0; i < 10; i++) expect([await css(), await upload()]).toEqual([200, 500])
      const before = 2 + 20
      await until('the warm-up', async () => ((await total()) === before ? true : undefined))
      await new Promise((r) => setTimeout(r, 3000))

      const ok = 60
      const failed = 20
      for (let i = 0; i < ok + failed; i++)
        expect(i % 4 === 3 ? await upload() : await css()).toBe(i % 4 === 3 ? 500 : 200)
      await until('the traffic', async () =>
        (await total()) === before + ok + failed ? true : undefined,
      )

      const share = failed / (ok + failed)
      const sel = '{rampart_service="airlock",rampart_slo="availability"}'
      const ratio = await until('the recording rule', async () => {
        const [v] = await prom.query(`slo:sli_error:ratio_rate5m${sel}`)
        return v !== undefined && Math.abs(v - share) < 1e-9 ? v : undefined
      })
      expect(ratio).toBeCloseTo(share, 9)
      const [hour] = await prom.query(`slo:sli_error:ratio_rate1h${sel}`)
      expect(hour).toBeCloseTo(share, 9)
    } finally {
      prom.stop()
      await airlock.close()
    }
  }, 90_000)
})
