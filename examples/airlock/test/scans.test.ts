import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropPrefix, seriesValue } from '../../../packages/rampart/test/jobs/support.js'
import {
  descendsFrom,
  type OtlpReceiver,
  startOtlpReceiver,
} from '../../../packages/rampart/test/support/otlp-receiver.js'
import { service } from '../../../packages/rampart/test/support/services.js'
import { startTcpProxy, type TcpProxy } from '../../../packages/rampart/test/support/tcp-proxy.js'
import { DEMO_PASSWORD, multipartFile, startAirlock, type TestAirlock } from './helpers.js'

const REDIS_URL = service('REDIS_URL')

interface FileView {
  id: string
  name: string
  scan: { status: string; findings: Array<{ row: number; column: string; value: string }> }
}

/** A researcher's API session against one airlock: create, upload, read back. */
async function researcherOf(t: TestAirlock) {
  const login = await t.app.inject({
    method: 'POST',
    url: '/api/v1/tokens',
    payload: { username: 'researcher', password: DEMO_PASSWORD },
  })
  const auth = { authorization: `Bearer ${login.json<{ token: string }>().token}` }
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/v1/requests',
    headers: auth,
    payload: { title: 'Tables', direction: 'egress', justification: 'Paper, table 1' },
  })
  const id = created.json<{ id: string }>().id
  return {
    id,
    /** Uploads one file; returns the answer's file entry and the request id it was served under. */
    async upload(name: string, content: string) {
      const file = multipartFile(name, content)
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/v1/requests/${id}/files`,
        headers: { ...auth, ...file.headers },
        payload: file.payload,
      })
      expect(res.statusCode).toBe(200)
      const entry = res.json<{ files: FileView[] }>().files.find((f) => f.name === name)
      return { file: entry as FileView, requestId: String(res.headers['x-request-id']) }
    },
    async files(): Promise<FileView[]> {
      const res = await t.app.inject({ url: `/api/v1/requests/${id}`, headers: auth })
      expect(res.statusCode).toBe(200)
      return res.json<{ files: FileView[] }>().files
    },
    /** Polls the API until no file is pending. */
    async settled(timeoutMs = 20_000): Promise<FileView[]> {
      const until = Date.now() + timeoutMs
      for (;;) {
        const files = await this.files()
        if (files.every((f) => f.scan.status !== 'pending')) return files
        if (Date.now() > until)
          throw new Error(`scans still pending: ${JSON.stringify(files.map((f) => f.scan))}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
  }
}

const FLAGGED = 'region,count,mean\nnorth,12,4.5\nsouth,3,7.25\neast, 10 ,2.5\n'
const CLEAN = 'region,count\nnorth,10\nsouth,12\neast,250\n'

async function metricsText(t: TestAirlock): Promise<string> {
  return (await t.app.inject({ url: '/metrics' })).body
}

describe('airlock output checks without Redis (in-process)', () => {
  let t: TestAirlock
  beforeAll(async () => {
    t = await startAirlock('sqlite')
  })
  afterAll(async () => {
    await t?.close()
  })

  it('flags small counts, passes the rest, fails unreadable tables, and counts every scan', async () => {
    const r = await researcherOf(t)
    const flagged = await r.upload('flagged.csv', FLAGGED)
    expect(flagged.file.scan).toEqual({ status: 'pending', findings: [] })
    const uploads = [
      flagged,
      await r.upload('clean.csv', CLEAN),
      await r.upload('counts.tsv', 'a\tb\n1\t20\n'),
      await r.upload('notes.txt', 'a 3 in prose is not a table cell'),
      await r.upload('broken.csv', 'a,b\n"unclosed,1\n'),
    ]
    const files = await r.settled()
    const byName = Object.fromEntries(files.map((f) => [f.name, f.scan]))
    expect(byName['flagged.csv']).toEqual({
      status: 'flagged',
      findings: [{ row: 3, column: 'count', value: '3' }],
    })
    expect(byName['clean.csv']).toEqual({ status: 'clean', findings: [] })
    expect(byName['counts.tsv']).toEqual({
      status: 'flagged',
      findings: [{ row: 2, column: 'a', value: '1' }],
    })
    expect(byName['notes.txt']).toEqual({ status: 'clean', findings: [] })
    expect(byName['broken.csv']).toMatchObject({ status: 'failed', findings: [] })
    expect(JSON.stringify(byName['broken.csv'])).not.toContain(t.dataDir)

    const text = await metricsText(t)
    const labels = { queue: 'scans', job_name: 'scan' }
    expect(seriesValue(text, 'job_runs_total', { ...labels, outcome: 'completed' })).toBe(5)
    expect(seriesValue(text, 'job_runs_total', { ...labels, outcome: 'failed' })).toBe(0)
    expect(seriesValue(text, 'job_wait_seconds_count', labels)).toBe(5)
    expect(seriesValue(text, 'job_duration_seconds_count', labels)).toBe(5)

    // One job.completed line per scan, each carrying the id of the upload that asked for it.
    const completed = t.logs.lines().filter((l) => l.event === 'job.completed')
    expect(completed.map((l) => l.request_id).sort()).toEqual(
      uploads.map((u) => u.requestId).sort(),
    )
    expect(completed.every((l) => l.queue === 'scans' && l.user_id !== undefined)).toBe(true)

    // The ops console lists the queue with its depth and its runs.
    const summary = await t.app.inject({ url: '/_rampart/api/summary' })
    expect(summary.json().queues).toEqual([
      {
        queue: 'scans',
        depth: { waiting: 0, active: 0, delayed: 0, failed: 0 },
        runs: { completed: 5, failed: 0, retried: 0, stalled: 0 },
      },
    ])
    const page = await t.app.inject({ url: '/_rampart' })
    expect(page.body).toContain('<h2>Queues (depth now; runs since start)</h2>')
    expect(page.body).toMatch(/<td>scans<\/td>(<td class="n">0<\/td>){4}<td class="n">5<\/td>/)
  })
})

