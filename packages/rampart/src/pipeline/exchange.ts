import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { performance } from 'node:perf_hooks'
import { isInternalPath } from '../config/defaults.js'
import type { RequestContext } from '../context/context.js'
import type { RouteConfig } from './route-config.js'

/**
 * The framework-neutral view of one request and its answer: what every capability reads and
 * writes instead of a framework's request or reply. An adapter makes exactly one per request
 * (its own subclass, which translates the response side to the framework) and keeps it as the
 * request's only Rampart state: every per-request flag a capability needs is a field here,
 * declared with its default so every exchange has one shape (no WeakMaps, no symbols).
 *
 * Each derived fact (path, client address, internal or not) is computed once, by the adapter
 * or on first read, and kept.
 */
export abstract class Exchange {
  // ---- request facts (set by the adapter when the exchange is made) ----
  /** The method as it came on the wire (`_method` and override headers are never read). */
  abstract readonly method: string
  /** The request target as received, query string included. */
  abstract readonly url: string
  abstract readonly headers: IncomingHttpHeaders
  /**
   * Node's request message: its socket address (the client IP before `TRUSTED_PROXIES`) and the
   * body stream as the HTTP parser delivers it (the upload limit watches it whoever reads it).
   */
  abstract readonly incoming: IncomingMessage
  /** `1.1`, `2.0`: the HTTP version of the request (read by tracing only). */
  abstract readonly httpVersion: string
  /** Request id, principal, trace ids and client address; entered as the async context. */
  abstract readonly context: RequestContext
  /** The route template (`/orders/:id`), or `unmatched` when no route matched. */
  route = 'unmatched'
  /** The matched route's Rampart options (`rateLimit`, `audit`, `csrf`, …). */
  config: RouteConfig = NO_ROUTE_CONFIG
  /** Rampart's own endpoints (`/metrics`, `/healthz`, `/readyz`, `/_rampart…`): logged at debug, not counted or traced. */
  internal = false
  /** True when a router matched the request (a 404 for an unrouted path is not a CSRF refusal). */
  matched = false

  // ---- per-request state of the capabilities ----
  /** The end of this exchange was recorded (response finished or connection closed). */
  finished = false
  /** Counted in `http_requests_in_flight` until it ends. */
  counted = false
  /** The server failed after the headers were sent: logged and counted as a 500, not a 499. */
  failedAfterHeaders = false
  /** A security event was reported for this answer (the status-based report skips it). */
  securityReported = false
  /** This answer carries a CSRF token (a page with a form): never cached. */
  csrfIssued = false
  /** Session whose body token the CSRF check reads once the body is parsed. */
  csrfPendingSession: string | undefined = undefined
  /** The audit row `attempted` was written: a failed answer adds an `outcome: failed` row. */
  auditRecorded = false
  /** The server span of this request, when tracing is on. */
  span:
    | { finish(status: number, user?: string): void; abort(): void; recordError(e: unknown): void }
    | undefined = undefined
  /** Why a multipart upload was refused while streaming (answered instead of the reader's error). */
  uploadRefusal: Error | undefined = undefined
  /** What the handler threw, before the error handler turned it into an answer (error tracking). */
  thrown: unknown = undefined
  /** The client went away before the answer finished (`abort` ran). */
  clientGone = false
  /** This request's failure was reported to error tracking (once per request). */
  errorReported = false

  /** `performance.now()` when the adapter made the exchange (Rampart's first step of the request). */
  readonly startedAt = performance.now()

  #path: string | undefined

  /** Seconds since the exchange was made: the latency logged, counted and traced at its end. */
  elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000
  }

  /** The path part of `url` (no query string), computed once. */
  get path(): string {
    if (this.#path === undefined) this.#path = pathOf(this.url)
    return this.#path
  }

  /** Route parameters (`/users/:username` → `{ username }`); empty before routing. */
  abstract params(): Readonly<Record<string, string | undefined>>
  /** One query parameter as parsed by the framework. */
  abstract query(name: string): string | string[] | undefined

  // ---- the answer (translated by the adapter) ----
  abstract get statusCode(): number
  abstract get headersSent(): boolean
  abstract setHeader(name: string, value: string | readonly string[]): void
  /** Sets a block of headers computed ahead (the security headers): one call, whatever the count. */
  abstract setHeaders(block: HeaderBlock): void
  abstract getHeader(name: string): unknown
  abstract hasHeader(name: string): boolean
}

/** Headers computed once and written on many answers (`setHeaders`). */
export type HeaderBlock = Readonly<Record<string, string>>

const NO_ROUTE_CONFIG: RouteConfig = Object.freeze({})

/**
 * Rampart's own endpoints are logged at debug and neither counted, traced nor rate limited.
 * Decided on the matched route, not the raw URL (the router decodes `/%5Frampart/…` to
 * `/_rampart/…`, so the raw URL would let such a request be served by the console yet counted
 * as traffic); a request no route matched is judged by its path.
 */
export function isInternalRequest(matched: boolean, route: string, path: string): boolean {
  return isInternalPath(matched ? route : path)
}

/** The path part of a request target: everything before the first `?`. The only copy. */
export function pathOf(url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}
