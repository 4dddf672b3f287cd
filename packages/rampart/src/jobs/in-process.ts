import type { Rampart } from '../core/rampart.js'
import { captureCarrier, withCarrier } from './carrier.js'
import { jobMetrics, type QueueState } from './metrics.js'
import { type AddOptions, JOB_DEFAULTS, type JobQueue, type JobWorker } from './queue.js'
import { type JobProcessor, JobRunner } from './run.js'
import { drain } from './timeouts.js'

export interface InProcessOptions {
  /** Jobs run at once. Default 1. */
  concurrency?: number
  /** Default attempts of a job. Default 3. */
  attempts?: number
  /** First retry delay, doubling. Default 1000 ms. */
  backoffMs?: number
  /** `add` rejects beyond this many waiting jobs. Default 10 000. */
  maxWaiting?: number
}

interface Pending {
  id: string
  name: string
  stored: unknown
  attempts: number
  attempt: number
  readyAt: number
}

/**
 * A queue in this process's memory with a worker attached: for services run without Redis
 * (development, tests, a single replica that may lose queued work on a crash). Jobs run through
 * the same `JobRunner` as BullMQ's, so metrics, logs, traces and error reports are the same;
 * retries back off exponentially. Not durable: jobs still waiting when the process stops are lost
 * (counted in the `job.abandoned` line at close).
 *
 * @example
 * const scans = createInProcessQueue(core, 'scans', async (job) => scan(job.data))
 * await scans.add('scan', { fileId })
 */
export function createInProcessQueue<T>(
  core: Rampart,
  name: string,
  processor: JobProcessor<T>,
  options: InProcessOptions = {},
): JobQueue<T> & JobWorker {
  const concurrency = options.concurrency ?? JOB_DEFAULTS.concurrency
  const defaultAttempts = options.attempts ?? JOB_DEFAULTS.attempts
  const backoffMs = options.backoffMs ?? JOB_DEFAULTS.backoffMs
  const maxWaiting = options.maxWaiting ?? JOB_DEFAULTS.maxWaiting
  const runner = new JobRunner(core)
  const waiting: Pending[] = []
  const delayed = new Set<NodeJS.Timeout>()
  const ids = new Set<string>()
  const running = new Set<Promise<void>>()
  let failed = 0
  let seq = 0
  let closed = false

  const removeDepth = jobMetrics(core.metrics).addDepthSource(name, async () => {
    const counts: Record<QueueState, number> = {
      waiting: waiting.length,
      active: running.size,
      delayed: delayed.size,
      failed,
    }
    return counts
  })

  const later = (job: Pending, ms: number) => {
    const timer = setTimeout(() => {
      delayed.delete(timer)
      waiting.push(job)
      pump()
    }, ms)
    timer.unref()
    delayed.add(timer)
  }

  const start = (job: Pending) => {
    const done = runner
      .run(
        {
          queue: name,
          id: job.id,
          name: job.name,
          stored: job.stored,
          attempt: job.attempt,
          readyAt: job.readyAt,
          mayRetry: () => job.attempt < job.attempts && !closed,
          system: 'rampart',
        },
        processor,
      )
      .then(
        () => {
          ids.delete(job.id)
        },
        () => {
          if (job.attempt < job.attempts && !closed) {
            const wait = backoffMs * 2 ** (job.attempt - 1)
            later({ ...job, attempt: job.attempt + 1, readyAt: Date.now() + wait }, wait)
          } else {
            failed++
            ids.delete(job.id)
          }
        },
      )
      .finally(() => {
        running.delete(done)
        pump()
      })
    running.add(done)
  }

  const pump = () => {
    while (!closed && running.size < concurrency && waiting.length > 0)
      start(waiting.shift() as Pending)
  }

  const queue: JobQueue<T> & JobWorker = {
    name,
    queue: name,
    async add(jobName: string, data: T, add: AddOptions = {}) {
      if (closed) throw new Error(`queue ${name} is closed`)
      const id = add.jobId ?? `${++seq}`
      if (ids.has(id)) return { id }
      if (waiting.length >= maxWaiting)
        throw new Error(`queue ${name} is full (${maxWaiting} jobs waiting)`)
      ids.add(id)
      const delay = add.delayMs ?? 0
      const job: Pending = {
        id,
        name: jobName,
        stored: withCarrier(data, captureCarrier()),
        attempts: add.attempts ?? defaultAttempts,
        attempt: 1,
        readyAt: Date.now() + delay,
      }
      // Started from a timer, not from the caller's async context: the job gets its own.
      if (delay > 0) later(job, delay)
      else {
        waiting.push(job)
        setImmediate(pump)
      }
      return { id }
    },
    async ping() {},
    async close(deadlineMs: number = 10_000): Promise<boolean> {
      if (!closed) {
        closed = true
        removeDepth()
        for (const t of delayed) clearTimeout(t)
        const lost = waiting.length + delayed.size
        delayed.clear()
        waiting.length = 0
        if (lost > 0)
          core.logger.warn(
            { event: 'job.abandoned', queue: name, jobs: lost },
            `${lost} ${name} jobs were still waiting in memory at shutdown and are lost`,
          )
      }
      return drain([...running], deadlineMs)
    },
  }
  // Closed with the core too (idempotent): no job starts after the logger and the audit log
  // close, and the waiting ones are counted in \`job.abandoned\`.
  core.onClose(`queue ${name}`, async () => {
    await queue.close()
  })
  return queue
}
