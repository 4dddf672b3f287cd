import Fastify from 'fastify'
import rampart from 'rampart/fastify'
import { benchLogDestination, jsonRoutes } from './routes.js'

export default async function build() {
  // Starting the OpenTelemetry SDK under valgrind on a loaded machine takes longer than Fastify's 10 s.
  const app = Fastify({ logger: false, pluginTimeout: 120_000 })
  await app.register(rampart, {
    service: 'rampart-tracing',
    logFormat: 'json',
    logDestination: benchLogDestination('rampart'),
  })
  jsonRoutes(app)
  return app
}
