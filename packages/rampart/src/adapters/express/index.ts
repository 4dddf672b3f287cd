import { createServer, type Server } from 'node:http'
import type { ErrorRequestHandler, Express, RequestHandler } from 'express'
import type { RampartOptions } from '../../config/options.js'
import { createRampart, type Rampart } from '../../core/rampart.js'
import type { ShutdownOptions } from '../../core/shutdown.js'
import type { RouteConfig } from '../../pipeline/route-config.js'
import { ExpressPipeline, type RouteMiddleware } from './pipeline.js'
import { serveOn } from './server.js'
// Every augmentation a user touches must be reachable from the entry's .d.ts.
import './types.js'

export type { AuditLog, AuditReceipt, AuditRecord } from '../../audit/index.js'
export type { RampartOptions } from '../../config/options.js'
export { bindUser, currentContext } from '../../context/context.js'
export type { Rampart } from '../../core/rampart.js'
export type { ShutdownOptions } from '../../core/shutdown.js'
export { csrfField } from '../../csrf/field.js'
export { HttpError } from '../../errors/http-error.js'
export type { ReadinessCheck } from '../../health/health.js'
export type { RouteConfig } from '../../pipeline/route-config.js'
export { applyServerTimeouts, type ServerTimeouts } from '../../security/server-timeouts.js'
export type { RampartSpan, SpanAttributes } from '../../tracing/types.js'
export { withSpan } from '../../tracing/with-span.js'

/** Options of `rampart(app, options)`: everything in `RampartOptions`, plus graceful shutdown. */
export interface RampartExpressOptions extends RampartOptions {
  /** Graceful shutdown on SIGTERM/SIGINT once the app serves; `{ signals: false }` turns it off. */
  shutdown?: ShutdownOptions
}

/** What `rampart(app)` gives back: the per-route config, the end-of-app handlers, the server. */
export interface RampartExpress {
  /** The Rampart core of this app: config, logger, metrics, health, audit, shutdown. */
  readonly core: Rampart
  /** The app-wide middleware (`rampart(app)` already mounted it, first). */
  readonly middleware: RequestHandler
  /**
   * A route's Rampart settings, as a middleware among its handlers: where it stands, Rampart's
   * per-route work runs (rate limit, body parsing, CSRF body token, audit row).
   *
   * @example
   * app.get('/orders/:id', rp.route({ rateLimit: 'read', audit: 'order.read' }), handler)
   */
  route(config: RouteConfig): RouteMiddleware
  /** Answers what no route did with a 404 problem (or page). Mount after the routes. */
  readonly notFound: RequestHandler
  /** Turns every error into a negotiated RFC 9457 problem (or page). Mount last. */
  readonly errorHandler: ErrorRequestHandler
  /**
   * Mounts `notFound` and `errorHandler`, creates the HTTP server and serves it (timeouts,
   * answers outside routing, graceful shutdown); resolves once it listens.
   */
  listen(options?: { port?: number; host?: string | undefined }): Promise<Server>
  /** For a server the app made itself: timeouts, answers outside routing, graceful shutdown. */
  serve(server: Server): Promise<void>
  /** Closes the core (audit log, rate-limit store, tracing, logs). */
  close(): Promise<void>
}

/**
 * Rampart for an Express 5 app: call it before any route.
 *
 * @example
 * const app = express()
 * const rp = await rampart(app, { service: 'orders' })
 * app.get('/orders/:id', rp.route({ rateLimit: 'read' }), (req, res) => { res.json({ id: req.params.id }) })
 * await rp.listen({ port: 3000 })
 */
export async function rampart(
  app: Express,
  options: RampartExpressOptions = {},
): Promise<RampartExpress> {
  const core = createRampart(options)
  const pipeline = await ExpressPipeline.create(core, options)
  pipeline.install(app)
  let mounted = false
  const serve = async (server: Server) => {
    pipeline.handlers = serveOn(server, core, pipeline.rawAnswers, options.shutdown)
    await pipeline.ready()
  }
  return {
    core,
    middleware: pipeline.middleware,
    route(config) {
      const mw = ((_req, _res, next) => next()) as RequestHandler & { rampartRoute?: RouteConfig }
      mw.rampartRoute = Object.freeze({ ...config })
      return mw as RouteMiddleware
    },
    notFound: pipeline.notFound,
    errorHandler: pipeline.errorHandler,
    async listen({ port = 3000, host } = {}) {
      if (!mounted) {
        mounted = true
        app.use(pipeline.notFound, pipeline.errorHandler)
      }
      const server = createServer(app)
      await serve(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          resolve()
        })
      })
      return server
    },
    serve,
    close: () => core.close(),
  }
}

export default rampart
