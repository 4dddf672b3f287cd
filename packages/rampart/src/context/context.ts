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
  /** What tracing keeps for this request (its server span and parent context). */
  carried: unknown
}

/**
 * Something else entered as the current async context inside a request: while tracing is on,
 * OpenTelemetry's context manager stores its contexts in Rampart's storage (one storage per
 * request, see ADR 0009), so `context.with(…)` inside a request makes an OpenTelemetry context
 * current. The reader tells Rampart which request such a frame belongs to, and its active span.
 */
export interface FrameReader {
  requestOf(frame: object): RequestContext | undefined
  /** Trace and span id of the frame's active span (a manual span's, not only the server span's). */
  spanIdsOf(frame: object): SpanIds | undefined
}

type SpanIds = { traceId: string; spanId: string }

// One storage for the process, kept on `globalThis` under a registered symbol: async context is
// process-wide by nature, and the copy of Rampart that `--import rampart/otel` loads must find
// the same storage as the app's copy (they can be two module instances, source and build).
const STORAGE = Symbol.for('rampart.context.storage')
const holder = globalThis as { [STORAGE]?: AsyncLocalStorage<object> }
holder[STORAGE] ??= new AsyncLocalStorage<object>()
const storage: AsyncLocalStorage<object> = holder[STORAGE]

let frames: FrameReader | undefined

/** Lets tracing explain its frames to Rampart (undefined when tracing stops). */
export function setFrameReader(reader: FrameReader | undefined): void {
  frames = reader
}

class Context implements RequestContext {
  userId: string | undefined = undefined
  traceId: string | undefined = undefined
  spanId: string | undefined = undefined
  route: string | undefined = undefined
  carried: unknown = undefined
  constructor(
    readonly requestId: string,
    public clientIp: string | undefined,
  ) {}
}

/** True for contexts made by `createContext`, false for other frames (OpenTelemetry's). */
export function isRequestContext(value: unknown): value is RequestContext {
  // Duck-typed, not `instanceof`: the preload's copy of this module has its own class.
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { requestId?: unknown }).requestId === 'string'
  )
}

/** Creates the context for a new request. */
export function createContext(requestId: string, clientIp?: string): RequestContext {
  return new Context(requestId, clientIp)
}

/** The current request's context, or undefined outside a request. Survives awaits, timers and `Promise.all`. */
export function currentContext(): RequestContext | undefined {
  const store = storage.getStore()
  if (store === undefined || store instanceof Context) return store
  return isRequestContext(store) ? store : frames?.requestOf(store)
}

/** Trace and span id for a log line: the active span's when tracing is on, else the request's. */
export function currentSpanIds(ctx: RequestContext | undefined): Partial<SpanIds> | undefined {
  const store = storage.getStore()
  if (store !== undefined && store !== ctx && !isRequestContext(store)) {
    const ids = frames?.spanIdsOf(store)
    if (ids !== undefined) return ids
  }
  return ctx?.traceId === undefined ? undefined : { traceId: ctx.traceId, spanId: ctx.spanId }
}

/** Runs `fn` with `ctx` as the current context. */
export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn)
}

/**
 * The current frame, whatever entered it (a request context or a tracing context); for the
 * tracing context manager, which shares this storage.
 */
export function currentFrame(): object | undefined {
  return storage.getStore()
}

/** Runs `fn` with `frame` current (the tracing context manager's `with`). */
export function runInFrame<T>(frame: object, fn: () => T): T {
  return storage.run(frame, fn)
}

/** Makes `frame` current for the rest of this async execution (the context manager's `attach`). */
export function enterFrame(frame: object | undefined): void {
  storage.enterWith(frame as object)
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
  const ctx = currentContext()
  if (ctx) ctx.userId = String(userId)
}
