import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { multipartFile } from '../../../../examples/airlock/test/helpers.js'
import { dashboardExpressions, generateDashboard } from '../../src/slo/dashboard.js'
import { loadConfig } from '../../src/slo/load-config.js'
import { airlockUnderPrometheus, researcherDraft } from '../support/airlock-prometheus.js'
import { type RunningPrometheus, until } from '../support/prometheus.js'
import { service } from '../support/services.js'
import { AIRLOCK_CONFIG_FILE, REPO_ROOT } from './support.js'

const PROMETHEUS = service('PROMETHEUS_BIN')

/** Waits until the SLO's 5m error ratio is `share` (to 1e-9), then checks the 1h one too. */
async function expectErrorRatio(prom: RunningPrometheus, slo: string, share: number) {
  const sel = `{rampart_service="airlock",rampart_slo="${slo}"}`
  const ratio = await until('the recording rule', async () => {
    const [v] = await prom.query(`slo:sli_error:ratio_rate5m${sel}`)
    return v !== undefined && Math.abs(v - share) < 1e-9 ? v : undefined
  })
  expect(ratio).toBeCloseTo(share, 9)
  const [hour] = await prom.query(`slo:sli_error:ratio_rate1h${sel}`)
  expect(hour).toBeCloseTo(share, 9)
}

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
      await expectErrorRatio(prom, 'availability', share)
    } finally {
      prom.stop()
      await airlock.close()
    }
  }, 90_000)

  it('records the login-success ratio SLO exactly for a known mix of logins, and scrapes the le="0.2" bucket of the p99 SLO', async () => {
    const { airlock, prom } = await airlockUnderPrometheus(PROMETHEUS as string)
    try {
      // Both outcome series exist at 0 from start-up and were scraped: every login is an increase.
      // The p99 < 200 ms SLO's threshold is a bucket of its route, as airlock exposes it.
      const [bucket] = await prom.query(
        'http_request_duration_seconds_bucket{job="airlock",method="GET",route="/api/v1/requests",status="200",le="0.2"}',
      )
      expect(bucket).toBe(0)

      // 6 good and 2 bad password checks (under the auth policy's 10 a minute).
      const login = async (password: string) => {
        const res = await fetch(`${airlock.url}/api/v1/tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'researcher', password }),
        })
        await res.arrayBuffer()
        return res.status
      }
      const mix = ['ok', 'ok', 'bad', 'ok', 'ok', 'bad', 'ok', 'ok']
      for (const m of mix)
        expect(await login(m === 'ok' ? 'airlock-demo' : 'wrong-password')).toBe(
          m === 'ok' ? 201 : 401,
        )
      await until('the logins', async () =>
        (await prom.query('sum(airlock_login_attempts_total{job="airlock"})'))[0] === mix.length
          ? true
          : undefined,
      )
      const share = 2 / 8
      await expectErrorRatio(prom, 'login-success', share)

      // Every dashboard query is one this Prometheus accepts (a rejected one throws in query());
      // the login panels of the Auth health and Business rows show the logins just made.
      const dashboard = generateDashboard((await loadConfig(REPO_ROOT, AIRLOCK_CONFIG_FILE)).config)
      for (const expr of dashboardExpressions(dashboard)) await prom.query(expr)
      const panel = (title: string) =>
        dashboard.panels.flatMap((p) =>
          p.title === title && 'targets' in p ? (p.targets ?? []).map((t) => t.expr) : [],
        )
      const [attempts] = panel('Login attempts per hour')
      const byOutcome = await prom.query(attempts as string)
      expect(byOutcome).toHaveLength(2)
      for (const v of byOutcome) expect(v).toBeGreaterThan(0)
      const [good, all] = panel('login-success: good and total events')
      expect((await prom.query(good as string))[0]).toBeGreaterThan(0)
      expect((await prom.query(all as string))[0]).toBeGreaterThan(
        (await prom.query(good as string))[0] as number,
      )
    } finally {
      prom.stop()
      await airlock.close()
    }
  }, 90_000)
})
