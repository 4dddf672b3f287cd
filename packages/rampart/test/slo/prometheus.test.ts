import { type ChildProcess, spawn } from 'node:child_process'
import { cpSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runTs } from '../support/child.js'
import { service } from '../support/services.js'
import { REPO_ROOT, tempDir } from './support.js'

const PROMETHEUS = service('PROMETHEUS_BIN')
// A Fastify app with rampart/fastify and a route that answers 500: it stands in for airlock,
// which has no route that fails on demand; the rules are airlock's generated ops/ rules.
const SERVER = new URL('../fixtures/slow-server.ts', import.meta.url).pathname

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 40_000,
): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

describe.skipIf(!PROMETHEUS)("a real Prometheus with airlock's generated rules", () => {
  it('records an error ratio equal to the share of 5xx the test sent', async () => {
    const app = runTs(SERVER)
    const dir = tempDir()
    let prom: ChildProcess | undefined
    try {
      const appPort = await app.port
      const promPort = await freePort()
      cpSync(join(REPO_ROOT, 'ops/rules/airlock.rules.yml'), join(dir, 'airlock.rules.yml'))
      writeFileSync(
        join(dir, 'prometheus.yml'),
        `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [airlock.rules.yml]\nscrape_configs:\n  - job_name: airlock\n    static_configs:\n      - targets: ['127.0.0.1:${appPort}']\n`,
      )
      prom = spawn(
        PROMETHEUS as string,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
        ],
        { stdio: 'ignore' },
      )
      const query = async (q: string) => {
        const res = await fetch(
          `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`,
        )
        const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } }
        return body.data.result.map((r) => Number(r.value[1]))
      }
      const get = (path: string) =>
        fetch(`http://127.0.0.1:${appPort}${path}`).then((r) => r.status)
      await until('the first scrape', async () =>
        (await query('up{job="airlock"}'))[0] === 1 ? true : undefined,
      )

      // Create both series and let Prometheus scrape them first: rate() cannot see increments
      // that happened before a series' first sample (research note, pitfall 5).
      for (let i = 0; i < 20; i++)
        expect([await get('/items/1'), await get('/boom')]).toEqual([200, 500])
      await until('the warm-up', async () =>
        (await query('sum(http_requests_total{job="airlock"})'))[0] === 40 ? true : undefined,
      )
      await new Promise((r) => setTimeout(r, 3000))

      const ok = 75
      const failed = 25
      for (let i = 0; i < ok + failed; i++)
        expect(await get(i % 4 === 3 ? '/boom' : `/items/${i}`)).toBe(i % 4 === 3 ? 500 : 200)
      await until('the traffic', async () =>
        (await query('sum(http_requests_total{job="airlock"})'))[0] === 140 ? true : undefined,
      )

      const share = failed / (ok + failed)
      const sel = '{rampart_service="airlock",rampart_slo="availability"}'
      const ratio = await until('the recording rule', async () => {
        const [v] = await query(`slo:sli_error:ratio_rate5m${sel}`)
        return v !== undefined && Math.abs(v - share) < 1e-9 ? v : undefined
      })
      expect(ratio).toBeCloseTo(share, 9)
      const [hour] = await query(`slo:sli_error:ratio_rate1h${sel}`)
      expect(hour).toBeCloseTo(share, 9)
    } finally {
      prom?.kill('SIGTERM')
      app.kill('SIGTERM')
      await app.exited
      rmSync(dir, { recursive: true, force: true })
    }
  }, 90_000)
})
