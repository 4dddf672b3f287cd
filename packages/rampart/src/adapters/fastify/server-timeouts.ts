import type { FastifyInstance } from 'fastify'
import type { Rampart } from '../../core/rampart.js'
import { applyServerTimeouts } from '../../security/server-timeouts.js'

/**
 * Applies Rampart's request, headers and keep-alive timeouts to the app's server when the app
 * is ready (before it listens). Fastify turns Node's request timeout off and keeps idle
 * connections 72 s; the server is the one Fastify made or the one a `serverFactory` returned,
 * so both get Rampart's values (`REQUEST_TIMEOUT_S`, `HEADERS_TIMEOUT_S`,
 * `KEEP_ALIVE_TIMEOUT_S`), which override the factory's `requestTimeout` and `keepAliveTimeout`.
 */
export function installServerTimeouts(app: FastifyInstance, core: Rampart): void {
  app.addHook('onReady', (done) => {
    applyServerTimeouts(app.server, core.config.timeouts)
    done()
  })
}
