/**
 * `rampart/bullmq`: background jobs with the same metrics, logs, traces, error reports and
 * shutdown as requests. BullMQ (and ioredis) are optional peers, loaded when a Redis-backed
 * queue or worker is created; the in-process queue needs neither.
 */
export {
  type BullmqConnection,
  type BullmqQueueOptions,
  type BullmqWorkerOptions,
  createBullmqQueue,
  createBullmqWorker,
} from './bullmq.js'
export { JOB_META_KEY } from './carrier.js'
export { createInProcessQueue, type InProcessOptions } from './in-process.js'
export {
  JOB_DURATION_BUCKETS_SECONDS,
  JOB_WAIT_BUCKETS_SECONDS,
  type JobOutcome,
  QUEUE_STATES,
  type QueueState,
} from './metrics.js'
export { type AddOptions, JOB_DEFAULTS, type JobQueue, type JobWorker } from './queue.js'
export type { JobInfo, JobProcessor } from './run.js'
export {
  serveWorkerProcess,
  type WorkerProcess,
  type WorkerProcessOptions,
} from './worker-process.js'
