import type { Server } from 'node:http'

/** The HTTP server timeouts of `ResolvedConfig.timeouts`, in ms (0 is off). */
export interface ServerTimeouts {
  /** The whole request, headers and body (`REQUEST_TIMEOUT_S`). */
  readonly requestMs: number
  /** An idle keep-alive connection (`KEEP_ALIVE_TIMEOUT_S`). */
  readonly keepAliveMs: number
  /** The request headers (`HEADERS_TIMEOUT_S`). */
  readonly headersMs: number
}

/**
 * Sets the timeouts on a Node HTTP server that cut slow or silent clients off (a request that
 * has not fully arrived in time gets 408 and its connection closed; an idle keep-alive
 * connection is closed), without affecting other connections. Call it before `listen`: Node
 * checks request and header deadlines on a timer it starts when the server starts listening,
 * every `connectionsCheckingInterval` ms (30 s by default, far coarser than a 2 s timeout), so
 * that interval is tightened here too. The Fastify plugin calls this on `app.server` when the
 * app is ready; servers Rampart does not create (a second listener, a hand-made
 * `http.createServer`) call it themselves.
 *
 * @example
 * const server = http.createServer(handler)
 * applyServerTimeouts(server, app.rampart.config.timeouts)
 * server.listen(3000)
 */
export function applyServerTimeouts(server: Server, timeouts: ServerTimeouts): void {
  const { requestMs, keepAliveMs } = timeouts
  // Node requires headers to arrive no later than the whole request.
  const headersMs =
    requestMs > 0 ? Math.min(timeouts.headersMs || requestMs, requestMs) : timeouts.headersMs
  server.requestTimeout = requestMs
  server.headersTimeout = headersMs
  server.keepAliveTimeout = keepAliveMs
  const shortest = Math.min(...[requestMs, headersMs].filter((ms) => ms > 0))
  if (Number.isFinite(shortest)) {
    const interval = Math.max(250, Math.min(1000, Math.floor(shortest / 4)))
    const s = server as Server & { connectionsCheckingInterval?: number }
    if (s.connectionsCheckingInterval === undefined || s.connectionsCheckingInterval > interval)
      s.connectionsCheckingInterval = interval
  }
}
