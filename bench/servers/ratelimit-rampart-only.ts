import Fastify from 'fastify'
import { mountPipeline } from '../../packages/rampart/src/adapters/fastify/translate.js'
import { createRampart } from '../../packages/rampart/src/core/rampart.js'
import { Pipeline } from '../../packages/rampart/src/pipeline/pipeline.js'
import {
  createCoreRateLimiter,
  rateLimitFeature,
} from '../../packages/rampart/src/ratelimit/feature.js'
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
  const limiter = await createCoreRateLimiter(core)
  mountPipeline(app, core, new Pipeline([rateLimitFeature(core, limiter)]))
  app.addHook('onClose', () => core.close())
  jsonRoutes(app, { rateLimit: 'read' })
  return app
}
