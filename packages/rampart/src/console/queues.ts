import { QUEUE_STATES, type QueueState } from '../jobs/metrics.js'

/** One queue as the console shows it: its depth now, and its runs since the process started. */
export interface QueueSummary {
  queue: string
  /** Jobs by state, read from the queue at this request (absent when it did not answer). */
  depth: Partial<Record<QueueState, number>>
  runs: { completed: number; failed: number; retried: number; stalled: number }
}

type Read = (name: string) => Promise<Array<{ labels: Record<string, string>; value: number }>>

/**
 * The queues this process knows (`rampart/bullmq`): `queue_jobs` (collected now: one round trip
 * per queue) and `job_runs_total` summed over job names. Empty for a service without jobs.
 */
export async function queueSummaries(read: Read): Promise<QueueSummary[]> {
  const [depth, runs] = await Promise.all([read('queue_jobs'), read('job_runs_total')])
  const queues = new Map<string, QueueSummary>()
  const of = (queue: string) => {
    let q = queues.get(queue)
    if (!q) {
      q = { queue, depth: {}, runs: { completed: 0, failed: 0, retried: 0, stalled: 0 } }
      queues.set(queue, q)
    }
    return q
  }
  for (const s of depth) {
    const state = s.labels.state as QueueState
    if (s.labels.queue && (QUEUE_STATES as readonly string[]).includes(state))
      of(s.labels.queue).depth[state] = s.value
  }
  for (const s of runs) {
    const outcome = s.labels.outcome as keyof QueueSummary['runs']
    if (s.labels.queue && outcome in of(s.labels.queue).runs)
      of(s.labels.queue).runs[outcome] += s.value
  }
  return [...queues.values()].sort((a, b) => a.queue.localeCompare(b.queue))
}

/** The console table's rows, escaped with `e`: queue, depth by state, then runs by outcome. */
export function queueRows(queues: QueueSummary[], e: (s: string) => string): string[][] {
  const num = (x: number | undefined) => (x === undefined ? '—' : x.toLocaleString('en'))
  return queues.map((q) => [
    e(q.queue),
    ...QUEUE_STATES.map((s) => num(q.depth[s])),
    num(q.runs.completed),
    num(q.runs.failed),
    num(q.runs.retried),
    num(q.runs.stalled),
  ])
}

/** Headers matching `queueRows`. */
export const QUEUE_HEADERS = [
  'queue',
  ...QUEUE_STATES,
  'runs completed',
  'runs failed',
  'retried',
  'stalled',
]
