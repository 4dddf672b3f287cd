import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isInternalPath } from '../../config/defaults.js'
import type { Rampart } from '../../core/rampart.js'
import { installCrashHandlers } from '../../error-tracking/crash.js'
import { ensureTraceIds, reportRequestFailure } from '../../error-tracking/request.js'
import { startErrorTracking } from '../../error-tracking/start.js'
import { toHttpError } from '../../errors/normalize.js'
import type { RequestObservers } from './request-context.js'
import { routeOf } from './request-context.js'

const THROWN = 'rampartThrown'
const GONE = 'rampartClientGone'
const REPORTED = 'rampartReported'
type Failing = FastifyRequest & { [THROWN]?: unknown; [GONE]?: boolean; [REPORTED]?: boolean }

/**
 * Error tracking and crash handlers. A request answered 5xx is reported once, from the request
 * context's `onResponse` (after the answer went out), with what the handler threw when it
 * threw. A handler that fails after its client went away (no answer, no `onResponse`) is
 * reported when it throws, with the status its error would have been answered with. Installs no
 * hook when `SENTRY_DSN` is unset (and loads no Sentry module).
 */
export async function installErrorTracking(
  app: FastifyInstance,
  core: Rampart,
  observers: RequestObservers,
): Promise<void> {
  // Sentry first: when it cannot start, the plugin fails with nothing installed on `process`.
  await startErrorTracking(core)
  core.onClose('crash-handlers', installCrashHandlers(core))
  if (!core.errors.enabled) return

  const report = (request: Failing, status: number, route: string) => {
    if (request[REPORTED] === true) return
    request[REPORTED] = true
    reportRequestFailure(core.errors, core.fingerprint, {
      error: request[THROWN],
      status,
      method: request.method,
      route,
      ctx: request.rampartContext,
    })
  }

  app.decorateRequest(THROWN, undefined)
  app.decorateRequest(GONE, false)
  app.decorateRequest(REPORTED, false)
  // The error as thrown, before the error handler turns it into an answer.
  app.addHook('onError', (request: Failing, _reply, error, done) => {
    request[THROWN] = error
    if (request[GONE] === true) {
      const status = toHttpError(error, { exposeMessage: false }).status
      const route = request.rampartContext.route ?? routeOf(request)
      if (status >= 500 && !isInternalPath(route)) report(request, status, route)
    }
    done()
  })
  observers.add({
    onRequest(request, _reply, internal) {
      if (!internal) ensureTraceIds(request.rampartContext, request.headers.traceparent)
    },
    // `status` is what the access line says: a response that failed after its headers went
    // out is a 500 there while `reply.statusCode` still holds the 200 that was sent.
    onResponse(request: Failing, _reply, route, _seconds, internal, status) {
      if (internal || status < 500) return
      report(request, status, route)
    },
    onAbort(request: Failing) {
      request[GONE] = true
    },
  })
}
