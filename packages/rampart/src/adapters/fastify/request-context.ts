import type { FastifyContextConfig, FastifyReply, FastifyRequest } from 'fastify'
import type { Feature } from '../../pipeline/feature.js'

// Bridges for the capabilities not yet turned into features (security, CSRF, rate limit,
// audit): they read the request's exchange through these until they take an `Exchange`.

/** The route template of a request, or `unmatched` when no route matched. */
export function routeOf(request: FastifyRequest): string {
  return (
    request.rampart?.route ??
    (request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched'))
  )
}

/** The matched route's `config`, read once per request (by the pipeline's `onRequest`). */
export function routeConfigOf(request: FastifyRequest): FastifyContextConfig | undefined {
  return (request.rampart?.config ?? request.routeOptions.config) as FastifyContextConfig
}

/**
 * Marks a request whose response the server had to cut off after its headers were sent: when its
 * connection closes it is logged and counted as a 500, not as a 499 client hang-up.
 */
export function markFailedAfterHeaders(request: FastifyRequest): void {
  if (request.rampart) request.rampart.failedAfterHeaders = true
}

/** An observer of the old shape (the security events), run as a feature's `end`. */
export interface RequestObserver {
  onResponse?(
    request: FastifyRequest,
    reply: FastifyReply,
    route: string,
    seconds: number,
    internal: boolean,
    status: number,
  ): void
}

export interface RequestObservers {
  add(observer: RequestObserver): void
}

/** Observers as features added to the pipeline (`add` is the pipeline's). */
export function observersOf(add: (feature: Feature) => void): RequestObservers {
  return {
    add(observer) {
      const onResponse = observer.onResponse?.bind(observer)
      if (onResponse === undefined) return
      add({
        name: 'observer',
        end(ex, status, seconds) {
          const { request, reply } = ex as unknown as {
            request: FastifyRequest
            reply: FastifyReply
          }
          onResponse(request, reply, ex.route, seconds, ex.internal, status)
        },
      })
    },
  }
}
