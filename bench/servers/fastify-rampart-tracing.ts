// Fastify with Rampart's defaults and tracing on: 100 % sampling, batch export over
// OTLP/HTTP to the suite's local receiver (OTEL_EXPORTER_OTLP_ENDPOINT set by bench/tracing.ts).
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import pino from 'pino'
import rampart from 'rampart/fastify'
import { jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({ logger: false })
  await app.register(rampart, {
    service: 'rampart-tracing',
    logFormat: 'json',
    logDestination: pino.destination({
      dest: join(tmpdir(), `rampart-bench-${process.pid}.log`),
      sync: true,
      minLength: 4096,
    }),
  })
  jsonRoutes(app)
  return app
}
