import type {
  BoundCounter,
  BoundHistogram,
  CappedCounter,
  CappedHistogram,
  RampartMetrics,
} from '../metrics/registry.js'
import { withTimeout } from './timeouts.js'

/** How a run of a job ended, as `job_runs_total` counts it. */
export type JobOutcome = 'completed' | 'failed' | 'retried' | 'stalled'

/** The states `queue_jobs` reports. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const
export type QueueState = (typeof QUEUE_STATES)[number]

/** Where a queue's depth comes from at scrape time: one cheap round trip, never per job. */
export type DepthSource = () => Promise<Readonly<Record<QueueState, number>>>

/**
 * Enqueue to start, seconds. Queue latency is felt in seconds to minutes, so the buckets reach
 * ten minutes; a jobs SLO's `waitSeconds` must be one of them.
 */
export const JOB_WAIT_BUCKETS_SECONDS = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
] as const

/** Processing time, seconds: from a few milliseconds to several minutes. */
export const JOB_DURATION_BUCKETS_SECONDS = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
] as const

/** A scrape waits this long for a queue's counts; a queue that did not answer is left out. */
const DEPTH_TIMEOUT_MS = 1000

type Labels = 'queue' | 'job_name'

/** The job metrics of one registry, shared by every queue and worker on it. */
export interface JobMetrics {
  readonly runs: CappedCounter<Labels | 'outcome'>
  readonly duration: CappedHistogram<Labels>
  readonly wait: CappedHistogram<Labels>
  /** Bound series of one queue and job name, looked up once. */
  series(queue: string, jobName: string): JobSeries
  /** Reports a queue's depth at scrape time until the returned function is called. */
  addDepthSource(queue: string, source: DepthSource): () => void
}

export interface JobSeries {
  readonly outcome: Readonly<Record<JobOutcome, BoundCounter>>
  readonly duration: BoundHistogram
  readonly wait: BoundHistogram
}

const byRegistry = new WeakMap<RampartMetrics, JobMetrics>()

/**
 * The job metrics on `metrics` (the app's registry, with its series cap), created on first use.
 * The label is `job_name`, not `job`: Prometheus sets `job` on every scraped series (the scrape
 * job), and a scraped `job` label would be renamed `exported_job`.
 */
export function jobMetrics(metrics: RampartMetrics): JobMetrics {
  const known = byRegistry.get(metrics)
  if (known) return known
  const runs = metrics.counter({
    name: 'job_runs_total',
    help: 'Runs of background jobs by outcome (completed, failed, retried, stalled)',
    labelNames: ['queue', 'job_name', 'outcome'] as const,
  })
  const duration = metrics.histogram({
    name: 'job_duration_seconds',
    help: 'Processing time of a job run',
    labelNames: ['queue', 'job_name'] as const,
    buckets: JOB_DURATION_BUCKETS_SECONDS,
  })
  const wait = metrics.histogram({
    name: 'job_wait_seconds',
    help: 'Time from enqueue (or the end of its delay) to the start of a job run',
    labelNames: ['queue', 'job_name'] as const,
    buckets: JOB_WAIT_BUCKETS_SECONDS,
  })
  const sources = new Map<string, DepthSource>()
  metrics.gauge({
    name: 'queue_jobs',
    help: 'Jobs in a queue by state (waiting, active, delayed, failed), read at scrape time',
    labelNames: ['queue', 'state'] as const,
    async collect() {
      this.reset()
      // Queues are asked concurrently, each bounded: a Redis that does not answer costs a
      // scrape one second, never a hang, and its queue is simply absent from this scrape.
      const answers = await Promise.all(
        [...sources].map(async ([queue, source]) => {
          try {
            return [
              queue,
              await withTimeout(source(), DEPTH_TIMEOUT_MS, `queue ${queue} depth`),
            ] as const
          } catch {
            return undefined
          }
        }),
      )
      for (const answer of answers) {
        if (!answer) continue
        const [queue, counts] = answer
        for (const state of QUEUE_STATES) this.set({ queue, state }, counts[state] ?? 0)
      }
    },
  })
  const cache = new Map<string, JobSeries>()
  const made: JobMetrics = {
    runs,
    duration,
    wait,
    series(queue, jobName) {
      const key = `${queue}\u0000${jobName}`
      let s = cache.get(key)
      if (s) return s
      const labels = { queue, job_name: jobName }
      const outcome = (o: JobOutcome) => runs.labels({ ...labels, outcome: o })
      s = {
        outcome: {
          completed: outcome('completed'),
          failed: outcome('failed'),
          retried: outcome('retried'),
          stalled: outcome('stalled'),
        },
        duration: duration.labels(labels),
        wait: wait.labels(labels),
      }
      // Job names come from code, not clients; the cache is bounded all the same.
      if (cache.size < 1000) cache.set(key, s)
      return s
    },
    addDepthSource(queue, source) {
      sources.set(queue, source)
      return () => {
        if (sources.get(queue) === source) sources.delete(queue)
      }
    },
  }
  byRegistry.set(metrics, made)
  return made
}
