import Fastify from 'fastify'
import { routeOf } from '../../../packages/rampart/src/adapters/fastify/request-context.js'
import { createContext, runWithContext } from '../../../packages/rampart/src/context/context.js'
import { requestIdFrom } from '../../../packages/rampart/src/context/request-id.js'
import { createRampart } from '../../../packages/rampart/src/core/rampart.js'
import { benchLogDestination, jsonRoutes } from '../routes.js'

export default async function build() {
  const parts = new Set((process.env.PARTS ?? '').split(','))
  const app = Fastify({ logger: false })
  const core = createRampart({
    service: 'bench',
    logFormat: 'json',
    logLevel: 'info',
    logDestination: benchLogDestination('parts'),
  })
  app.decorateRequest('ctx', undefined as never)
  app.addHook('onRequest', (request, reply, done) => {
    const ctx = parts.has('ctx')
      ? createContext(requestIdFrom(request.headers['x-request-id']), request.ip)
      : createContext('abc', undefined)
    ;(request as any).ctx = ctx
    reply.header('x-request-id', ctx.requestId)
    runWithContext(ctx, done)
  })
  app.addHook('preValidation', (request, _re, done) => {
    if (parts.has('route')) (request as any).ctx.route = routeOf(request)
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    const ctx = (request as any).ctx
    if (parts.has('line'))
      core.writeAccess('info', {
        request_id: ctx.requestId,
        method: request.method,
        route: ctx.route ?? '/items/:id',
        status: reply.statusCode,
        latency_ms: Math.round(reply.elapsedTime * 1000) / 1000,
        user_id: ctx.userId,
        trace_id: ctx.traceId,
        span_id: ctx.spanId,
      })
    done()
  })
  jsonRoutes(app)
  return app
}
