import type { Rampart } from '../core/rampart.js'
import type { Exchange } from '../pipeline/exchange.js'
import { HttpError } from './http-error.js'
import { renderError } from './render.js'

/** What an adapter writes for an error: the whole answer, replacing any header set half-way. */
export interface ErrorAnswer {
  readonly status: number
  /** Extra headers the error asked for (`retry-after`, `www-authenticate`…). */
  readonly headers: Readonly<Record<string, string>>
  readonly contentType: string
  readonly body: string
}

/**
 * The answer to an error on a request (the error and not-found handlers of every adapter), and
 * its `request.failed` / `request.rejected` line. Returns `undefined` when the headers are out
 * already: the failure is recorded (`failedAfterHeaders`) and the adapter must cut the response
 * off, so the client never takes a truncated body for a whole one.
 *
 * @example
 * const out = errorAnswer(core, ex, err)
 * if (out === undefined) res.destroy()
 * else res.status(out.status).set(out.headers).type(out.contentType).send(out.body)
 */
export function errorAnswer(core: Rampart, ex: Exchange, error: unknown): ErrorAnswer | undefined {
  if (ex.headersSent) {
    failedAfterHeaders(core, ex, error)
    return undefined
  }
  const requestId = ex.context.requestId
  // A refused upload's reader fails with whatever it makes of the cut-off body: answer the refusal.
  const thrown = ex.uploadRefusal ?? error
  let out: ReturnType<typeof renderError>
  try {
    out = renderError({
      error: thrown,
      accept: ex.headers.accept,
      requestId,
      path: ex.path,
      isProduction: core.config.isProduction,
    })
  } catch {
    out = renderError({
      error: new HttpError(500),
      accept: undefined,
      requestId,
      isProduction: true,
    })
  }
  const line = {
    request_id: requestId,
    method: ex.method,
    route: ex.route,
    status: out.status,
    err: error,
  }
  // A 503 is a dependency that is down: logged once per outage where it is detected
  // (`dependency.unavailable`), so here at debug like a refusal, not once per request.
  if (out.isFault && out.status !== 503)
    core.logger.error({ event: 'request.failed', ...line }, 'request failed')
  else if (out.status !== 404)
    core.logger.debug({ event: 'request.rejected', ...line }, 'request rejected')
  return { status: out.status, headers: out.headers, contentType: out.contentType, body: out.body }
}

/**
 * Records a failure after the headers were sent (a handler that threw after writing, a body
 * stream that errored): logged now, and the request is logged and counted as a 500 when its
 * connection closes, not as a client hang-up.
 */
export function failedAfterHeaders(core: Rampart, ex: Exchange, error: unknown): void {
  ex.failedAfterHeaders = true
  core.logger.error(
    {
      event: 'request.failed',
      request_id: ex.context.requestId,
      method: ex.method,
      route: ex.route,
      status: 500,
      err: error,
    },
    'request failed after its headers were sent',
  )
}
