import { RampartError } from '../errors/rampart-error.js'
import { otlpEndpointOf } from './endpoint.js'
import type { RuntimeSettings } from './sdk.js'
import { ensureRuntime } from './state.js'
import type { TracingRuntime } from './types.js'

/**
 * Starts the process's tracing pipeline, or returns the one already running (started by
 * `--import rampart/otel` or by another app). The OpenTelemetry SDK is imported here, on
 * first use, and never when tracing is off.
 */
export function startTracing(settings: RuntimeSettings): Promise<TracingRuntime> {
  return ensureRuntime(async () => {
    let sdk: typeof import('./sdk.js')
    try {
      sdk = await import('./sdk.js')
    } catch (err) {
      throw new RampartError(
        'ERR_RAMPART_CONFIG',
        `tracing is on but the OpenTelemetry SDK could not be loaded: ${(err as Error).message}`,
        { cause: err },
      )
    }
    return sdk.startRuntime(settings)
  })
}

/** True when the standard variables turn tracing on: an OTLP endpoint set, the SDK not disabled. */
export function tracingWantedByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false
  return otlpEndpointOf(env) !== undefined
}
