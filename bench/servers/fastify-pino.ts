import Fastify from 'fastify'
import pino from 'pino'
import { benchLogDestination, jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({
    loggerInstance: pino(benchLogDestination('peer')),
  })
  jsonRoutes(app)
  return app
}
