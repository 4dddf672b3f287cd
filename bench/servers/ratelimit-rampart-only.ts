import Fastify from 'fastify'
import { installRateLimit } from '../../packages/rampart/src/adapters/fastify/ratelimit.js'
import { createRampart } from '../../packages/rampart/src/core/rampart.js'
import { BENCH_LIMIT_PER_MINUTE, benchLogDestination, jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({ logger: false })
  const core = createRampart({
    service: 'bench',
    logFormat: 'json',
    logDestination: benchLogDestination('rampart'),
    rateLimit: {
      store: process.env.BENCH_STORE ?? 'memory',
      policies: { read: { perMinute: BENCH_LIMIT_PER_MINUTE } },
    },
  })
  app.decorate('rampart', core)
  await installRateLimit(app, core)
  app.addHook('onClose', () => core.close())
  jsonRoutes(app, { rateLimit: 'read' })
  return app
}
