import Fastify from 'fastify'
import rampart from 'rampart/fastify'
import { BENCH_LIMIT_PER_MINUTE, benchLogDestination, jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({ logger: false })
  await app.register(rampart, {
    service: 'bench',
    logFormat: 'json',
    logLevel: (process.env.BENCH_LOG_LEVEL ?? 'info') as 'info',
    logDestination: benchLogDestination('rampart'),
    rateLimit: { policies: { read: { perMinute: BENCH_LIMIT_PER_MINUTE } } },
  })
  jsonRoutes(app, { rateLimit: process.env.BENCH_RATE_LIMIT ?? false })
  return app
}
