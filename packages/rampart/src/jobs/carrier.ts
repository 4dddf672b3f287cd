import { currentContext } from '../context/context.js'
import { tracingRuntime } from '../tracing/state.js'

/**
 * What a job carries from the code that enqueued it: the W3C trace context (`traceparent`,
 * `tracestate`, `baggage`, whatever the configured propagators write) and the request's id and
 * user. Stored in the job's data under `JOB_META_KEY`; strings only, nothing secret.
 */
export type JobCarrier = Record<string, string>

/** The key of a job's data that holds its carrier; the processor never sees it. */
export const JOB_META_KEY = '_rampart'

/** The carrier of the current request (or trace), empty outside of both. */
export function captureCarrier(): JobCarrier {
  const carrier: JobCarrier = {}
  tracingRuntime()?.inject(carrier)
  const ctx = currentContext()
  if (ctx) {
    carrier.request_id = ctx.requestId
    if (ctx.userId !== undefined) carrier.user_id = ctx.userId
  }
  return carrier
}

/** The job's data with the carrier added (object data only; other data travels without one). */
export function withCarrier<T>(data: T, carrier: JobCarrier): T {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data
  return { ...data, [JOB_META_KEY]: carrier }
}

/** Splits stored data into the processor's data and the carrier (bad carriers are ignored). */
export function splitCarrier<T>(stored: T): { data: T; carrier: JobCarrier } {
  if (typeof stored !== 'object' || stored === null || !(JOB_META_KEY in stored))
    return { data: stored, carrier: {} }
  const { [JOB_META_KEY]: meta, ...data } = stored as Record<string, unknown>
  const carrier: JobCarrier = {}
  if (typeof meta === 'object' && meta !== null)
    for (const [k, v] of Object.entries(meta))
      if (typeof v === 'string' && v.length <= 512) carrier[k] = v
  return { data: data as T, carrier }
}
