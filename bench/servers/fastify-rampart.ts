// Fastify with Rampart's defaults (tracing off), logging JSON to a file.
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import pino from 'pino'
import rampart from 'rampart/fastify'
import { jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({ logger: false })
  await app.register(rampart, {
    service: 'bench',
    logFormat: 'json',
    logLevel: (process.env.BENCH_LOG_LEVEL ?? 'info') as 'info',
    logDestination: pino.destination({
      dest: join(tmpdir(), `rampart-bench-${process.pid}.log`),
      sync: true,
      minLength: 4096,
    }),
  })
  jsonRoutes(app, { rateLimit: process.env.BENCH_RATE_LIMIT ?? false })
  return app
}
