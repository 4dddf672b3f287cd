import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Rampart } from '../../core/rampart.js'
import { installCrashHandlers } from '../../error-tracking/crash.js'
import { ensureTraceIds, reportRequestFailure } from '../../error-tracking/request.js'
import { startErrorTracking } from '../../error-tracking/start.js'
import type { RequestObservers } from './request-context.js'

const THROWN = 'rampartThrown'
type Failing = FastifyRequest & { [THROWN]?: unknown }

/**
 * Error tracking and crash handlers. A request answered 5xx is reported once, from the request
 * context's `onResponse` (after the answer went out), with what the handler threw when it
 * threw. Installs no hook when `SENTRY_DSN` is unset (and loads no Sentry module).
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

  app.decorateRequest(THROWN, undefined)
  // The error as thrown, before the error handler turns it into an answer.
  app.addHook('onError', (request: Failing, _reply, error, done) => {
    request[THROWN] = error
    done()
  })
  observers.add({
    onRequest(request, _reply, internal) {
      if (!internal) ensureTraceIds(request.rampartContext, request.headers.traceparent)
    },
    onResponse(request: Failing, reply, route, _seconds, internal) {
      if (internal || reply.statusCode < 500) return
      reportRequestFailure(core.errors, core.fingerprint, {
        error: request[THROWN],
        status: reply.statusCode,
        method: request.method,
        route,
        ctx: request.rampartContext,
      })
    },
  })
}
