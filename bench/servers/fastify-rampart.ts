import Fastify from 'fastify'
import rampart from 'rampart/fastify'
import { benchLogDestination, jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({ logger: false })
  await app.register(rampart, {
    service: 'bench',
    logFormat: 'json',
    logLevel: (process.env.BENCH_LOG_LEVEL ?? 'info') as 'info',
    logDestination: benchLogDestination('rampart'),
  })
  jsonRoutes(app, { rateLimit: process.env.BENCH_RATE_LIMIT ?? false })
  return app
}
