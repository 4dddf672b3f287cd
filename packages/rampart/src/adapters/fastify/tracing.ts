import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Rampart } from '../../core/rampart.js'
import { attachTracing } from '../../tracing/attach.js'
import type { ServerSpan } from '../../tracing/types.js'
import type { RequestObservers } from './request-context.js'

const SPAN = Symbol('rampart.tracing.span')
type Traced = FastifyRequest & { [SPAN]?: ServerSpan }

/**
 * One server span per request, named `METHOD /route/template`, parented on the caller's
 * `traceparent`; its ids go into the request context (log lines, exemplars). Rampart's own
 * paths are not traced. Installs nothing, and loads no OpenTelemetry module, when tracing is off.
 */
export async function installTracing(
  app: FastifyInstance,
  core: Rampart,
  observers: RequestObservers,
): Promise<void> {
  const runtime = await attachTracing(core)
  if (runtime === undefined) return

  // The span starts and ends inside the request context's own hooks (observers); OpenTelemetry's
  // context manager shares Rampart's async storage: one storage entered per request.
  observers.add({
    onRequest(request: Traced, _reply, internal) {
      if (internal) return
      const { headers } = request
      const { route } = request.rampartContext
      request[SPAN] = runtime.startServerSpan(
        {
          method: request.method,
          route: route === 'unmatched' ? undefined : route,
          url: request.url,
          headers,
          userAgent: headers['user-agent'],
          httpVersion: request.raw.httpVersion,
        },
        request.rampartContext,
      )
    },
    onResponse(request: Traced, _reply: FastifyReply, _route, _seconds, _internal, status) {
      const span = request[SPAN]
      if (span === undefined) return
      const user = request.rampartContext.userId
      // The principal goes out only as its keyed fingerprint, never the raw id.
      span.finish(status, user === undefined ? undefined : core.fingerprint(user))
    },
    // The client went away before the response finished (with or without its whole body sent):
    // the span ends as aborted, so it is still exported or counted as dropped.
    onAbort(request: Traced) {
      request[SPAN]?.abort()
    },
  })

  app.addHook('onError', (request: Traced, _reply, error, done) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500
    if (status >= 500) request[SPAN]?.recordError(error)
    done()
  })
}
