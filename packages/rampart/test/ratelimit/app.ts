import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import rampart, { bindUser } from 'rampart/fastify'
import type { RampartOptions } from '../../src/config/options.js'
import { type LogCapture, logCapture } from '../support/log-capture.js'

export interface TestApp {
  app: FastifyInstance
  logs: LogCapture
}

/**
 * A Fastify app with Rampart and a stand-in for authentication: a global onRequest hook that
 * binds the principal named in `x-user` (as a service's session or bearer check would).
 * Routes: `GET /items/:id` (policy `t10`), `POST /login` (`auth`), `GET /open` (no policy).
 */
export async function testApp(
  options: RampartOptions = {},
  fastify: FastifyServerOptions = {},
): Promise<TestApp> {
  const logs = logCapture()
  const app = Fastify(fastify)
  await app.register(rampart, {
    service: 'ratelimit-test',
    nodeEnv: 'test',
    logFormat: 'json',
    logLevel: 'info',
    logDestination: logs.stream,
    ...options,
    rateLimit: {
      ...options.rateLimit,
      policies: { t10: { perMinute: 10 }, ...options.rateLimit?.policies },
    },
  })
  app.addHook('onRequest', (request, _reply, done) => {
    const user = request.headers['x-user']
    if (typeof user === 'string') bindUser(user)
    done()
  })
  app.get<{ Params: { id: string } }>(
    '/items/:id',
    { config: { rateLimit: 't10' } },
    async (r) => ({
      id: r.params.id,
    }),
  )
  app.post('/login', { config: { rateLimit: 'auth' } }, async () => ({ ok: true }))
  app.get('/open', async () => ({ ok: true }))
  app.get('/off', { config: { rateLimit: false } }, async () => ({ ok: true }))
  await app.ready()
  return { app, logs }
}

/** A random lowercase name, to keep tests that share one Redis apart. */
export function randomName(prefix = 't'): string {
  return `${prefix}${Math.random().toString(36).slice(2, 10)}`
}

/** The value of one series in the app's metrics text (`name{labels}`), or undefined. */
export async function metricValue(
  app: FastifyInstance,
  series: string,
): Promise<number | undefined> {
  const { body } = await app.rampart.metrics.render()
  const line = body.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}
