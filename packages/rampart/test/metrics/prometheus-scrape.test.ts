import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runTs } from '../support/child.js'
import { service } from '../support/services.js'

const PROMETHEUS = service('PROMETHEUS_BIN')
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

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error('timed out waiting for Prometheus')
    await new Promise((r) => setTimeout(r, 250))
  }
}

describe.skipIf(!PROMETHEUS)('a real Prometheus scraping the app', () => {
  it('returns the same http_requests_total the test sent', async () => {
    const app = runTs(SERVER)
    const appPort = await app.port
    const promPort = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'rampart-prom-'))
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:${appPort}']\n`,
    )
    const prom = spawn(
      PROMETHEUS as string,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: 'ignore' },
    )
    try {
      const sent = 23
      for (let i = 0; i < sent; i++) {
        const res = await fetch(`http://127.0.0.1:${appPort}/items/${i}`)
        expect(res.status).toBe(200)
      }
      const query = encodeURIComponent(
        'http_requests_total{method="GET",route="/items/:id",status="200"}',
      )
      const value = await until(async () => {
        const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${query}`)
        const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } }
        const v = body.data.result[0]?.value[1]
        return v === String(sent) ? v : undefined
      }, 30_000)
      expect(Number(value)).toBe(sent)
    } finally {
      prom.kill('SIGTERM')
      app.kill('SIGTERM')
      await app.exited
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
