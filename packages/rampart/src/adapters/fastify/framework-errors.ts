import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { requestIdFrom } from '../../context/request-id.js'
import { renderError } from '../../errors/render.js'
import { cspDirectives } from '../../security/headers.js'

function cspHeader(isProduction: boolean): string {
  return Object.entries(cspDirectives(isProduction))
    .map(([name, values]) => [name, ...values].join(' '))
    .join('; ')
}

/**
 * Fastify answers a few malformed requests (a bad percent-encoding in the URL, an over-long
 * route parameter) before any hook or error handler runs, with its own JSON that echoes the raw
 * path and names the library's error code. A plugin cannot change that; the `frameworkErrors`
 * server option can. Pass this function there and those answers get the same problem/page
 * rendering, request id and security headers as every other error.
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
  const isProduction = request.server.rampart?.config.isProduction ?? true
  const requestId = requestIdFrom(request.headers['x-request-id'])
  const out = renderError({ error, accept: request.headers.accept, requestId, isProduction })
  reply
    .code(out.status)
    .headers({
      ...out.headers,
      'x-request-id': requestId,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'content-security-policy': cspHeader(isProduction),
    })
    .type(out.contentType)
    .send(out.body)
}
