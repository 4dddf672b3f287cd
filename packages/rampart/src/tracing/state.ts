import type { TracingRuntime } from './types.js'

/**
 * The process's tracing runtime. Kept on `globalThis` under a registered symbol so that the
 * copy of Rampart loaded by `--import rampart/otel` and the one the app imports (they can be
 * two module instances, e.g. source and build) find the same pipeline.
 */
const KEY = Symbol.for('rampart.tracing.runtime')

interface Slot {
  runtime?: TracingRuntime
  starting?: Promise<TracingRuntime>
  users?: number
}

function slot(): Slot {
  const g = globalThis as { [KEY]?: Slot }
  g[KEY] ??= {}
  return g[KEY]
}

/** The started runtime, or undefined when tracing is off. Cheap: called on hot paths. */
export function tracingRuntime(): TracingRuntime | undefined {
  return (globalThis as { [KEY]?: Slot })[KEY]?.runtime
}

/** Starts the runtime once per process; later callers get the same one. */
export function ensureRuntime(start: () => Promise<TracingRuntime>): Promise<TracingRuntime> {
  const s = slot()
  if (s.runtime) return Promise.resolve(s.runtime)
  s.starting ??= start().then(
    (runtime) => {
      s.runtime = runtime
      s.starting = undefined
      return runtime
    },
    (err: unknown) => {
      s.starting = undefined
      throw err
    },
  )
  return s.starting
}

/** Forgets the runtime after its shutdown, so a later app in the process can start a new one. */
export function clearRuntime(runtime: TracingRuntime): void {
  const s = slot()
  if (s.runtime === runtime) s.runtime = undefined
}

/**
 * Apps using the runtime. A runtime the plugin started is shut down when its last app closes;
 * one started by `--import rampart/otel` belongs to the process and is only flushed.
 */
export function acquireRuntime(): void {
  slot().users = (slot().users ?? 0) + 1
}

/** Returns true when this was the last app holding the runtime. */
export function releaseRuntime(): boolean {
  const s = slot()
  s.users = Math.max(0, (s.users ?? 0) - 1)
  return s.users === 0
}
