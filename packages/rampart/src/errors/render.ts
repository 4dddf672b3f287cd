import { htmlPage } from './html-page.js'
import type { HttpError } from './http-error.js'
import { prefersHtml } from './negotiate.js'
import { type FieldError, toHttpError } from './normalize.js'

/** An RFC 9457 problem document as Rampart sends it (DESIGN §7). */
export interface Problem {
  type: string
  title: string
  status: number
  detail?: string
  instance?: string
  request_id: string
  errors?: FieldError[]
}

export interface RenderInput {
  /** What was thrown (anything). */
  error: unknown
  /** The request's `Accept` header. */
  accept: string | undefined
  requestId: string
  /** The request path (query left out); omitted from the problem when it is not plain ASCII. */
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

const PRINTABLE_PATH = /^\/[\x21-\x7e]{0,1023}$/

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
    ...(http.detail === undefined ? {} : { detail: http.detail }),
    ...(input.path !== undefined && PRINTABLE_PATH.test(input.path)
      ? { instance: input.path }
      : {}),
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
