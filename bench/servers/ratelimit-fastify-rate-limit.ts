// Peer: @fastify/rate-limit (fixed window) on bare Fastify, memory or Redis (BENCH_STORE).
import rateLimit from '@fastify/rate-limit'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({ logger: false })
  const store = process.env.BENCH_STORE ?? 'memory'
  await app.register(rateLimit, {
    global: false,
    max: Number(process.env.RATE_LIMIT_READ_PER_MINUTE ?? 300),
    timeWindow: 60_000,
    ...(store === 'memory' ? {} : { redis: new Redis(store, { enableOfflineQueue: false }) }),
  })
  jsonRoutes(app, { rateLimit: {} })
  return app
}
