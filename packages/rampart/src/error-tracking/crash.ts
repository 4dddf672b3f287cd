import type { Rampart } from '../core/rampart.js'
import { tracingRuntime } from '../tracing/state.js'

/** How long a crashing process spends flushing logs, spans and error reports before it exits. */
export const CRASH_FLUSH_MS = 2000

/** Whether this process already has Rampart's handlers (one set, whatever the number of apps). */
const INSTALLED = Symbol.for('rampart.crash.installed')

export interface CrashHandlerSettings {
  /** Default `CRASH_FLUSH_MS`. */
  flushMs?: number
  /** Default `process.exit`. */
  exit?: (code: number) => void
}

/** Resolves once `work` settled or `ms` passed, whichever is first. */
function bounded(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (work === undefined) return Promise.resolve()
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    work.then(
      () => {
        clearTimeout(timer)
        resolve()
      },
      () => {
        clearTimeout(timer)
        resolve()
      },
    )
  })
}

/**
 * Crashes are never silent. Adds (never replaces) process listeners:
 * - `uncaughtException`: one `process.crashed` fatal line with the stack, a report, then logs,
 *   spans and error reports flushed within `flushMs`, and exit code 1;
 * - `unhandledRejection`: the same when `onUnhandledRejection` is `crash`; with `log`, one
 *   `process.rejection_unhandled` error line and a report, and the process goes on.
 * A service's own listeners still run (Node calls every listener). Once per process: a second
 * app in the same process gets a no-op. Returns the function that removes the listeners.
 */
export function installCrashHandlers(
  core: Pick<Rampart, 'config' | 'logger' | 'errors'>,
  settings: CrashHandlerSettings = {},
): () => void {
  const holder = globalThis as { [INSTALLED]?: boolean }
  if (!core.config.crash.handlers || holder[INSTALLED] === true) return () => {}
  holder[INSTALLED] = true
  const { logger, errors } = core
  const flushMs = settings.flushMs ?? CRASH_FLUSH_MS
  const exit = settings.exit ?? ((code: number) => process.exit(code))
  let crashing = false

  const crash = (error: unknown, origin: 'uncaught_exception' | 'unhandled_rejection') => {
    if (crashing) {
      logger.error(
        { event: 'process.crashed_again', origin, err: error },
        'a second crash while exiting',
      )
      return
    }
    crashing = true
    process.exitCode = 1
    logger.fatal(
      { event: 'process.crashed', origin, err: error },
      `the process crashed (${origin})`,
    )
    errors.capture(error, { tags: { origin } })
    // Not unref'd: the loop must stay alive until the flush ends, else Node exits with code 0.
    const hardStop = setTimeout(() => exit(1), flushMs + 500)
    void Promise.all([
      bounded(errors.flush(flushMs), flushMs),
      bounded(tracingRuntime()?.forceFlush(), flushMs),
      bounded(new Promise<void>((resolve) => logger.flush(() => resolve())), flushMs),
    ]).then(() => {
      clearTimeout(hardStop)
      exit(1)
    })
  }
  const onException = (error: unknown, origin: NodeJS.UncaughtExceptionOrigin) =>
    crash(error, origin === 'unhandledRejection' ? 'unhandled_rejection' : 'uncaught_exception')
  const onRejection = (reason: unknown) => {
    if (core.config.crash.onUnhandledRejection === 'crash') {
      crash(reason, 'unhandled_rejection')
      return
    }
    logger.error(
      { event: 'process.rejection_unhandled', err: reason },
      'a promise was rejected and nothing handled it',
    )
    errors.capture(reason, { tags: { origin: 'unhandled_rejection' } })
  }
  process.on('uncaughtException', onException)
  process.on('unhandledRejection', onRejection)
  return () => {
    process.off('uncaughtException', onException)
    process.off('unhandledRejection', onRejection)
    holder[INSTALLED] = false
  }
}
