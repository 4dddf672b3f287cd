// Bare Fastify: the baseline every suite compares against.
import Fastify from 'fastify'
import { jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({ logger: false })
  jsonRoutes(app)
  return app
}
