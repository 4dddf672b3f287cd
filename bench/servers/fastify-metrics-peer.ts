// The peer for metrics: fastify-metrics (prom-client underneath) with route templates.
import Fastify from 'fastify'
import fastifyMetrics from 'fastify-metrics'
import { jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({ logger: false })
  await app.register(fastifyMetrics.default, {
    endpoint: '/metrics',
    defaultMetrics: { enabled: true },
  })
  jsonRoutes(app)
  return app
}
