import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { ErrorContext, ErrorReporter } from '../../src/error-tracking/reporter.js'
import { createRampart, type Rampart } from '../../src/index.js'
import { createContext, runWithContext } from '../../src/internal.js'
import {
  createBullmqQueue,
  createBullmqWorker,
  createInProcessQueue,
  type JobQueue,
} from '../../src/jobs/index.js'
import { type LogCapture, logCapture } from '../support/log-capture.js'
import { service } from '../support/services.js'
import { dropPrefix, eventually, seriesValue, uniquePrefix } from './support.js'

const REDIS_URL = service('REDIS_URL')

/** A reporter that keeps what it is given. */
function recordingReporter(): ErrorReporter & { reports: Array<[unknown, ErrorContext?]> } {
  const reports: Array<[unknown, ErrorContext?]> = []
  return {
    enabled: true,
    reports,
    capture: (e, c) => reports.push([e, c]),
    flush: async () => true,
  }
}

const dirs: string[] = []

function makeCore(logs: LogCapture): Rampart {
  const dataDir = mkdtempSync(join(tmpdir(), 'rampart-jobs-'))
  dirs.push(dataDir)
  return createRampart(
    {
      service: 'jobs-test',
      logDestination: logs.stream,
      logLevel: 'info',
      nodeEnv: 'test',
      dataDir,
    },
    {},
  )
}

/** Enqueues inside a request whose id and user are known. */
function inRequest<T>(requestId: string, userId: string, fn: () => Promise<T>): Promise<T> {
  const ctx = createContext(requestId)
  ctx.userId = userId
  return runWithContext(ctx, fn)
}

const lines = (logs: LogCapture, event: string) => logs.lines().filter((l) => l.event === event)

const prefixes: string[] = []
let cores: Rampart[] = []
afterEach(async () => {
  await Promise.all(cores.map((c) => c.close()))
  cores = []
})
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  if (REDIS_URL) for (const p of prefixes) await dropPrefix(REDIS_URL, p)
})

type Backend = (
  core: Rampart,
  processor: (job: { data: { n: number } }) => Promise<unknown>,
  attempts?: number,
) => Promise<JobQueue<{ n: number }>>

const backends: Array<[string, Backend | undefined]> = [
  [
    'BullMQ on Redis',
    REDIS_URL
      ? async (core, processor, attempts) => {
          const prefix = uniquePrefix()
          prefixes.push(prefix)
          await createBullmqWorker(core, 'q', processor, { url: REDIS_URL, prefix })
          return createBullmqQueue(core, 'q', {
            url: REDIS_URL,
            prefix,
            backoffMs: 50,
            ...(attempts ? { attempts } : {}),
          })
        }
      : undefined,
  ],
  [
    'the in-process queue',
    async (core, processor, attempts) =>
      createInProcessQueue(core, 'q', processor, {
        backoffMs: 50,
        ...(attempts ? { attempts } : {}),
      }),
  ],
]

describe.each(backends)('jobs on %s', (_name, backend) => {
  it.skipIf(!backend)('counts, times and logs each run with the enqueuing request', async () => {
    const logs = logCapture()
    const core = makeCore(logs)
    cores.push(core)
    const seen: Array<{ request_id?: unknown }> = []
    const queue = await (backend as Backend)(core, async (job) => {
      // The processor runs in the enqueuing request's context: its own lines and audit rows carry it.
      core.logger.info({ event: 'scan.working', n: job.data.n })
      await core.audit.record({ action: 'scan.checked', target: `n:${job.data.n}` })
      return job.data.n
    })
    await inRequest('req-upload-1', 'user-7', async () => {
      for (const n of [1, 2, 3]) await queue.add('scan', { n })
    })
    await eventually(() => (lines(logs, 'job.completed').length === 3 ? true : undefined))
    const done = lines(logs, 'job.completed')
    for (const line of done) {
      expect(line).toMatchObject({
        queue: 'q',
        job: 'scan',
        attempt: 1,
        request_id: 'req-upload-1',
        user_id: 'user-7',
      })
      expect(typeof line.job_id).toBe('string')
      expect(line.duration_ms).toBeGreaterThanOrEqual(0)
      seen.push(line)
    }
    expect(new Set(done.map((l) => l.job_id)).size).toBe(3)
    expect(lines(logs, 'scan.working').every((l) => l.request_id === 'req-upload-1')).toBe(true)
    const rows = await (await core.audit.store()).readPage(0, 10)
    expect(rows.map((r) => [r.action, r.request_id, r.actor])).toEqual([
      ['scan.checked', 'req-upload-1', 'user-7'],
      ['scan.checked', 'req-upload-1', 'user-7'],
      ['scan.checked', 'req-upload-1', 'user-7'],
    ])
    const { body } = await core.metrics.render()
    const labels = { queue: 'q', job_name: 'scan' }
    expect(seriesValue(body, 'job_runs_total', { ...labels, outcome: 'completed' })).toBe(3)
    expect(seriesValue(body, 'job_runs_total', { ...labels, outcome: 'failed' })).toBe(0)
    expect(seriesValue(body, 'job_wait_seconds_count', labels)).toBe(3)
    expect(seriesValue(body, 'job_duration_seconds_count', labels)).toBe(3)
    expect(seriesValue(body, 'queue_jobs', { queue: 'q', state: 'waiting' })).toBe(0)
    expect(seriesValue(body, 'queue_jobs', { queue: 'q', state: 'active' })).toBe(0)
  })

  it.skipIf(!backend)('counts retries, and reports only the final failure, once', async () => {
    const logs = logCapture()
    const core = makeCore(logs)
    const reporter = recordingReporter()
    ;(core as { errors: ErrorReporter }).errors = reporter
    cores.push(core)
    const queue = await (backend as Backend)(
      core,
      async () => {
        throw new Error('scanner exploded')
      },
      2,
    )
    await inRequest('req-upload-2', 'user-8', () => queue.add('scan', { n: 1 }))
    await eventually(() => (lines(logs, 'job.failed').length === 2 ? true : undefined))
    await new Promise((r) => setTimeout(r, 300))
    const failed = lines(logs, 'job.failed')
    expect(failed.map((l) => [l.attempt, l.will_retry, l.level])).toEqual([
      [1, true, 'warn'],
      [2, false, 'error'],
    ])
    expect(failed[1]).toMatchObject({ request_id: 'req-upload-2', user_id: 'user-8' })
    expect(reporter.reports).toHaveLength(1)
    expect(String(reporter.reports[0]?.[0])).toBe('Error: scanner exploded')
    expect(reporter.reports[0]?.[1]?.tags).toMatchObject({
      queue: 'q',
      job: 'scan',
      request_id: 'req-upload-2',
    })
    expect(reporter.reports[0]?.[1]?.user).toBe(core.fingerprint('user-8'))
    const { body } = await core.metrics.render()
    const labels = { queue: 'q', job_name: 'scan' }
    expect(seriesValue(body, 'job_runs_total', { ...labels, outcome: 'retried' })).toBe(1)
    expect(seriesValue(body, 'job_runs_total', { ...labels, outcome: 'failed' })).toBe(1)
    expect(seriesValue(body, 'job_runs_total', { ...labels, outcome: 'completed' })).toBe(0)
    expect(seriesValue(body, 'queue_jobs', { queue: 'q', state: 'failed' })).toBe(1)
  })
})
