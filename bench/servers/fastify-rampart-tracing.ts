import Fastify from 'fastify'
import rampart from 'rampart/fastify'
import { benchLogDestination, jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({ logger: false })
  await app.register(rampart, {
    service: 'rampart-tracing',
    logFormat: 'json',
    logDestination: benchLogDestination('rampart'),
  })
  jsonRoutes(app)
  return app
}
