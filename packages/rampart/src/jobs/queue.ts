/** Options of one `add`. */
export interface AddOptions {
  /** Idempotency key: adding a job whose id is already queued adds nothing. */
  jobId?: string
  /** Runs before the job fails for good. Default: the queue's (3). */
  attempts?: number
  /** Wait before running, ms. */
  delayMs?: number
}

/** Where work is put: a BullMQ queue on Redis, or the in-process queue. */
export interface JobQueue<T = unknown> {
  readonly name: string
  /**
   * Enqueues one job with the current request's trace context, request id and user. Rejects
   * (never hangs) when the queue cannot take it, e.g. Redis is unreachable: the caller decides
   * whether to retry later.
   */
  add(jobName: string, data: T, options?: AddOptions): Promise<{ id: string }>
  /** Stops the producer side (its connection; the in-process queue also drains, see `JobWorker`). */
  close(): Promise<unknown>
}

/** What takes jobs off a queue and runs them. */
export interface JobWorker {
  readonly queue: string
  /**
   * Stops taking jobs and waits for the running ones, at most `deadlineMs`. Resolves true when
   * they all finished; false when some were still running: those are abandoned, and BullMQ runs
   * them again once their lock expires (never lost).
   */
  close(deadlineMs: number): Promise<boolean>
  /** Resolves when the worker's backend answers (readiness); rejects otherwise. */
  ping(): Promise<void>
}

/** Defaults shared by both backends. */
export const JOB_DEFAULTS = {
  attempts: 3,
  /** First retry after this long, doubling each time. */
  backoffMs: 1000,
  concurrency: 1,
  /** How long `add` waits for Redis before rejecting. */
  enqueueTimeoutMs: 2000,
  /** The in-process queue refuses jobs beyond this many waiting. */
  maxWaiting: 10_000,
} as const
