import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Rampart } from '../../core/rampart.js'
import { HttpError } from '../../errors/http-error.js'
import { applyServerTimeouts } from '../../security/server-timeouts.js'
import type { ExpressPipeline } from './pipeline.js'

/** How the app stops on a signal (the same options as the Fastify plugin's `shutdown`). */
export interface ShutdownOptions {
  /** Signals that start a graceful shutdown; `false` leaves signals to the service. Default: SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[] | false
  /** How long `/readyz` answers 503 before the listener closes. Default: `SHUTDOWN_DELAY_S`. */
  preStopDelayMs?: number
  /** In-flight requests get this long to finish before connections are cut. Default: 10000. */
  drainTimeoutMs?: number
  /** After the deadline cut connections, cut requests get this long to clean up. Default: 2000. */
  cleanupGraceMs?: number
  /** Exit the process when done (0 after a clean drain, 1 after a timed-out one). Default: true. */
  exit?: boolean
}

/**
 * Holds back `100 Continue` until something reads the body, so a request refused before its
 * body (413 on its declared length, a CSRF refusal) never invites the client to send it.
 */
function continueOnRead(req: IncomingMessage, res: ServerResponse): void {
  const read = req._read
  req._read = function readAfterContinue(this: IncomingMessage, size: number) {
    req._read = read
    if (!res.headersSent && !res.writableEnded) res.writeContinue()
    return read.call(this, size)
  }
}

/**
 * Serves `server` with Rampart: the server timeouts, the answers Node writes before Express sees
 * a request (parser errors, `100 Continue`, requests arriving while closing), graceful shutdown
 * on the signals, and the features' `ready` (audit database, SLO routes) before it listens.
 */
export async function serveOn(
  server: Server,
  core: Rampart,
  pipeline: ExpressPipeline,
  options: ShutdownOptions = {},
): Promise<void> {
  applyServerTimeouts(server, core.config.timeouts)
  const raw = pipeline.rawAnswers
  server.removeAllListeners('clientError')
  server.on('clientError', (err, socket) => raw.clientError(err, socket))
  server.on('checkContinue', (req, res) => {
    continueOnRead(req, res)
    server.emit('request', req, res)
  })
  const routed = server.listeners('request') as Array<
    (req: IncomingMessage, res: ServerResponse) => void
  >
  server.removeAllListeners('request')
  let closing = false
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (closing) {
      res.setHeader('connection', 'close')
      raw.answer(
        req,
        res,
        new HttpError(503, { detail: 'The service is shutting down. Try again shortly.' }),
      )
      return
    }
    for (const listener of routed) listener.call(server, req, res)
  })
  drainOnSignal(server, core, options, () => {
    closing = true
  })
  await pipeline.ready()
}

/**
 * Graceful shutdown on the signals: `/readyz` answers 503 for `preStopDelayMs` while the app
 * still serves, then the listener closes and in-flight requests finish (up to the drain
 * timeout, then their connections are cut), then the core closes and the process exits.
 */
function drainOnSignal(
  server: Server,
  core: Rampart,
  options: ShutdownOptions,
  onClosing: () => void,
): void {
  const signals = options.signals ?? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[])
  if (signals === false) return
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000
  const preStopDelayMs = options.preStopDelayMs ?? core.config.shutdownDelayMs
  const exit = options.exit ?? true
  let started = false
  const shutdown = async (signal: NodeJS.Signals) => {
    if (started) return
    started = true
    const { logger, health } = core
    logger.info({
      event: 'service.stopping',
      signal,
      shutdown_delay_ms: preStopDelayMs,
      drain_timeout_ms: drainTimeoutMs,
    })
    health.startDraining()
    if (preStopDelayMs > 0) await new Promise((r) => setTimeout(r, preStopDelayMs))
    onClosing()
    logger.info({ event: 'service.draining' }, 'listener closed; finishing in-flight requests')
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    const reaper = setInterval(() => server.closeIdleConnections(), 50)
    reaper.unref()
    let timedOut = false
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      closed,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          timedOut = true
          resolve()
        }, drainTimeoutMs)
        timer.unref()
      }),
    ])
    clearTimeout(timer)
    clearInterval(reaper)
    if (timedOut) {
      logger.warn({ event: 'service.drain_timed_out', drain_timeout_ms: drainTimeoutMs })
      server.closeAllConnections()
    }
    for (const s of signals) process.off(s, onSignal)
    await core.close()
    if (exit) process.exit(timedOut ? 1 : 0)
  }
  const onSignal = (signal: NodeJS.Signals) => void shutdown(signal)
  server.once('listening', () => {
    for (const s of signals) process.on(s, onSignal)
  })
}
