import { pathOf } from '../pipeline/exchange.js'
import { defaultDetail, htmlPage } from './html-page.js'
import type { HttpError } from './http-error.js'
import { prefersHtml } from './negotiate.js'
import { type FieldError, toHttpError } from './normalize.js'

/** An RFC 9457 problem document as Rampart sends it (docs/errors.md). */
export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  instance: string
  request_id: string
  errors?: FieldError[]
}

export interface RenderInput {
  /** What was thrown (anything). */
  error: unknown
  /** The request's `Accept` header. */
  accept: string | undefined
  requestId: string
  /**
   * The request path or target (any query is cut off here). Non-printable and non-ASCII bytes
   * are percent-encoded; when no path is known (the HTTP parser rejected the request line) the
   * problem's `instance` is a URN naming the request id.
   */
  path?: string | undefined
  /** True in production: no error message of a 5xx reaches the client. */
  isProduction: boolean
}

export interface RenderedError {
  status: number
  /** Extra headers the error asked for (`retry-after`, `www-authenticate`…). */
  headers: Record<string, string>
  contentType: string
  body: string
  /** The normalised error (its `cause` is what was thrown). */
  httpError: HttpError
  /** True for a 5xx: a fault to log with its stack, not something the client did. */
  isFault: boolean
}

/** Answers whose body depends on `Accept` (all of them: HTML page or problem) say so to caches. */
const VARY = 'Accept'

/**
 * The problem's `instance`: the path without its query, every byte outside printable ASCII (and
 * `"<>\`) percent-encoded, at most 1024 characters; or `urn:rampart:request:<id>` when the path
 * is unknown or carries a malformed escape.
 */
export function problemInstance(path: string | undefined, requestId: string): string {
  if (path === undefined || !path.startsWith('/')) return `urn:rampart:request:${requestId}`
  const bare = pathOf(path)
  // A malformed escape (`/%ZZ`) is what the router refused: it is not repeated back.
  if (/%(?![0-9A-Fa-f]{2})/.test(bare)) return `urn:rampart:request:${requestId}`
  let out = ''
  for (const byte of Buffer.from(bare, 'utf8')) {
    out +=
      byte > 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x3c && byte !== 0x3e && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
    if (out.length >= 1024) break
  }
  return out.slice(0, 1024)
}

/**
 * Renders anything thrown as an HTML page or an `application/problem+json` body. Framework-free:
 * adapters call it from their error and not-found handlers.
 *
 * @example
 * const out = renderError({ error: new HttpError(404), accept: 'text/html', requestId: 'r1', isProduction: true })
 * reply.code(out.status).headers(out.headers).type(out.contentType).send(out.body)
 */
export function renderError(input: RenderInput): RenderedError {
  const http = toHttpError(input.error, { exposeMessage: !input.isProduction })
  const status = http.status >= 400 && http.status <= 599 ? http.status : 500
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(http.headers)) headers[name.toLowerCase()] = value
  headers['cache-control'] = 'no-store'
  headers.vary = headers.vary === undefined ? VARY : `${headers.vary}, ${VARY}`
  const errors = http.errors === undefined ? undefined : [...http.errors]
  if (prefersHtml(input.accept)) {
    return {
      status,
      headers,
      contentType: 'text/html; charset=utf-8',
      body: htmlPage({
        status,
        title: http.title,
        detail: http.detail,
        requestId: input.requestId,
        errors,
        retryAfter: headers['retry-after'],
      }),
      httpError: http,
      isFault: status >= 500,
    }
  }
  const problem: Problem = {
    type: http.type,
    title: http.title,
    status,
    detail: http.detail ?? defaultDetail(status),
    instance: problemInstance(input.path, input.requestId),
    request_id: input.requestId,
    ...(errors === undefined ? {} : { errors }),
  }
  return {
    status,
    headers,
    contentType: 'application/problem+json; charset=utf-8',
    body: JSON.stringify(problem),
    httpError: http,
    isFault: status >= 500,
  }
}
