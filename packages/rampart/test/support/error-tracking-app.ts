import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { bindUser, HttpError, rampart } from '../../src/adapters/fastify/index.js'
import type { RampartOptions } from '../../src/config/options.js'
import type { ErrorReporter } from '../../src/error-tracking/reporter.js'
import { type LogCapture, logCapture } from './log-capture.js'

/**
 * The app the error-tracking suite drives, whatever the framework: the same routes behind the
 * same URLs. An adapter's conformance run passes its own `AppFactory` (Fastify's is below).
 *
 * Routes:
 * - `GET /items/:id/fail` and `POST /items/:id/fail`: bind the user `USER_ID`, then throw an
 *   error whose message carries `token=` and whose `details.secret` a canary (500);
 * - `GET /items/:id/slow-fail`: throw after 300 ms (its client may be gone by then);
 * - `GET /items/:id/unavailable`: answer 503 without throwing;
 * - `GET /items/:id`: 200; `POST /items`: 422 (validation failed); anything else: 404.
 */
export interface AppUnderTest {
  readonly url: string
  readonly logs: LogCapture
  /** The app's `core.errors`. */
  readonly errors: ErrorReporter
  /** The app's keyed fingerprint (what reports carry instead of the user id). */
  fingerprint(value: string): string
  close(): Promise<void>
}

export type AppFactory = (options: RampartOptions) => Promise<AppUnderTest>

/** Values that must never leave the process; each test puts them where a secret would be. */
export const CANARY = {
  cookie: 'canary-cookie-7f3a91',
  authorization: 'canary-bearer-2c8e44',
  password: 'canary-password-5b1d07',
  token: 'canary-token-9e6c12',
  body: 'canary-body-41aa3f',
  nested: 'canary-nested-d07b58',
  message: 'canary-message-6b2f90',
} as const

/** The user the failing routes bind: reports may carry its fingerprint only. */
export const USER_ID = 'alice@example.com'

/** Fastify's app for the suite. */
export const fastifyApp: AppFactory = async (options) => {
  const logs = logCapture()
  const app = Fastify()
  await app.register(rampart, {
    service: 'conformance',
    nodeEnv: 'test',
    logDestination: logs.stream,
    shutdown: { signals: false },
    ...options,
  })
  const fail = () => {
    bindUser(USER_ID)
    throw Object.assign(new Error(`lookup failed for token=${CANARY.message}`), {
      details: { reason: 'backend down', secret: CANARY.nested },
    })
  }
  app.get('/items/:id/fail', async () => fail())
  // A webhook-like route (no CSRF token) so the cookie canary reaches the handler.
  app.post('/items/:id/fail', { config: { csrf: false } }, async () => fail())
  app.get('/items/:id/slow-fail', async () => {
    await new Promise((resolve) => setTimeout(resolve, 300))
    throw new Error('slow failure')
  })
  app.get('/items/:id/unavailable', async (_request, reply) => reply.code(503).send({}))
  // Fails after its 200 headers went out: the access line and metrics count it as a 500.
  app.get('/items/:id/half', async (_request, reply) => {
    reply.raw.writeHead(200, { 'content-type': 'text/plain' })
    reply.raw.write('half a body')
    await new Promise((resolve) => setTimeout(resolve, 20))
    throw new Error('failed after writing')
  })
  app.get('/items/:id', async () => ({ ok: true }))
  app.post('/items', async () => {
    throw new HttpError(422, { detail: 'name is required' })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    logs,
    errors: app.rampart.errors,
    fingerprint: app.rampart.fingerprint,
    close: () => app.close(),
  }
}
