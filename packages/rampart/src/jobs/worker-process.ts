import { createServer, type Server } from 'node:http'
import type { Rampart } from '../core/rampart.js'
import { pathOf } from '../pipeline/exchange.js'
import { bearerMatches } from '../security/bearer.js'
import type { JobWorker } from './queue.js'

export interface WorkerProcessOptions {
  /** The workers this process runs. */
  workers: readonly JobWorker[]
  /** Port of `/metrics`, `/healthz`, `/readyz` (`WORKER_PORT`); 0 picks a free one. */
  port: number
  /** Default 127.0.0.1; `0.0.0.0` in a container. */
  host?: string
  /** Running jobs get this long to finish after SIGTERM. Default 10 000 ms. */
  drainTimeoutMs?: number
  /** Default SIGTERM and SIGINT; `false` leaves signals to the caller. */
  signals?: NodeJS.Signals[] | false
  /** Exit when stopped by a signal: 0 after a clean drain, 1 when jobs were left. Default true. */
  exit?: boolean
}

export interface WorkerProcess {
  readonly server: Server
  /** The port actually bound. */
  readonly port: number
  /** Stops taking jobs, drains within the deadline, closes the server and the core. */
  stop(): Promise<boolean>
}

/**
 * Runs workers as their own process: `/metrics` (the core's registry, job metrics included),
 * `/healthz` (the process answers) and `/readyz` (not draining, and every worker's Redis
 * answers a PING) on a small HTTP server of Node's own (three fixed routes, no framework), and a
 * graceful stop on SIGTERM: readiness turns 503, the workers stop taking jobs and running ones
 * get `drainTimeoutMs` to finish, then the connections and the core close and the process exits.
 *
 * @example
 * const worker = await createBullmqWorker(core, 'scans', scan, { url, prefix })
 * await serveWorkerProcess(core, { workers: [worker], port: Number(process.env.WORKER_PORT ?? 9464) })
 */
export async function serveWorkerProcess(
  core: Rampart,
  options: WorkerProcessOptions,
): Promise<WorkerProcess> {
  const { health, logger, metrics } = core
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000
  health.addCheck({
    name: 'redis',
    check: () => Promise.all(options.workers.map((w) => w.ping())),
    timeoutMs: 1500,
  })
  const server = createServer((req, res) => {
    const path = pathOf(req.url ?? '/')
    const send = (status: number, type: string, body: string) =>
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body)
    const json = (status: number, body: unknown) =>
      send(status, 'application/json; charset=utf-8', JSON.stringify(body))
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return json(405, { status: 'method not allowed' })
    if (path === '/healthz') return json(200, { status: 'ok' })
    if (path === '/readyz') {
      void health.readiness().then((r) => {
        const failing = r.checks.filter((c) => !c.ok).map((c) => c.name)
        json(r.ready ? 200 : 503, {
          status: r.ready ? 'ok' : r.draining ? 'draining' : 'unavailable',
          ...(r.ready ? {} : { failing }),
          checks: Object.fromEntries(r.checks.map((c) => [c.name, c.ok ? 'ok' : c.error])),
        })
      })
      return
    }
    if (path === '/metrics') {
      // The same rules as the web process's /metrics: METRICS_ENABLED and METRICS_TOKEN.
      if (!core.config.metrics.enabled) return json(404, { status: 'not found' })
      const token = core.config.metrics.token
      if (token !== undefined && !bearerMatches(req.headers.authorization, token))
        return res
          .writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'unauthorized' }))
      const openMetrics = /application\/openmetrics-text/.test(req.headers.accept ?? '')
      void metrics.render(openMetrics).then(
        ({ contentType, body }) => send(200, contentType, body),
        (err: unknown) => {
          logger.error({ event: 'metrics.render_failed', err })
          json(500, { status: 'error' })
        },
      )
      return
    }
    json(404, { status: 'not found' })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  logger.info(
    { event: 'worker.started', port, queues: options.workers.map((w) => w.queue) },
    `worker serving /metrics, /healthz and /readyz on port ${port}`,
  )

  let stopping: Promise<boolean> | undefined
  const stop = () => {
    stopping ??= (async () => {
      health.startDraining()
      const results = await Promise.all(options.workers.map((w) => w.close(drainTimeoutMs)))
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await core.close()
      return results.every(Boolean)
    })()
    return stopping
  }
  const signals = options.signals ?? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[])
  if (signals !== false) {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ event: 'service.stopping', signal, drain_timeout_ms: drainTimeoutMs })
      void stop().then((drained) => {
        if (options.exit ?? true) process.exit(drained ? 0 : 1)
      })
    }
    for (const s of signals) process.once(s, onSignal)
  }
  return { server, port, stop }
}
