import type { Server } from 'node:http'
import type { Rampart } from './rampart.js'

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
 * remove), and resources must not close under it. Adapters wrap each handler: `enter()` before
 * it runs, `settled(result)` on what it returned (`exit()` when it threw).
 */
export class HandlerTracker {
  #running = 0
  #idle: (() => void) | undefined

  enter(): void {
    this.#running++
  }
  exit(): void {
    this.#running--
    if (this.#running === 0) this.#idle?.()
  }
  /** Exits once `result` settles (at once when it is not a promise); returns it unchanged. */
  settled<T>(result: T): T {
    if (!(result instanceof Promise)) {
      this.exit()
      return result
    }
    return result.then(
      (value: unknown) => {
        this.exit()
        return value
      },
      (err: unknown) => {
        this.exit()
        throw err
      },
    ) as T
  }
  /** Resolves once no handler runs, or after `ms`; with whether they all settled. */
  idle(ms: number): Promise<boolean> {
    if (this.#running === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms)
      this.#idle = () => {
        clearTimeout(timer)
        resolve(true)
      }
    })
  }
}

/** The shutdown sequence of one app, framework-free; the adapter calls these at its points. */
export interface Shutdown {
  /** Route handlers still running (the adapter wraps each handler). */
  readonly handlers: HandlerTracker
  /** Listens for the signals (once the app listens). */
  arm(): void
  /** Stops listening for them (the app closed). */
  disarm(): void
  /**
   * The drain, run by the `close` function given (before the framework closes the server and
   * the resources), and only for a signal; a plain close keeps the framework's own behaviour.
   */
  drain(): Promise<void>
}

/**
 * Graceful shutdown. On SIGTERM/SIGINT: `/readyz` turns 503 while the app still serves for
 * `preStopDelayMs` (`SHUTDOWN_DELAY_S`); then `close` runs (the framework's close, which calls
 * `drain`): the listener closes and in-flight requests finish, up to the drain timeout, past
 * which their connections are cut (each cut request still gets its access line, status 499, and
 * its handler a moment to clean up); then every registered resource is closed and the logs
 * flushed (`core.close()`), and the process exits. Undefined when `signals` is `false`.
 */
export function createShutdown(
  core: Rampart,
  server: () => Server,
  close: () => Promise<unknown>,
  options: ShutdownOptions = {},
): Shutdown | undefined {
  const signals = options.signals ?? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[])
  if (signals === false) return undefined
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000
  const preStopDelayMs = options.preStopDelayMs ?? core.config.shutdownDelayMs
  const cleanupGraceMs = options.cleanupGraceMs ?? 2000
  const exit = options.exit ?? true
  const handlers = new HandlerTracker()
  const { logger } = core
  let started = false
  let timedOut = false

  const drain = async () => {
    if (!started) return
    const srv = server()
    logger.info({ event: 'service.draining' }, 'listener closed; finishing in-flight requests')
    const closed = new Promise<void>((resolve) => srv.close(() => resolve()))
    // Keep-alive connections whose request just finished would otherwise hold the server open
    // until the client's idle timeout: close each one as soon as it goes idle.
    const reaper = setInterval(() => srv.closeIdleConnections(), 50)
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
    srv.closeAllConnections()
    if (!(await handlers.idle(cleanupGraceMs)))
      logger.warn({ event: 'service.cleanup_timed_out', cleanup_grace_ms: cleanupGraceMs })
  }

  const shutdown = async (signal: NodeJS.Signals) => {
    if (started) return
    started = true
    logger.info({
      event: 'service.stopping',
      signal,
      shutdown_delay_ms: preStopDelayMs,
      drain_timeout_ms: drainTimeoutMs,
    })
    core.health.startDraining()
    // Still serving (new connections too) while /readyz answers 503: the load balancer takes
    // this replica out of rotation before any connection is refused.
    if (preStopDelayMs > 0) await new Promise((r) => setTimeout(r, preStopDelayMs))
    try {
      await close()
    } catch (err) {
      logger.error({ event: 'service.stop_failed', err })
    }
    if (exit) process.exit(timedOut ? 1 : 0)
  }
  const onSignal = (signal: NodeJS.Signals) => void shutdown(signal)

  return {
    handlers,
    drain,
    arm() {
      for (const s of signals) process.on(s, onSignal)
    },
    disarm() {
      for (const s of signals) process.off(s, onSignal)
    },
  }
}
