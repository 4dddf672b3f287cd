import { join } from 'node:path'
import type { Kysely } from 'kysely'
import { type Rampart, withSpan } from 'rampart'
import {
  createBullmqQueue,
  createBullmqWorker,
  createInProcessQueue,
  type JobProcessor,
  type JobQueue,
} from 'rampart/bullmq'
import type { Database } from '../db/schema.js'
import type { JobsConfig } from '../support/jobs-config.js'
import { scanFile } from './scan.js'

/** The queue every uploaded file's output check goes through. */
export const SCAN_QUEUE = 'scans'

/** A scan job's data: which file to check. */
export interface ScanJob {
  fileId: string
}

/**
 * The scan job: checks one stored file and records the verdict. Idempotent (a file that is no
 * longer pending is left alone), so a job BullMQ runs again after a crash changes nothing twice.
 */
export function scanProcessor(
  db: Kysely<Database>,
  core: Rampart,
  uploadDir: string,
): JobProcessor<ScanJob> {
  return async (job) => {
    const { fileId } = job.data
    const file = await db
      .selectFrom('request_files')
      .select(['name', 'stored_name', 'scan_status'])
      .where('id', '=', fileId)
      .executeTakeFirst()
    if (file === undefined) return 'gone'
    if (file.scan_status !== 'pending') return file.scan_status
    const verdict = await withSpan('scan.file', { 'airlock.file_id': fileId }, () =>
      scanFile(join(uploadDir, file.stored_name), file.name),
    )
    const { status, ...rest } = verdict
    await db
      .updateTable('request_files')
      .set({ scan_status: status, scan_findings: JSON.stringify(rest) })
      .where('id', '=', fileId)
      .where('scan_status', '=', 'pending')
      .execute()
    core.logger.info(
      { event: 'scan.finished', file_id: fileId, status, findings: verdict.findings.length },
      `file scanned: ${status}`,
    )
    return status
  }
}

/**
 * Asks for scans: enqueues each new file at once, and, on Redis, re-enqueues files still
 * pending after a while (an enqueue that failed while Redis was unreachable): the job id is the
 * file's, so a scan already queued is not queued twice.
 */
export class Scans {
  #failures = 0
  #lastFailureLog = 0

  constructor(
    private readonly db: Kysely<Database>,
    private readonly core: Rampart,
    private readonly queue: JobQueue<ScanJob>,
  ) {}

  /** Enqueues a file's scan without waiting: the upload answers `pending` either way. */
  request(fileId: string): void {
    this.queue.add('scan', { fileId }, { jobId: `scan-${fileId}` }).catch((err: unknown) => {
      this.#failures++
      const now = Date.now()
      if (now - this.#lastFailureLog < 60_000) return
      this.#lastFailureLog = now
      this.core.logger.warn(
        { event: 'scan.enqueue_failed', failures: this.#failures, error: (err as Error).message },
        'could not enqueue a scan; the file stays pending and is enqueued again later',
      )
      this.#failures = 0
    })
  }

  /** Re-enqueues up to 100 files pending for longer than `olderThanMs`; returns how many. */
  async resubmitPending(olderThanMs: number): Promise<number> {
    const before = new Date(Date.now() - olderThanMs).toISOString()
    const rows = await this.db
      .selectFrom('request_files')
      .select('id')
      .where('scan_status', '=', 'pending')
      .where('created_at', '<', before)
      .orderBy('created_at')
      .limit(100)
      .execute()
    for (const row of rows) this.request(row.id)
    return rows.length
  }
}

/** How the web process runs scans (see docs/airlock.md, "Output checking"). */
export async function startScans(
  db: Kysely<Database>,
  core: Rampart,
  config: JobsConfig,
  resubmitMs: number,
): Promise<{ scans: Scans; close(): Promise<void> }> {
  const processor = scanProcessor(db, core, join(core.config.dataDir, 'uploads'))
  if (config.redisUrl === undefined) {
    // No Redis: the same processor, instrumented the same way, in this process's memory.
    const queue = createInProcessQueue(core, SCAN_QUEUE, processor)
    // Scans a previous run left pending (the in-process queue does not survive a restart).
    const scans = new Scans(db, core, queue)
    void scans.resubmitPending(0).catch(() => {})
    return { scans, close: async () => void (await queue.close(10_000)) }
  }
  const connection = { url: config.redisUrl, prefix: config.prefix }
  const queue = await createBullmqQueue<ScanJob>(core, SCAN_QUEUE, connection)
  const worker = config.worker
    ? await createBullmqWorker(core, SCAN_QUEUE, processor, connection)
    : undefined
  const scans = new Scans(db, core, queue)
  const timer = setInterval(() => {
    scans.resubmitPending(resubmitMs).catch((err: unknown) => {
      core.logger.warn({ event: 'scan.resubmit_failed', err })
    })
  }, resubmitMs)
  timer.unref()
  return {
    scans,
    async close() {
      clearInterval(timer)
      // Before the database closes: running scans finish (or are left to BullMQ to run again).
      await worker?.close(10_000)
    },
  }
}
