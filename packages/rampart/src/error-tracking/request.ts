import { randomBytes } from 'node:crypto'
import type { RequestContext } from '../context/context.js'
import type { ErrorReporter } from './reporter.js'

/** A W3C `traceparent`: version 00, trace id, parent span id, flags. */
const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/
const ZERO_TRACE = '0'.repeat(32)

/**
 * Gives a request trace ids when tracing did not (tracing off, or the request not traced), so
 * that its log lines and its error report share one `trace_id`: the caller's, from a valid
 * `traceparent`, else a new one. Used only while error tracking is on.
 */
export function ensureTraceIds(ctx: RequestContext, traceparent: unknown): void {
  if (ctx.traceId !== undefined) return
  const m = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent.trim()) : null
  const caller = m?.[1]
  // One call for both ids (24 random bytes: 32 + 16 hex characters).
  const fresh = randomBytes(24).toString('hex')
  ctx.traceId = caller !== undefined && caller !== ZERO_TRACE ? caller : fresh.slice(0, 32)
  ctx.spanId = fresh.slice(32)
}

/** What an adapter knows about a request that was answered with a 5xx. */
export interface RequestFailure {
  /** What the handler threw, or undefined when it answered 5xx without throwing. */
  error: unknown
  status: number
  method: string
  /** The route template (`/items/:id`), or `unmatched`. */
  route: string
  ctx: RequestContext
}

/**
 * Reports one failed request: called once per request, when its answer was a 5xx (4xx answers
 * are the client's doing and never reported). The report is tagged with the request id, trace
 * id, route template, method and status, and carries the user only as its fingerprint.
 */
export function reportRequestFailure(
  errors: ErrorReporter,
  fingerprint: (value: string) => string,
  failure: RequestFailure,
): void {
  const { status, method, route, ctx } = failure
  if (!errors.enabled || status < 500) return
  const tags: Record<string, string> = {
    request_id: ctx.requestId,
    route,
    method,
    status: String(status),
  }
  if (ctx.traceId !== undefined) tags.trace_id = ctx.traceId
  const error = failure.error ?? new Error(`${method} ${route} answered ${status}`)
  errors.capture(error, {
    tags,
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    ...(ctx.userId === undefined ? {} : { user: fingerprint(ctx.userId) }),
  })
}
