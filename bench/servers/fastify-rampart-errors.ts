import Fastify from 'fastify'
import rampart from 'rampart/fastify'
import { benchLogDestination } from './routes.js'

/** Rampart's defaults and one route that always fails (500): the path error tracking reports. */
export default async function build() {
  const app = Fastify({ logger: false })
  await app.register(rampart, {
    service: 'bench-errors',
    logFormat: 'json',
    logDestination: benchLogDestination('rampart-errors'),
    rateLimit: { policies: { read: { perMinute: 100_000_000 } } },
  })
  app.get<{ Params: { id: string } }>('/fail/:id', async (request) => {
    throw Object.assign(new Error(`order ${request.params.id} failed`), { code: 'E_BENCH' })
  })
  return app
}
