// Peer: @fastify/rate-limit (fixed window) on bare Fastify, memory or Redis (BENCH_STORE).
import rateLimit from '@fastify/rate-limit'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { BENCH_LIMIT_PER_MINUTE, jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({ logger: false })
  const store = process.env.BENCH_STORE ?? 'memory'
  await app.register(rateLimit, {
    global: false,
    max: BENCH_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    ...(store === 'memory' ? {} : { redis: new Redis(store, { enableOfflineQueue: false }) }),
  })
  jsonRoutes(app, { rateLimit: {} })
  return app
}
