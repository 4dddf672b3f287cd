import type { FastifyInstance, RouteHandlerMethod } from 'fastify'
import type { Rampart } from '../../core/rampart.js'
import { takeOverServer } from '../../core/server.js'
import { createShutdown, type ShutdownOptions } from '../../core/shutdown.js'
import type { RawAnswers } from '../../pipeline/raw-answers.js'
import { applyServerTimeouts } from '../../security/server-timeouts.js'

/**
 * The app's node server: Rampart's answers before and outside routing (core/server.ts), its
 * timeouts (applied when the app is ready, over a `serverFactory`'s own) and graceful shutdown
 * (core/shutdown.ts), at Fastify's points.
 */
export function installServer(
  app: FastifyInstance,
  core: Rampart,
  raw: RawAnswers,
  options: ShutdownOptions | undefined,
): void {
  // Router rejections reach Rampart only through the `frameworkErrors` server option, which a
  // plugin cannot set: say so once at start-up when it is missing. Fastify keeps its options
  // under a symbol it does not export; when that changes the hint is simply not given.
  const symbol = Object.getOwnPropertySymbols(app).find((s) => s.description === 'fastify.options')
  const given = symbol === undefined ? undefined : (app as never)[symbol]
  if (given !== undefined && (given as { frameworkErrors?: unknown }).frameworkErrors === undefined)
    core.logger.warn(
      { event: 'setup.framework_errors_unset' },
      "Fastify answers malformed URLs itself (no request id, security headers or access line): pass frameworkErrors from 'rampart/fastify' to Fastify({ frameworkErrors })",
    )
  // Fastify's own raw 503 while closing is taken over only when its `return503OnClosing` is on.
  const answerClosing =
    (app.initialConfig as { return503OnClosing?: boolean }).return503OnClosing !== false
  const markClosing = takeOverServer(app.server, raw, answerClosing)
  // Before the drain's preClose, which waits: Fastify refuses new requests once closing starts.
  if (answerClosing)
    app.addHook('preClose', (done) => {
      markClosing()
      done()
    })

  const shutdown = createShutdown(
    core,
    () => app.server,
    () => app.close(),
    options,
  )
  if (shutdown !== undefined) {
    const { handlers } = shutdown
    app.addHook('onRoute', (route) => {
      const handler = route.handler as (...args: unknown[]) => unknown
      route.handler = function tracked(this: unknown, ...args: unknown[]) {
        handlers.enter()
        let result: unknown
        try {
          result = handler.apply(this, args)
        } catch (err) {
          handlers.exit()
          throw err
        }
        return handlers.settled(result)
      } as RouteHandlerMethod
    })
    app.addHook('preClose', () => shutdown.drain())
    app.addHook('onListen', (done) => {
      shutdown.arm()
      done()
    })
    app.addHook('onClose', (_instance, done) => {
      shutdown.disarm()
      done()
    })
  }
  app.addHook('onReady', (done) => {
    applyServerTimeouts(app.server, core.config.timeouts)
    done()
  })
}
