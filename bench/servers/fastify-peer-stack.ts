import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import Fastify from 'fastify'
import fastifyMetrics from 'fastify-metrics'
import pino from 'pino'
import { benchLogDestination, jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({
    loggerInstance: pino(benchLogDestination('peer')),
  })
  await app.register(fastifyMetrics as never, { endpoint: '/metrics' })
  await app.register(helmet)
  await app.register(rateLimit, { max: 1_000_000_000, timeWindow: 60_000 })
  await app.register(cookie)
  await app.register(csrf)
  app.addHook('onRequest', (request, reply, done) => {
    if (request.method === 'GET' || request.method === 'HEAD') return done()
    app.csrfProtection(request, reply, done)
  })
  jsonRoutes(app)
  return app
}
