import { join } from 'node:path'
import { createRampart, isRampartError, RampartError } from 'rampart'
import { createBullmqWorker, serveWorkerProcess } from 'rampart/bullmq'
import { openDatabase } from './db/database.js'
import { SCAN_QUEUE, type ScanJob, scanProcessor } from './domain/scans.js'
import { jobsConfig } from './support/jobs-config.js'

/**
 * `npm run worker -w airlock`: the scan worker as its own process, for a web process started
 * with `AIRLOCK_WORKER=off`. It shares `REDIS_URL`, `QUEUE_PREFIX`, `DATABASE_URL` and
 * `DATA_DIR` with the web process, serves `/metrics`, `/healthz` and `/readyz` on `WORKER_PORT`,
 * and on SIGTERM finishes its running scans (up to 10 s) before it exits.
 */
try {
  const jobs = jobsConfig(process.env)
  if (jobs.redisUrl === undefined)
    throw new RampartError(
      'ERR_RAMPART_CONFIG',
      'REDIS_URL: not set; the worker process takes scans from Redis (without Redis, airlock scans in the web process)',
    )
  // Like `npm start`: ./data where the user typed the command, unless DATA_DIR says otherwise.
  const initCwd = process.env.INIT_CWD
  const core = createRampart({
    service: 'airlock-worker',
    ...(process.env.DATA_DIR || !initCwd ? {} : { dataDir: join(initCwd, 'data') }),
  })
  const { dataDir } = core.config
  const db = await openDatabase({
    url: process.env.DATABASE_URL ?? `sqlite:${join(dataDir, 'airlock.db')}`,
  })
  // Closed last (registered first): running scans still write their verdicts.
  core.onClose('database', () => db.destroy())
  const worker = await createBullmqWorker<ScanJob>(
    core,
    SCAN_QUEUE,
    scanProcessor(db, core, join(dataDir, 'uploads')),
    { url: jobs.redisUrl, prefix: jobs.prefix },
  )
  const served = await serveWorkerProcess(core, {
    workers: [worker],
    port: jobs.workerPort,
    host: process.env.HOST ?? '127.0.0.1',
  })
  core.logger.info(
    { event: 'service.ready', queue: SCAN_QUEUE, prefix: jobs.prefix, port: served.port },
    `airlock worker taking ${SCAN_QUEUE} jobs; metrics on http://127.0.0.1:${served.port}/metrics`,
  )
} catch (err) {
  if (isRampartError(err)) process.stderr.write(`airlock worker: ${err.message}\n`)
  else
    process.stderr.write(
      `airlock worker: failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
    )
  process.exit(1)
}
