import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isInternalPath } from '../../config/defaults.js'
import { createContext, currentContext, runWithContext } from '../../context/context.js'
import { requestIdFrom } from '../../context/request-id.js'
import type { Rampart } from '../../core/rampart.js'

/** The route template of a request, or `unmatched` when no route matched. */
export function routeOf(request: FastifyRequest): string {
  return request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched')
}

/**
 * Request id, async context and the access log: the first hook to run and the last to log.
 * The context is entered in `onRequest` and entered again in `preValidation`, because body
 * parsing resumes in the socket's async context, not the request's.
 */
export function installRequestContext(app: FastifyInstance, core: Rampart): void {
  const { logger } = core
  app.decorateRequest('rampartContext', undefined as never)

  app.addHook('onRequest', (request, reply, done) => {
    const ctx = createContext(requestIdFrom(request.headers['x-request-id']), request.ip)
    request.rampartContext = ctx
    request.log = logger
    reply.header('x-request-id', ctx.requestId)
    runWithContext(ctx, done)
  })

  app.addHook('preValidation', (request, _reply, done) => {
    const ctx = request.rampartContext
    ctx.route = routeOf(request)
    // Requests without a body never left the context; skip the second `run` for them.
    if (currentContext() === ctx) done()
    else runWithContext(ctx, done)
  })

  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const ctx = request.rampartContext
    const status = reply.statusCode
    const level = isInternalPath(request.url) ? 'debug' : status >= 500 ? 'error' : 'info'
    core.writeAccess(level, {
      request_id: ctx.requestId,
      method: request.method,
      route: ctx.route ?? routeOf(request),
      status,
      latency_ms: Math.round(reply.elapsedTime * 1000) / 1000,
      user_id: ctx.userId,
      trace_id: ctx.traceId,
      span_id: ctx.spanId,
    })
    done()
  })
}
