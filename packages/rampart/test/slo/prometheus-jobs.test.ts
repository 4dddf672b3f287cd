import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { multipartFile } from '../../../../examples/airlock/test/helpers.js'
import { listeningAirlock } from '../support/airlock.js'
import { startPrometheus, until } from '../support/prometheus.js'
import { service } from '../support/services.js'
import { REPO_ROOT } from './support.js'

const PROMETHEUS = service('PROMETHEUS_BIN')

describe.skipIf(!PROMETHEUS)("a real Prometheus with airlock's jobs SLO rules", () => {
  it('reads the scans airlock ran: the wait and failure SLIs see every scan, none bad', async () => {
    const airlock = await listeningAirlock()
    const prom = await startPrometheus(PROMETHEUS as string, {
      job: 'airlock',
      target: airlock.host,
      ruleFiles: [
        {
          name: 'airlock.rules.yml',
          text: readFileSync(join(REPO_ROOT, 'ops/rules/airlock.rules.yml'), 'utf8'),
        },
      ],
    })
    try {
      const scans = async () =>
        (await prom.query('sum(job_wait_seconds_count{job="airlock",queue="scans"})'))[0]
      await until('the first scrape', async () =>
        (await prom.query('up{job="airlock"}'))[0] === 1 ? true : undefined,
      )
      const tokenRes = await fetch(`${airlock.url}/api/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'researcher', password: 'airlock-demo' }),
      })
      const auth = {
        authorization: `Bearer ${((await tokenRes.json()) as { token: string }).token}`,
      }
      const created = await fetch(`${airlock.url}/api/v1/requests`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Tables', direction: 'egress', justification: 'Paper' }),
      })
      const { id } = (await created.json()) as { id: string }
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
