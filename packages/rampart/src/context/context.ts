import { AsyncLocalStorage } from 'node:async_hooks'

/** What Rampart knows about the request being served. Read it with `currentContext()`. */
export interface RequestContext {
  readonly requestId: string
  /** Set by `bindUser()` once authentication succeeded; never earlier. */
  userId: string | undefined
  traceId: string | undefined
  spanId: string | undefined
  /** The route template (`/items/:id`), `unmatched`, or undefined before routing. */
  route: string | undefined
  /** The client address after `TRUSTED_PROXIES` were applied. */
  clientIp: string | undefined
  /** What the context carrier keeps for this request (tracing: its OpenTelemetry context). */
  carried: unknown
}

/**
 * How the request context follows a request across awaits, timers and callbacks. By default
 * Rampart's own `AsyncLocalStorage`; while tracing is on, OpenTelemetry's context (the request
 * context rides in it under a key), so a traced request enters one async storage, not two: on
 * Node 20 every promise and callback of the request pays an async-hooks call per storage.
 */
export interface ContextCarrier {
  run<T>(ctx: RequestContext, fn: () => T): T
  current(): RequestContext | undefined
  /**
   * Trace and span id of the innermost active span (a manual span's, not only the request's
   * server span), for log lines; undefined when this carrier knows no spans.
   */
  activeSpanIds(): SpanIds | undefined
}

type SpanIds = { traceId: string; spanId: string }

// One storage for the process: async context is process-wide by nature (like OpenTelemetry's
// context manager); what it carries is per request.
const storage = new AsyncLocalStorage<RequestContext>()
const ownCarrier: ContextCarrier = {
  run: (ctx, fn) => storage.run(ctx, fn),
  current: () => storage.getStore(),
  activeSpanIds: () => undefined,
}
let carrier = ownCarrier

/** Hands the carrying of request contexts to another carrier (tracing), or back (undefined). */
export function setContextCarrier(next: ContextCarrier | undefined): void {
  carrier = next ?? ownCarrier
}

/** Creates the context for a new request. */
export function createContext(requestId: string, clientIp?: string): RequestContext {
  return {
    requestId,
    userId: undefined,
    traceId: undefined,
    spanId: undefined,
    route: undefined,
    clientIp,
    carried: undefined,
  }
}

/** The current request's context, or undefined outside a request. Survives awaits, timers and `Promise.all`. */
export function currentContext(): RequestContext | undefined {
  return carrier.current()
}

/** Trace and span id for a log line: the active span's when tracing is on, else the request's. */
export function currentSpanIds(ctx: RequestContext | undefined): Partial<SpanIds> | undefined {
  const span = carrier.activeSpanIds()
  if (span !== undefined) return span
  return ctx?.traceId === undefined ? undefined : { traceId: ctx.traceId, spanId: ctx.spanId }
}

/** Runs `fn` with `ctx` as the current context. */
export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return carrier.run(ctx, fn)
}

/**
 * Attaches the authenticated user to the current request: from now on every log line of this
 * request carries `user_id`, and rate limits key on this principal. Call it after
 * authentication succeeded, never before.
 *
 * @example
 * const user = await verifyPassword(username, password)
 * if (user) bindUser(user.id)
 */
export function bindUser(userId: string | number): void {
  const ctx = carrier.current()
  if (ctx) ctx.userId = String(userId)
}
