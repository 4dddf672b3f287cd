import { createContext, type RequestContext, runWithContext } from '../context/context.js'
import type { Rampart } from '../core/rampart.js'
import { tracingRuntime } from '../tracing/state.js'
import type { ConsumerSpan } from '../tracing/types.js'
import { type JobCarrier, splitCarrier } from './carrier.js'
import { jobMetrics } from './metrics.js'

/** What a processor is given: the job's own data (the carrier removed) and where it stands. */
export interface JobInfo<T = unknown> {
  readonly id: string
  /** The job's name within its queue (`scan`), as given to `add`. */
  readonly name: string
  readonly queue: string
  readonly data: T
  /** 1 for the first run; a retry or a run after a stall counts up. */
  readonly attempt: number
}

/** The work of one queue. A throw or rejection fails the run (retried while attempts remain). */
export type JobProcessor<T = unknown, R = unknown> = (job: JobInfo<T>) => Promise<R> | R

/** One run as a queue backend hands it over. */
export interface RunRequest {
  queue: string
  id: string
  name: string
  /** The data as stored, carrier included. */
  stored: unknown
  attempt: number
  /** False when a failure of this run is final (no attempt left, or unrecoverable). */
  mayRetry(error: unknown): boolean
  /** When the job became runnable (enqueued, or its delay ended), epoch ms. */
  readyAt: number
  /** `messaging.system` of the consumer span: `bullmq`, or `rampart` for the in-process queue. */
  system: string
}

/**
 * Runs jobs the same way whatever queue feeds them: the enqueuing request's context restored
 * (its `request_id` and `user_id` on every line the processor logs, audit rows included), a
 * consumer span parented on the enqueuing trace, `job_runs_total`, `job_wait_seconds` and
 * `job_duration_seconds`, one `job.completed` or `job.failed` line, and the final failure (never
 * a retried one) reported to error tracking.
 */
export class JobRunner {
  readonly #core: Rampart
  readonly #metrics: ReturnType<typeof jobMetrics>

  constructor(core: Rampart) {
    this.#core = core
    this.#metrics = jobMetrics(core.metrics)
  }

  /** Counts a run that stopped without an answer (its worker died) and was put back in the queue. */
  stalled(queue: string, jobName: string, jobId: string): void {
    this.#metrics.series(queue, jobName).outcome.stalled.inc()
    this.#core.logger.warn(
      { event: 'job.stalled', queue, job: jobName, job_id: jobId },
      'a job run stopped without finishing (its worker died or blocked); it is run again',
    )
  }

  /**
   * Counts, logs and reports a job the queue failed for good without running it (BullMQ fails
   * a job that stalled more than `maxStalledCount` times when a worker next picks it up), in the
   * enqueuing request's context.
   */
  failedUnrun(req: Omit<RunRequest, 'mayRetry' | 'readyAt' | 'system'>, error: unknown): void {
    const { ctx } = jobContext(req)
    this.#metrics.series(req.queue, req.name).outcome.failed.inc()
    runWithContext(ctx, () => {
      const fields = { job_id: req.id, queue: req.queue, job: req.name, attempt: req.attempt }
      this.#core.logger.error(
        { event: 'job.failed', ...fields, will_retry: false, err: error },
        `${req.queue} job failed for good without running`,
      )
      this.#report(error, req, ctx, undefined)
    })
  }

  #report(
    error: unknown,
    req: { queue: string; name: string; id: string; attempt: number },
    ctx: RequestContext,
    span: ConsumerSpan | undefined,
  ): void {
    const core = this.#core
    if (!core.errors.enabled) return
    core.errors.capture(error, {
      tags: { queue: req.queue, job: req.name, job_id: req.id, request_id: ctx.requestId },
      extra: { attempt: req.attempt },
      ...(ctx.userId === undefined ? {} : { user: core.fingerprint(ctx.userId) }),
      ...(span ? { traceId: span.traceId, spanId: span.spanId } : {}),
    })
  }

  /** Runs `processor` on one job; resolves or rejects as the processor did. */
  run<T, R>(req: RunRequest, processor: JobProcessor<T, R>): Promise<R> {
    const core = this.#core
    const series = this.#metrics.series(req.queue, req.name)
    const { ctx, data, carrier } = jobContext<T>(req)
    const waitSeconds = Math.max(0, Date.now() - req.readyAt) / 1000
    return runWithContext(ctx, async () => {
      const span = tracingRuntime()?.startConsumerSpan(
        `${req.queue} process`,
        consumerAttributes(req),
        carrierOf(carrier),
        ctx,
      )
      const exemplar = span ? { trace_id: span.traceId } : undefined
      series.wait.observe(waitSeconds, exemplar)
      const started = performance.now()
      const fields = { job_id: req.id, queue: req.queue, job: req.name, attempt: req.attempt }
      try {
        const result = await processor({
          id: req.id,
          name: req.name,
          queue: req.queue,
          data,
          attempt: req.attempt,
        })
        const ms = performance.now() - started
        series.duration.observe(ms / 1000, exemplar)
        series.outcome.completed.inc()
        core.logger.info(
          { event: 'job.completed', ...fields, duration_ms: round(ms) },
          `${req.queue} job done`,
        )
        return result
      } catch (err) {
        const ms = performance.now() - started
        const retry = req.mayRetry(err)
        series.duration.observe(ms / 1000, exemplar)
        ;(retry ? series.outcome.retried : series.outcome.failed).inc()
        span?.recordError(err)
        const line = {
          event: 'job.failed',
          ...fields,
          duration_ms: round(ms),
          will_retry: retry,
          err,
        }
        if (retry) core.logger.warn(line, `${req.queue} job failed; it will be retried`)
        else {
          core.logger.error(line, `${req.queue} job failed for good`)
          this.#report(err, req, ctx, span)
        }
        throw err
      } finally {
        span?.end()
      }
    })
  }
}

/** The context a job runs in: the enqueuing request's id and user, else an id of its own. */
function jobContext<T>(req: { queue: string; id: string; stored: unknown }): {
  ctx: RequestContext
  data: T
  carrier: JobCarrier
} {
  const { data, carrier } = splitCarrier(req.stored as T)
  const ctx = createContext(carrier.request_id ?? `job-${req.queue}-${req.id}`)
  ctx.userId = carrier.user_id
  return { ctx, data, carrier }
}

/** Messaging semantic conventions of a consumer span (`process` operation). */
function consumerAttributes(req: RunRequest): Record<string, string | number> {
  return {
    'messaging.system': req.system,
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': req.queue,
    'messaging.message.id': req.id,
    'rampart.job.name': req.name,
    'rampart.job.attempt': req.attempt,
  }
}

/** The trace headers of a carrier (the request id and user are not propagation fields). */
function carrierOf(carrier: JobCarrier): JobCarrier {
  const { request_id: _r, user_id: _u, ...headers } = carrier
  return headers
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
