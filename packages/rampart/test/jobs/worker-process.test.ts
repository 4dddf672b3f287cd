import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createRampart, type Rampart } from '../../src/index.js'
import { createBullmqQueue, type JobQueue } from '../../src/jobs/index.js'
import { type Child, runTs } from '../support/child.js'
import { logCapture } from '../support/log-capture.js'
import { service } from '../support/services.js'
import { dropPrefix, eventually, seriesValue, uniquePrefix } from './support.js'

const REDIS_URL = service('REDIS_URL')
const FIXTURE = fileURLToPath(new URL('../fixtures/job-worker.ts', import.meta.url))
const prefixes: string[] = []
const children: Child[] = []
let core: Rampart | undefined

/** A worker process on a queue of its own prefix; resolves once it serves /readyz. */
async function startWorker(prefix: string, env: Record<string, string> = {}) {
  const child = runTs(FIXTURE, {
    REDIS_URL: REDIS_URL as string,
    QUEUE_PREFIX: prefix,
    JOB_QUEUE: 'work',
    ...env,
  })
  children.push(child)
  const port = await child.port
  return { child, url: `http://127.0.0.1:${port}` }
}

/** Lines of a child's JSON log with this event. */
function events(child: Child, event: string): Array<Record<string, unknown>> {
  return child
    .stdoutText()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.event === event)
}

async function producer(prefix: string): Promise<JobQueue<{ ms: number }>> {
  core ??= createRampart({ service: 'producer', logDestination: logCapture().stream }, {})
  return createBullmqQueue(core, 'work', { url: REDIS_URL as string, prefix })
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
})
afterAll(async () => {
  await core?.close()
  if (REDIS_URL && !process.env.KEEP_KEYS) for (const p of prefixes) await dropPrefix(REDIS_URL, p)
})

describe.skipIf(!REDIS_URL)('a worker run as its own process', () => {
  it('serves /healthz, /readyz (Redis reachable) and /metrics with the job metrics', async () => {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    const { url, child } = await startWorker(prefix)
    const queue = await producer(prefix)
    await queue.add('sleep', { ms: 10 })
    await eventually(() => (events(child, 'job.completed').length === 1 ? true : undefined))
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    const ready = await fetch(`${url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: 'ok', checks: { redis: 'ok' } })
    const metrics = await (await fetch(`${url}/metrics`)).text()
    const labels = { queue: 'work', job_name: 'sleep' }
    expect(seriesValue(metrics, 'job_runs_total', { ...labels, outcome: 'completed' })).toBe(1)
    expect(seriesValue(metrics, 'job_duration_seconds_count', labels)).toBe(1)
    expect(seriesValue(metrics, 'queue_jobs', { queue: 'work', state: 'waiting' })).toBe(0)
    expect((await fetch(`${url}/nope`)).status).toBe(404)
  })

  it('SIGTERM with a job running: the job completes and the process exits 0 within the deadline', async () => {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    const { child } = await startWorker(prefix, { DRAIN_MS: '10000' })
    const queue = await producer(prefix)
    await queue.add('sleep', { ms: 1500 })
    await eventually(() => (events(child, 'job.working').length === 1 ? true : undefined))
    const signalled = Date.now()
    child.kill('SIGTERM')
    expect(await child.exited).toBe(0)
    expect(Date.now() - signalled).toBeLessThan(10_000)
    expect(events(child, 'job.completed')).toHaveLength(1)
    expect(events(child, 'service.stopping')).toHaveLength(1)
  })

  it('SIGTERM past the drain deadline: exit 1, and the job is run again by another worker', async () => {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    // The stalled check is one per queue, paced by the last worker that ran it: every worker of
    // the test checks often.
    const first = await startWorker(prefix, { DRAIN_MS: '300', LOCK_MS: '1000', STALLED_MS: '500' })
    const queue = await producer(prefix)
    await queue.add('sleep', { ms: 4000 })
    await eventually(() => (events(first.child, 'job.working').length === 1 ? true : undefined))
    first.child.kill('SIGTERM')
    expect(await first.child.exited).toBe(1)
    expect(events(first.child, 'job.completed')).toHaveLength(0)
    const second = await startWorker(prefix, { LOCK_MS: '1000', STALLED_MS: '500' })
    await eventually(
      () => (events(second.child, 'job.completed').length === 1 ? true : undefined),
      20_000,
      'the abandoned job completing on the second worker',
    )
  })

  it('SIGKILL mid-job: another worker runs it again, it completes once, one stalled and one completed', async () => {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    const first = await startWorker(prefix, { LOCK_MS: '1000', STALLED_MS: '500' })
    const queue = await producer(prefix)
    await queue.add('sleep', { ms: 3000 })
    await eventually(() => (events(first.child, 'job.working').length === 1 ? true : undefined))
    first.child.kill('SIGKILL')
    await first.child.exited
    const second = await startWorker(prefix, { LOCK_MS: '1000', STALLED_MS: '500' })
    await eventually(
      () => (events(second.child, 'job.completed').length === 1 ? true : undefined),
      20_000,
      'the killed job completing on the second worker',
    )
    expect(events(first.child, 'job.completed')).toHaveLength(0)
    expect(events(second.child, 'job.stalled')).toHaveLength(1)
    const metrics = await (await fetch(`${second.url}/metrics`)).text()
    const labels = { queue: 'work', job_name: 'sleep' }
    expect(seriesValue(metrics, 'job_runs_total', { ...labels, outcome: 'stalled' })).toBe(1)
    expect(seriesValue(metrics, 'job_runs_total', { ...labels, outcome: 'completed' })).toBe(1)
    // Nothing else runs it: a little later there is still exactly one completion.
    await new Promise((r) => setTimeout(r, 1500))
    expect(events(second.child, 'job.completed')).toHaveLength(1)
  })

  it('a job that stalls past maxStalledCount fails for good on the next worker, counted and logged once, never run again', async () => {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    const env = { LOCK_MS: '1000', STALLED_MS: '500', MAX_STALLED: '0' }
    const first = await startWorker(prefix, env)
    const queue = await producer(prefix)
    await queue.add('sleep', { ms: 3000 })
    await eventually(() => (events(first.child, 'job.working').length === 1 ? true : undefined))
    first.child.kill('SIGKILL')
    await first.child.exited
    const second = await startWorker(prefix, env)
    const failed = await eventually(
      () => {
        const lines = events(second.child, 'job.failed')
        return lines.length === 1 ? lines[0] : undefined
      },
      20_000,
      'the stalled job failing on the second worker',
    )
    expect(failed).toMatchObject({ level: 'error', will_retry: false, queue: 'work', job: 'sleep' })
    expect(JSON.stringify(failed.err)).toContain('stalled more than allowable limit')
    expect(events(second.child, 'job.working')).toHaveLength(0)
    const metrics = await (await fetch(`${second.url}/metrics`)).text()
    const labels = { queue: 'work', job_name: 'sleep' }
    expect(seriesValue(metrics, 'job_runs_total', { ...labels, outcome: 'stalled' })).toBe(1)
    expect(seriesValue(metrics, 'job_runs_total', { ...labels, outcome: 'failed' })).toBe(1)
    expect(seriesValue(metrics, 'job_runs_total', { ...labels, outcome: 'completed' })).toBe(0)
  })
})
