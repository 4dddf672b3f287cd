import type { Job, Queue, Worker } from 'bullmq'
import type { RedisOptions } from 'ioredis'
import { importPeer } from '../core/optional-peer.js'
import type { Rampart } from '../core/rampart.js'
import { attachTracing } from '../tracing/attach.js'
import { captureCarrier, withCarrier } from './carrier.js'
import { jobMetrics, QUEUE_STATES, type QueueState } from './metrics.js'
import { type AddOptions, JOB_DEFAULTS, type JobQueue, type JobWorker } from './queue.js'
import { type JobProcessor, JobRunner } from './run.js'
import { drain, withTimeout } from './timeouts.js'

/** Where a BullMQ queue lives. */
export interface BullmqConnection {
  /** `redis://…` (`REDIS_URL`). */
  url: string
  /** Namespaces every Redis key of the queue (`QUEUE_PREFIX`). Default `bull`, BullMQ's. */
  prefix?: string
  /** Extra ioredis options (TLS, timeouts). */
  redis?: RedisOptions
}

export interface BullmqQueueOptions extends BullmqConnection {
  /** Default attempts of a job. Default 3. */
  attempts?: number
  /** First retry delay, doubling (exponential backoff). Default 1000 ms. */
  backoffMs?: number
  /** How long `add` waits for Redis before it rejects. Default 2000 ms. */
  enqueueTimeoutMs?: number
}

export interface BullmqWorkerOptions extends BullmqConnection {
  /** Jobs one worker runs at once. Default 1. */
  concurrency?: number
  /**
   * How long a job's lock lasts without renewal (BullMQ default 30 s): a worker that died
   * mid-job is noticed, and the job run again, this long after its last renewal.
   */
  lockDurationMs?: number
  /** How often this worker looks for stalled jobs (BullMQ default 30 s). */
  stalledIntervalMs?: number
  /**
   * Stalls a job may have before BullMQ fails it for good (BullMQ default 1): a job that kills
   * its worker every time is not run forever. Counted `failed` by the worker that next takes it.
   */
  maxStalledCount?: number
  /** Report this queue's depth (`queue_jobs`) on this registry too. Default true. */
  reportDepth?: boolean
  /** When the core closes, running jobs get this long to finish. Default 10 000 ms. */
  drainTimeoutMs?: number
}

type BullmqModule = typeof import('bullmq')
type IORedisModule = typeof import('ioredis')

/** Loads BullMQ and ioredis on first use; one line naming the package when one is missing. */
async function load(): Promise<{ bullmq: BullmqModule; Redis: IORedisModule['Redis'] }> {
  const feature = 'background jobs on Redis (rampart/bullmq; in-process queues need nothing)'
  const bullmq = await importPeer<BullmqModule>('bullmq', feature)
  const { Redis } = await importPeer<IORedisModule>('ioredis', feature)
  return { bullmq, Redis }
}

/** At most one line a minute per queue for connection errors: an outage must not flood logs. */
function errorLogger(core: Rampart, queue: string, role: 'queue' | 'worker') {
  let last = 0
  let since = 0
  return (err: Error) => {
    since++
    const now = Date.now()
    if (now - last < 60_000) return
    last = now
    core.logger.warn(
      { event: 'job.backend_error', queue, role, errors: since, error: err.message },
      `${queue} ${role}: Redis error (${since} since the last line)`,
    )
    since = 0
  }
}

const depthOf = (queue: Queue) => async (): Promise<Record<QueueState, number>> => {
  // One Lua call answers every state: one round trip per queue and scrape, never one per job.
  const counts = await queue.getJobCounts(...QUEUE_STATES)
  return Object.fromEntries(QUEUE_STATES.map((s) => [s, counts[s] ?? 0])) as Record<
    QueueState,
    number
  >
}

/**
 * A BullMQ queue that enqueues with the current request's trace context, request id and user
 * (see `JobQueue.add`), and reports its depth on `queue_jobs` at scrape time. The producer's
 * connection fails fast (no offline queue): with Redis unreachable, `add` rejects within
 * `enqueueTimeoutMs` instead of holding the request. Closed with the core.
 *
 * @example
 * const scans = await createBullmqQueue(core, 'scans', { url: process.env.REDIS_URL, prefix: 'airlock' })
 * await scans.add('scan', { fileId }, { jobId: `scan-${fileId}` })
 */
export async function createBullmqQueue<T>(
  core: Rampart,
  name: string,
  options: BullmqQueueOptions,
): Promise<JobQueue<T>> {
  const { bullmq, Redis } = await load()
  const connection = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(100 * 2 ** attempt, 2000),
    ...options.redis,
  })
  const onError = errorLogger(core, name, 'queue')
  connection.on('error', onError)
  const queue = new bullmq.Queue(name, {
    connection,
    ...(options.prefix ? { prefix: options.prefix } : {}),
  })
  queue.on('error', onError)
  const removeDepth = jobMetrics(core.metrics).addDepthSource(name, depthOf(queue))
  const timeoutMs = options.enqueueTimeoutMs ?? JOB_DEFAULTS.enqueueTimeoutMs
  const attempts = options.attempts ?? JOB_DEFAULTS.attempts
  const backoffMs = options.backoffMs ?? JOB_DEFAULTS.backoffMs
  let closed: Promise<void> | undefined
  const close = () => {
    closed ??= (async () => {
      removeDepth()
      await queue.close().catch(() => {})
      connection.disconnect()
    })()
    return closed
  }
  core.onClose(`queue ${name}`, close)
  return {
    name,
    async add(jobName, data, add: AddOptions = {}) {
      const job = await withTimeout(
        queue.add(jobName, withCarrier(data, captureCarrier()), {
          attempts: add.attempts ?? attempts,
          backoff: { type: 'exponential', delay: backoffMs },
          // Finished jobs are kept for inspection, bounded: Redis memory must not grow forever.
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 5000 },
          ...(add.jobId ? { jobId: add.jobId } : {}),
          ...(add.delayMs ? { delay: add.delayMs } : {}),
        }),
        timeoutMs,
        `enqueueing on ${name}`,
      )
      return { id: String(job.id) }
    },
    close,
  }
}

