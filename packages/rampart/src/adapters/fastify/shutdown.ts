import type { FastifyInstance } from 'fastify'
import type { Rampart } from '../../core/rampart.js'

/** How the app stops on a signal. */
export interface ShutdownOptions {
  /** Signals that start a graceful shutdown; `false` leaves signals to the service. Default: SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[] | false
  /**
   * How long `/readyz` answers 503 while the app still serves, before it stops accepting, so a
   * load balancer can take it out of rotation. Default: `SHUTDOWN_DELAY_S` (5 s in production,
   * 0 otherwise).
   */
  preStopDelayMs?: number
  /** In-flight requests get this long to finish before connections are cut. Default: 10000. */
  drainTimeoutMs?: number
  /** Exit the process when done (code 0 after a clean drain, 1 after a timed-out one). Default: true. */
  exit?: boolean
}

/**
 * Graceful shutdown, armed once the app listens: on SIGTERM/SIGINT `/readyz` turns 503, the
 * server stops accepting, in-flight requests finish (up to the drain timeout), then every
 * registered resource is closed and the logs flushed (`core.close()` in onClose), and the
 * process exits.
 */
export function installShutdown(
  app: FastifyInstance,
  core: Rampart,
  options: ShutdownOptions = {},
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
    // Still serving (new connections too) while /readyz answers 503: the load balancer takes
    // this replica out of rotation before any connection is refused.
    if (preStopDelayMs > 0) await new Promise((r) => setTimeout(r, preStopDelayMs))
    logger.info({ event: 'service.draining' }, 'listener closed; finishing in-flight requests')
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      logger.warn({ event: 'service.drain_timed_out', drain_timeout_ms: drainTimeoutMs })
      app.server.closeAllConnections()
    }, drainTimeoutMs)
    timer.unref()
    // Keep-alive connections whose request just finished would otherwise hold the server open
    // until the client's idle timeout: close each one as soon as it goes idle.
    const reaper = setInterval(() => app.server.closeIdleConnections(), 50)
    reaper.unref()
    try {
      await app.close()
    } catch (err) {
      logger.error({ event: 'service.stop_failed', err })
    }
    clearInterval(reaper)
    clearTimeout(timer)
    if (exit) process.exit(timedOut ? 1 : 0)
  }
  const onSignal = (signal: NodeJS.Signals) => void shutdown(signal)

  app.addHook('onListen', (done) => {
    for (const s of signals) process.on(s, onSignal)
    done()
  })
  app.addHook('onClose', (_instance, done) => {
    for (const s of signals) process.off(s, onSignal)
    done()
  })
}
