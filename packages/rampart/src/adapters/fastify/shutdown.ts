import type { FastifyInstance, RouteHandlerMethod } from 'fastify'
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
  /**
   * After the drain deadline cut connections, handlers of the cut requests get this long to
   * finish their clean-up (removing a half-written upload) before resources close. Default: 2000.
   */
  cleanupGraceMs?: number
  /** Exit the process when done (code 0 after a clean drain, 1 after a timed-out one). Default: true. */
  exit?: boolean
}

/**
 * Counts route handlers that have not settled yet. A request cut off by the drain deadline has
 * no response, so no hook marks its end; its handler still runs on (a stream error, a file to
 * remove), and resources must not close under it.
 */
function handlerTracker(app: FastifyInstance) {
  let running = 0
  let idle: (() => void) | undefined
  const settle = () => {
    running--
    if (running === 0) idle?.()
  }
  app.addHook('onRoute', (route) => {
    const handler = route.handler as (...args: unknown[]) => unknown
    route.handler = function tracked(this: unknown, ...args: unknown[]) {
      running++
      let result: unknown
      try {
        result = handler.apply(this, args)
      } catch (err) {
        settle()
        throw err
      }
      if (result instanceof Promise)
        return result.then(
          (value) => {
            settle()
            return value
          },
          (err: unknown) => {
            settle()
            throw err
          },
        )
      settle()
      return result
    } as RouteHandlerMethod
  })
  /** Resolves once no handler runs, or after `ms`; with whether they all settled. */
  return (ms: number): Promise<boolean> => {
    if (running === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms)
      idle = () => {
        clearTimeout(timer)
        resolve(true)
      }
    })
  }
}

/**
 * Graceful shutdown, armed once the app listens. On SIGTERM/SIGINT: `/readyz` turns 503 while
 * the app still serves for `preStopDelayMs` (`SHUTDOWN_DELAY_S`); then the listener closes
 * and in-flight requests finish, up to the drain timeout, past which their connections are
 * cut (each cut request still gets its access line, status 499, and its handler a moment to
 * clean up); then every registered resource is closed and the logs flushed (`core.close()` in
 * onClose), and the process exits.
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
  const cleanupGraceMs = options.cleanupGraceMs ?? 2000
  const exit = options.exit ?? true
  const handlersSettled = handlerTracker(app)
  let started = false
  let timedOut = false

  // The drain runs before Fastify closes the server and the resources (its onClose hooks), and
  // only for a signal; a plain app.close() keeps Fastify's own behaviour.
  app.addHook('preClose', async () => {
    if (!started) return
    const { logger } = core
    logger.info({ event: 'service.draining' }, 'listener closed; finishing in-flight requests')
    const closed = new Promise<void>((resolve) => app.server.close(() => resolve()))
    // Keep-alive connections whose request just finished would otherwise hold the server open
    // until the client's idle timeout: close each one as soon as it goes idle.
    const reaper = setInterval(() => app.server.closeIdleConnections(), 50)
    reaper.unref()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true
        resolve()
      }, drainTimeoutMs)
      timer.unref()
    })
    await Promise.race([closed, deadline])
    clearTimeout(timer)
    clearInterval(reaper)
    if (!timedOut) return
    logger.warn({ event: 'service.drain_timed_out', drain_timeout_ms: drainTimeoutMs })
    app.server.closeAllConnections()
    if (!(await handlersSettled(cleanupGraceMs)))
      logger.warn({ event: 'service.cleanup_timed_out', cleanup_grace_ms: cleanupGraceMs })
  })

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
    try {
      await app.close()
    } catch (err) {
      logger.error({ event: 'service.stop_failed', err })
    }
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
