import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { requestIdFrom } from '../../context/request-id.js'
import { renderError } from '../../errors/render.js'
import { defaultSecurityHeaders, headersFor } from '../../security/headers.js'

/**
 * Fastify answers a few malformed requests (a bad percent-encoding in the URL, an over-long
 * route parameter) before any hook or error handler runs, with its own JSON that echoes the raw
 * path and names the library's error code. A plugin cannot change that; the `frameworkErrors`
 * server option can. Pass this function there and those answers get what every other answer
 * gets: the problem/page rendering, a request id, the header policy, an access line, the RED
 * metrics (`route="unmatched"`) and a security event where it is one.
 *
 * @example
 * import rampart, { frameworkErrors } from 'rampart/fastify'
 * const app = Fastify({ frameworkErrors })
 * await app.register(rampart)
 */
export function frameworkErrors(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const raw = request.server.rampart?.rawAnswers
  if (raw !== undefined) {
    raw.answer(request.raw, reply.raw, error)
    return
  }
  // Rampart is not registered (yet): render without the accounting.
  const requestId = requestIdFrom(request.headers['x-request-id'])
  const out = renderError({
    error,
    accept: request.headers.accept,
    requestId,
    path: request.url,
    isProduction: true,
  })
  reply
    .code(out.status)
    .headers({
      ...headersFor(defaultSecurityHeaders(true), !out.contentType.startsWith('text/html')),
      ...out.headers,
      'x-request-id': requestId,
    })
    .type(out.contentType)
    .send(out.body)
}
