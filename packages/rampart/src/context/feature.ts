import type { IncomingHttpHeaders } from 'node:http'
import type { Rampart } from '../core/rampart.js'
import type { Exchange } from '../pipeline/exchange.js'
import type { Feature } from '../pipeline/feature.js'
import { CLIENT_CLOSED_REQUEST } from '../pipeline/pipeline.js'
import { createContext, type RequestContext } from './context.js'
import { requestIdFrom } from './request-id.js'

/** The context of a new request: the client's `X-Request-Id` when it is a sane one, else a new id. */
export function contextFor(headers: IncomingHttpHeaders, ip: string | undefined): RequestContext {
  return createContext(requestIdFrom(headers['x-request-id']), ip)
}

/**
 * Request id and the access log: the first feature to start and the first to end, so every
 * later step logs with the request id and the access line comes before anything an `end`
 * writes. One access line per request, answered or not (a client that went away: 499).
 */
export function requestContextFeature(core: Rampart): Feature {
  const access = (ex: Exchange, status: number, seconds: number) => {
    const ctx = ex.context
    core.writeAccess(ex.internal ? 'debug' : status >= 500 ? 'error' : 'info', {
      request_id: ctx.requestId,
      method: ex.method,
      route: ex.route,
      status,
      latency_ms: Math.round(seconds * 1_000_000) / 1000,
      user_id: ctx.userId,
      trace_id: ctx.traceId,
      span_id: ctx.spanId,
    })
  }
  return {
    name: 'request-context',
    start(ex) {
      ex.context.route = ex.route
      ex.setHeader('x-request-id', ex.context.requestId)
    },
    end: access,
    abort(ex, seconds) {
      access(ex, CLIENT_CLOSED_REQUEST, seconds)
    },
  }
}