/**
 * A BullMQ worker whose every run goes through `JobRunner` (metrics, logs, the enqueuing
 * request's context, a consumer span, error reports on the final failure), counting stalled
 * runs (`job_runs_total{outcome="stalled"}`) when this worker's stalled check finds one.
 * `close(deadlineMs)` stops taking jobs and waits for the running ones; past the deadline it
 * drops the connections and leaves the unfinished jobs locked: BullMQ runs them again once the
 * lock expires. Starts tracing for this core when it is on and not started yet (a worker
 * process has no web server to start it).
 *
 * @example
 * const worker = await createBullmqWorker(core, 'scans', scanFile, { url, prefix: 'airlock' })
 */
export async function createBullmqWorker<T>(
  core: Rampart,
  name: string,
  processor: JobProcessor<T>,
  options: BullmqWorkerOptions,
): Promise<JobWorker> {
  const { bullmq, Redis } = await load()
  await attachTracing(core)
  const runner = new JobRunner(core)
  const onError = errorLogger(core, name, 'worker')
  // BullMQ's blocking connection must retry forever (maxRetriesPerRequest: null).
  const connection = new Redis(options.url, {
    maxRetriesPerRequest: null,
    retryStrategy: (attempt: number) => Math.min(100 * 2 ** attempt, 2000),
    ...options.redis,
  })
  connection.on('error', onError)
  const prefix = options.prefix ? { prefix: options.prefix } : {}
  // Errors the processor threw (already counted by the runner), to tell them from failures
  // BullMQ decides without running the job.
  const thrown = new WeakSet<object>()
  const worker: Worker = new bullmq.Worker(
    name,
    (job: Job) =>
      runner
        .run(
          {
            queue: name,
            id: String(job.id),
            name: job.name,
            stored: job.data,
            attempt: Math.max(1, job.attemptsStarted ?? job.attemptsMade + 1),
            readyAt: job.timestamp + (job.opts.delay ?? 0),
            mayRetry: (err) =>
              !(err instanceof bullmq.UnrecoverableError) &&
              job.attemptsMade + 1 < (job.opts.attempts ?? 1),
            system: 'bullmq',
          },
          processor,
        )
        .catch((err: unknown) => {
          if (typeof err === 'object' && err !== null) thrown.add(err)
          throw err
        }),
    {
      connection,
      ...prefix,
      concurrency: options.concurrency ?? JOB_DEFAULTS.concurrency,
      ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
      ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
      ...(options.maxStalledCount !== undefined
        ? { maxStalledCount: options.maxStalledCount }
        : {}),
    },
  )
  worker.on('error', onError)
  worker.on('failed', (job: Job | undefined, err: Error) => {
    if (job === undefined || thrown.has(err)) return
    runner.failedUnrun(
      {
        queue: name,
        id: String(job.id),
        name: job.name,
        stored: job.data,
        attempt: Math.max(1, job.attemptsStarted),
      },
      err,
    )
  })
  worker.on('stalled', (jobId: string) => {
    // Rare (a worker died): one lookup for the job's name is fine here.
    bullmq.Job.fromId(worker as never, jobId).then(
      (job) => runner.stalled(name, job?.name ?? 'unknown', jobId),
      () => runner.stalled(name, 'unknown', jobId),
    )
  })
  let depthQueue: Queue | undefined
  let removeDepth = () => {}
  if (options.reportDepth ?? true) {
    depthQueue = new bullmq.Queue(name, { connection, ...prefix })
    depthQueue.on('error', onError)
    removeDepth = jobMetrics(core.metrics).addDepthSource(name, depthOf(depthQueue))
  }
  let closing: Promise<boolean> | undefined
  const close = (deadlineMs: number) => {
    closing ??= (async () => {
      removeDepth()
      const drained = await drain([worker.close()], deadlineMs)
      if (!drained)
        core.logger.warn(
          { event: 'job.drain_timed_out', queue: name, deadline_ms: deadlineMs },
          `${name}: jobs still running after ${deadlineMs} ms are left to BullMQ to run again`,
        )
      await depthQueue?.close().catch(() => {})
      connection.disconnect()
      return drained
    })()
    return closing
  }
  core.onClose(`worker ${name}`, async () => {
    await close(options.drainTimeoutMs ?? 10_000)
  })
  return {
    queue: name,
    close,
    async ping() {
      await withTimeout(connection.ping(), 1000, 'PING')
    },
  }
}