describe.skipIf(!REDIS_URL)('airlock output checks on Redis (BullMQ)', () => {
  let t: TestAirlock
  let receiver: OtlpReceiver
  let proxy: TcpProxy
  const prefix = `airlock-test-${randomBytes(5).toString('hex')}`
  beforeAll(async () => {
    receiver = await startOtlpReceiver()
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url
    process.env.OTEL_BSP_SCHEDULE_DELAY = '20'
    // Redis through a proxy of the test's own: cutting it is the outage, Redis itself keeps running.
    const redis = new URL(REDIS_URL as string)
    proxy = await startTcpProxy(Number(redis.port || 6379), redis.hostname)
    t = await startAirlock(
      'sqlite',
      { scanResubmitMs: 500 },
      { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, QUEUE_PREFIX: prefix },
    )
  })
  afterAll(async () => {
    await t?.close()
    await proxy?.close()
    await receiver?.close()
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT
    await dropPrefix(REDIS_URL as string, prefix)
  })

  it('scans through the queue, in the trace of the upload that enqueued it', async () => {
    const r = await researcherOf(t)
    const flagged = await r.upload('flagged.csv', FLAGGED)
    const clean = await r.upload('clean.csv', CLEAN)
    const files = await r.settled()
    expect(files.find((f) => f.id === flagged.file.id)?.scan).toEqual({
      status: 'flagged',
      findings: [{ row: 3, column: 'count', value: '3' }],
    })
    expect(files.find((f) => f.id === clean.file.id)?.scan).toEqual({
      status: 'clean',
      findings: [],
    })

    const completed = t.logs.lines().filter((l) => l.event === 'job.completed')
    expect(completed.map((l) => l.request_id).sort()).toEqual(
      [flagged.requestId, clean.requestId].sort(),
    )
    const text = await metricsText(t)
    const labels = { queue: 'scans', job_name: 'scan' }
    expect(seriesValue(text, 'job_runs_total', { ...labels, outcome: 'completed' })).toBe(2)
    expect(seriesValue(text, 'job_wait_seconds_count', labels)).toBe(2)
    expect(seriesValue(text, 'job_duration_seconds_count', labels)).toBe(2)
    expect(seriesValue(text, 'queue_jobs', { queue: 'scans', state: 'waiting' })).toBe(0)

    // The consumer span is a child of the upload's server span: one trace at the collector.
    const line = completed.find((l) => l.request_id === flagged.requestId)
    await receiver.waitFor((s) =>
      s.some((x) => x.name === 'scans process' && x.traceId === line?.trace_id),
    )
    const spans = receiver.spans
    const consumer = spans.find((s) => s.name === 'scans process' && s.traceId === line?.trace_id)
    await receiver.waitFor((s) =>
      s.some(
        (x) => x.name === 'POST /api/v1/requests/:id/files' && x.traceId === consumer?.traceId,
      ),
    )
    const server = receiver.spans.find(
      (s) => s.name === 'POST /api/v1/requests/:id/files' && s.traceId === consumer?.traceId,
    )
    expect(descendsFrom(receiver.spans, consumer?.spanId, server?.spanId)).toBe(true)
    expect(consumer?.kind).toBe(5) // CONSUMER
    expect(consumer?.attributes).toMatchObject({
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'scans',
    })
  })

  it('keeps serving while Redis is cut: uploads answer pending, scans resume when it returns', async () => {
    const r = await researcherOf(t)
    proxy.cut()
    const during = await r.upload('during-outage.csv', FLAGGED)
    expect(during.file.scan.status).toBe('pending')
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect((await r.files()).find((f) => f.id === during.file.id)?.scan.status).toBe('pending')
    proxy.restore()
    const files = await r.settled(30_000)
    expect(files.find((f) => f.id === during.file.id)?.scan.status).toBe('flagged')
  })
})
