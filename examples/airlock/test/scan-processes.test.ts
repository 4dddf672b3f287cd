import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { dropPrefix, seriesValue } from '../../../packages/rampart/test/jobs/support.js'
import { freePort } from '../../../packages/rampart/test/support/free-port.js'
import { service } from '../../../packages/rampart/test/support/services.js'
import { DEMO_PASSWORD, multipartFile } from './helpers.js'

const REDIS_URL = service('REDIS_URL')
const SRC = new URL('../src/', import.meta.url).pathname
const dirs: string[] = []
const children: ChildProcess[] = []
const prefixes: string[] = []

type Proc = ChildProcess & { lines(event: string): Array<Record<string, unknown>> }

/** `npm start` (main.ts) or `npm run worker` (worker.ts) as a child, JSON logs kept. */
function run(file: 'main.ts' | 'worker.ts', env: Record<string, string>): Proc {
  const child = spawn(
    process.execPath,
    ['--conditions=rampart-source', '--import', 'tsx', join(SRC, file)],
    {
      env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  children.push(child)
  let out = ''
  child.stdout?.on('data', (d) => {
    out += d
  })
  child.stderr?.on('data', (d) => {
    out += d
  })
  return Object.assign(child, {
    lines: (event: string) =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.event === event),
  })
}

async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`${what}: not reached in ${ms} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Logs in as the researcher, creates a request, uploads `content`; polls until scanned. */
async function uploadAndScan(base: string, content: string) {
  await until(
    async () => ((await fetch(`${base}/healthz`).catch(() => undefined))?.ok ? true : undefined),
    'web up',
  )
  const tokenRes = await fetch(`${base}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'researcher', password: DEMO_PASSWORD }),
  })
  const auth = { authorization: `Bearer ${((await tokenRes.json()) as { token: string }).token}` }
  const created = await fetch(`${base}/api/v1/requests`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'T', direction: 'egress', justification: 'J' }),
  })
  const id = ((await created.json()) as { id: string }).id
  const file = multipartFile('table.csv', content)
  const uploaded = await fetch(`${base}/api/v1/requests/${id}/files`, {
    method: 'POST',
    headers: { ...auth, ...file.headers },
    body: file.payload,
  })
  expect(uploaded.status).toBe(200)
  const requestId = uploaded.headers.get('x-request-id')
  const scan = await until(async () => {
    const r = await fetch(`${base}/api/v1/requests/${id}`, { headers: auth })
    const s = ((await r.json()) as { files: Array<{ scan: { status: string } }> }).files[0]?.scan
    return s && s.status !== 'pending' ? s : undefined
  }, 'scan done')
  return { scan, requestId }
}

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'airlock-scan-'))
  dirs.push(d)
  return d
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
})
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  if (REDIS_URL) for (const p of prefixes) await dropPrefix(REDIS_URL, p)
})

describe('airlock scans across processes', () => {
  it('npm start without REDIS_URL scans in-process', async () => {
    const port = await freePort()
    const web = run('main.ts', { PORT: String(port), DATA_DIR: dataDir() })
    const { scan, requestId } = await uploadAndScan(`http://127.0.0.1:${port}`, 'a,n\nx,3\n')
    expect(scan).toEqual({ status: 'flagged', findings: [{ row: 2, column: 'n', value: '3' }] })
    // The run's line is written once the processor returned, just after the result is stored.
    await until(() => (web.lines('job.completed').length > 0 ? true : undefined), 'job line')
    expect(web.lines('job.completed').map((l) => l.request_id)).toEqual([requestId])
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    expect(
      seriesValue(metrics, 'job_runs_total', {
        queue: 'scans',
        job_name: 'scan',
        outcome: 'completed',
      }),
    ).toBe(1)
  })

  it.skipIf(!REDIS_URL)(
    'AIRLOCK_WORKER=off on the web process and `npm run worker`: the worker process scans',
    async () => {
      const prefix = `airlock-test-${randomBytes(5).toString('hex')}`
      prefixes.push(prefix)
      const [port, workerPort] = [await freePort(), await freePort()]
      const shared = { DATA_DIR: dataDir(), REDIS_URL: REDIS_URL as string, QUEUE_PREFIX: prefix }
      const web = run('main.ts', { ...shared, PORT: String(port), AIRLOCK_WORKER: 'off' })
      const worker = run('worker.ts', { ...shared, WORKER_PORT: String(workerPort) })
      await until(
        () => (worker.lines('service.ready').length > 0 ? true : undefined),
        'worker ready',
      )
      const { scan, requestId } = await uploadAndScan(`http://127.0.0.1:${port}`, 'a,n\nx,30\n')
      expect(scan).toEqual({ status: 'clean', findings: [] })
      // The worker did the scan, in the upload request's context; the web process did none.
      await until(() => (worker.lines('job.completed').length > 0 ? true : undefined), 'job line')
      expect(worker.lines('job.completed').map((l) => l.request_id)).toEqual([requestId])
      expect(web.lines('job.completed')).toEqual([])
      const workerMetrics = await (await fetch(`http://127.0.0.1:${workerPort}/metrics`)).text()
      expect(
        seriesValue(workerMetrics, 'job_runs_total', {
          queue: 'scans',
          job_name: 'scan',
          outcome: 'completed',
        }),
      ).toBe(1)
      expect((await fetch(`http://127.0.0.1:${workerPort}/readyz`)).status).toBe(200)
      worker.kill('SIGTERM')
      expect(await new Promise((r) => worker.once('exit', r))).toBe(0)
    },
  )
})
