// Bare Fastify plus only Rampart's rate limiter (no access log, no context): the limiter's own
// cost, comparable with @fastify/rate-limit on bare Fastify. Store from BENCH_STORE.
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import pino from 'pino'
import { installRateLimit } from '../../packages/rampart/src/adapters/fastify/ratelimit.js'
import { createRampart } from '../../packages/rampart/src/core/rampart.js'
import { jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({ logger: false })
  const core = createRampart({
    service: 'bench',
    logFormat: 'json',
    logDestination: pino.destination({
      dest: join(tmpdir(), `rampart-bench-${process.pid}.log`),
      sync: true,
    }),
    rateLimit: { store: process.env.BENCH_STORE ?? 'memory' },
  })
  app.decorate('rampart', core)
  await installRateLimit(app, core)
  app.addHook('onClose', () => core.close())
  jsonRoutes(app, { rateLimit: 'read' })
  return app
}
