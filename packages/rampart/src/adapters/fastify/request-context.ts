import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isInternalPath } from '../../config/defaults.js'
import { createContext, runWithContext } from '../../context/context.js'
import { requestIdFrom } from '../../context/request-id.js'
import type { Rampart } from '../../core/rampart.js'

/** The route template of a request, or `unmatched` when no route matched. */
export function routeOf(
  request: FastifyRequest,
  options: { url?: string | undefined } = request.routeOptions,
): string {
  return request.is404 ? 'unmatched' : (options.url ?? 'unmatched')
}

/**
 * The matched route's `config`. Fastify's `request.routeOptions` builds a new object on every
 * read; the request context reads it once in its `onRequest` hook (the first Rampart hook) and
 * every later hook uses that.
 */
export function routeConfigOf(request: FastifyRequest): FastifyContextConfig | undefined {
  return request.rampartRouteConfig ?? request.routeOptions.config
}

/**
 * What a capability that only watches requests (never answers or rejects one) does at their
 * start and end. Observers run inside the request context's own `onRequest` and `onResponse`
 * hooks instead of adding hooks of their own: each Fastify hook costs a dispatch (about 0.2 µs
 * a request here), and this way the route and the latency are worked out once for all of them.
 */
export interface RequestObserver {
  /** In `onRequest`, once the context exists, before any other Rampart hook. */
  onRequest?(request: FastifyRequest, reply: FastifyReply, internal: boolean): void
  /**
   * In `onResponse`, after the access line. `route` is the template or `unmatched`; `seconds`
   * the time from the start of the request to the end of the response (Fastify's clock).
   */
  onResponse?(
    request: FastifyRequest,
    reply: FastifyReply,
    route: string,
    seconds: number,
    internal: boolean,
    /** The status the answer counts as: `reply.statusCode`, or 500 for a server-side failure after the headers were sent. */
    status: number,
  ): void
  /**
   * When the connection closed before the response finished because the client went away
   * (before or after sending its whole body): `onResponse` never runs for such a request.
   */
  onAbort?(request: FastifyRequest): void
}

/**
 * Status logged for a request whose client closed the connection before the response was
 * sent: nginx's "client closed request", so log pipelines that know it read it right.
 */
export const CLIENT_CLOSED_REQUEST = 499

/**
 * Status an answer counts as when the server failed after its headers were sent (a stream that
 * errored, a handler that threw after writing): the client saw a cut-off response, and the fault
 * is the server's, not a client hang-up.
 */
const FAILED_AFTER_HEADERS = 500

const failedAfterHeaders = new WeakSet<FastifyRequest>()

/**
 * Marks a request whose response the server had to cut off after its headers were sent: when its
 * connection closes it is logged and counted as a 500, not as a 499 client hang-up.
 */
export function markFailedAfterHeaders(request: FastifyRequest): void {
  failedAfterHeaders.add(request)
}

// Per-request flags live in request decorators (declared with their default, so every request
// object has the same shape from the start) rather than in properties added later.
const FINISHED = 'rampartFinished'
const INTERNAL = 'rampartInternal'
type Tracked = FastifyRequest & { [FINISHED]?: boolean; [INTERNAL]?: boolean }

/**
 * Rampart's own endpoints (`/metrics`, `/healthz`, `/readyz`, `/_rampart…`) are logged at debug
 * and neither counted nor traced. Decided on the matched route, not the raw URL: the router
 * decodes `/%5Frampart/…` to `/_rampart/…`, so the raw URL would let such a request be served
 * by the console yet counted as traffic. A request no route matched is judged by its path.
 */
function isInternalRequest(request: FastifyRequest, route: string): boolean {
  return isInternalPath(route === 'unmatched' ? request.url : route)
}

/** Lets later capabilities watch every request through the context's hooks. */
export interface RequestObservers {
  add(observer: RequestObserver): void
}

/**
 * Request id, async context and the access log: the first hook to run and the last to log.
 * The context is entered once, in `onRequest`: routing is done by then, and Fastify runs body
 * parsing in an `AsyncResource` made inside the hook chain, so handlers find the context after
 * a body arrived in later packets too (tested).
 */
export function installRequestContext(app: FastifyInstance, core: Rampart): RequestObservers {
  const { logger } = core
  const starts: Array<NonNullable<RequestObserver['onRequest']>> = []
  const ends: Array<NonNullable<RequestObserver['onResponse']>> = []
  const aborts: Array<NonNullable<RequestObserver['onAbort']>> = []
  app.decorateRequest('rampartContext', undefined as never)
  app.decorateRequest('rampartRouteConfig', undefined)
  app.decorateRequest(FINISHED, false)
  app.decorateRequest(INTERNAL, false)

  /** One access line per request, answered or not. */
  const access = (
    request: FastifyRequest,
    status: number,
    route: string,
    elapsedMs: number,
    internal: boolean,
  ) => {
    const ctx = request.rampartContext
    core.writeAccess(internal ? 'debug' : status >= 500 ? 'error' : 'info', {
      request_id: ctx.requestId,
      method: request.method,
      route,
      status,
      latency_ms: Math.round(elapsedMs * 1000) / 1000,
      user_id: ctx.userId,
      trace_id: ctx.traceId,
      span_id: ctx.spanId,
    })
  }

  app.addHook('onRequest', (request: Tracked, reply, done) => {
    const ctx = createContext(requestIdFrom(request.headers['x-request-id']), request.ip)
    const options = request.routeOptions
    const route = routeOf(request, options)
    ctx.route = route
    request.rampartContext = ctx
    request.rampartRouteConfig = options.config
    request.log = logger
    const internal = isInternalRequest(request, route)
    request[INTERNAL] = internal
    reply.header('x-request-id', ctx.requestId)
    for (const start of starts) start(request, reply, internal)
    // After a normal finish onResponse has marked the request; a close before that means the
    // client went away and no response will be sent, or the server cut the response off.
    reply.raw.on('close', () => {
      if (request[FINISHED] === true) return
      request[FINISHED] = true
      if (failedAfterHeaders.has(request)) {
        const elapsedMs = reply.elapsedTime
        access(request, FAILED_AFTER_HEADERS, route, elapsedMs, internal)
        for (const end of ends)
          end(request, reply, route, elapsedMs / 1000, internal, FAILED_AFTER_HEADERS)
        return
      }
      access(request, CLIENT_CLOSED_REQUEST, route, reply.elapsedTime, internal)
      for (const abort of aborts) abort(request)
    })
    runWithContext(ctx, done)
  })

  app.addHook('onResponse', (request: Tracked, reply: FastifyReply, done) => {
    request[FINISHED] = true
    const route = request.rampartContext.route ?? routeOf(request)
    const elapsedMs = reply.elapsedTime
    const internal = request[INTERNAL] === true
    const status = reply.statusCode
    access(request, status, route, elapsedMs, internal)
    for (const end of ends) end(request, reply, route, elapsedMs / 1000, internal, status)
    done()
  })

  return {
    add(observer) {
      if (observer.onRequest) starts.push(observer.onRequest.bind(observer))
      if (observer.onResponse) ends.push(observer.onResponse.bind(observer))
      if (observer.onAbort) aborts.push(observer.onAbort.bind(observer))
    },
  }
}
