// Peer: rate-limiter-flexible (fixed window) in an onRequest hook on bare Fastify, with the
// same headers Rampart sends; memory or Redis (BENCH_STORE).
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible'
import { BENCH_LIMIT_PER_MINUTE, jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({ logger: false })
  const store = process.env.BENCH_STORE ?? 'memory'
  const points = BENCH_LIMIT_PER_MINUTE
  const limiter =
    store === 'memory'
      ? new RateLimiterMemory({ points, duration: 60 })
      : new RateLimiterRedis({
          points,
          duration: 60,
          storeClient: new Redis(store, { enableOfflineQueue: false }),
        })
  app.addHook('onRequest', async (request, reply) => {
    try {
      const r = await limiter.consume(request.ip)
      reply.header('ratelimit-policy', `"read";q=${points};w=60`)
      reply.header(
        'ratelimit',
        `"read";r=${r.remainingPoints};t=${Math.ceil(r.msBeforeNext / 1000)}`,
      )
    } catch (e) {
      const r = e as RateLimiterRes
      reply.header('retry-after', String(Math.ceil(r.msBeforeNext / 1000)))
      return reply.code(429).send({ title: 'Too Many Requests' })
    }
  })
  jsonRoutes(app)
  return app
}
