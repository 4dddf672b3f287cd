import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { isInternalPath } from '../config/defaults.js'
import { requestIdFrom } from '../context/request-id.js'
import type { Rampart } from '../core/rampart.js'
import { HttpError } from '../errors/http-error.js'
import { renderError } from '../errors/render.js'
import { methodLabel, type RedMetrics, recordRequest } from '../metrics/red.js'
import { defaultSecurityHeaders, headersFor } from '../security/headers.js'
import { parserAnswer } from '../security/parser-errors.js'
import {
  isSensitivePath,
  type SecurityEventKind,
  securityEventOf,
} from '../security/security-events.js'

/**
 * Answers written outside the framework's request lifecycle, where no hook runs: requests the
 * HTTP parser rejected (Node's `clientError`), requests the router rejected (`frameworkErrors`),
 * `Expect: 100-continue` requests refused before their body, and requests arriving while the
 * server closes. Each still gets what a routed answer gets: a request id, the header policy,
 * a problem body (or page), one access line, the RED metrics under `route="unmatched"` and a
 * security event where it is one.
 */
export interface RawAnswers {
  /** Answers `req` on `res` with `error` rendered for its `Accept`. */
  answer(req: IncomingMessage, res: ServerResponse, error: unknown, requestId?: string): void
  /** Node's `clientError` listener: answers what the parser rejected, then closes the socket. */
  clientError(err: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex): void
}

/** A method fit for a log line (an RFC 9110 token of letters), else `-`. */
function methodOf(method: string | undefined): string {
  return method !== undefined && /^[A-Za-z]{1,20}$/.test(method) ? method : '-'
}

/** The raw answerer of one app (made once by the adapter, after the metrics are registered). */
export function createRawAnswers(core: Rampart, red: RedMetrics): RawAnswers {
  const { config, logger } = core
  const policy = defaultSecurityHeaders(config.isProduction)
  const events = core.securityEvents

  /** Access line, RED metrics and security event of one raw answer. */
  const account = (line: {
    requestId: string
    method: string | undefined
    path: string | undefined
    status: number
    startedAt: bigint
    clientIp: string | undefined
    event: SecurityEventKind | undefined
  }) => {
    try {
      const ms = Number(process.hrtime.bigint() - line.startedAt) / 1e6
      const internal = line.path !== undefined && isInternalPath(line.path)
      const method = methodOf(line.method)
      core.writeAccess(internal ? 'debug' : line.status >= 500 ? 'error' : 'info', {
        request_id: line.requestId,
        method,
        route: 'unmatched',
        status: line.status,
        latency_ms: Math.round(ms * 1000) / 1000,
      })
      if (!internal)
        recordRequest(red, methodLabel(method), 'unmatched', line.status, ms / 1000, undefined)
      const sensitive = line.path !== undefined && isSensitivePath(line.path, config.sensitivePaths)
      const kind = line.event ?? securityEventOf(line.status, sensitive)
      if (kind !== undefined)
        events.reportAnswer(kind, {
          request_id: line.requestId,
          method,
          route: 'unmatched',
          client_ip: line.clientIp,
          status: line.status,
        })
    } catch {
      // Telemetry never breaks an answer.
    }
  }

  const raw: RawAnswers = {
    answer(req, res, error, requestId = requestIdFrom(req.headers['x-request-id'])) {
      const startedAt = process.hrtime.bigint()
      const out = renderError({
        error,
        accept: req.headers.accept,
        requestId,
        path: req.url,
        isProduction: config.isProduction,
      })
      // A 503 (the server closing) is logged where it is decided, not once per request: the
      // same rule as the security layer's answers.
      if (out.isFault && out.status !== 503)
        logger.error(
          { event: 'request.failed', request_id: requestId, status: out.status, err: error },
          'request failed',
        )
      if (!res.headersSent) {
        res.writeHead(out.status, {
          ...headersFor(policy, !out.contentType.startsWith('text/html')),
          ...out.headers,
          'x-request-id': requestId,
          'content-type': out.contentType,
          'content-length': Buffer.byteLength(out.body),
        })
        res.end(req.method === 'HEAD' ? undefined : out.body)
      }
      account({
        requestId,
        method: req.method,
        path: req.url,
        status: out.status,
        startedAt,
        clientIp: req.socket?.remoteAddress,
        event: undefined,
      })
    },

    clientError(err, socket) {
      // The peer reset the connection, or it is gone: there is no one to answer.
      if (err.code === 'ECONNRESET' || socket.destroyed) return
      const startedAt = process.hrtime.bigint()
      const parsed = parserAnswer(err.code, err.rawPacket)
      const requestId = requestIdFrom(undefined)
      const out = renderError({
        error: new HttpError(parsed.status, { detail: parsed.detail, cause: err }),
        accept: undefined,
        requestId,
        path: parsed.path,
        isProduction: config.isProduction,
      })
      logger.debug(
        { event: 'request.rejected', request_id: requestId, status: out.status, err },
        'the HTTP parser rejected a request',
      )
      // As Node's own handler: not over a response already being written on this connection
      // (a pipelined request), whose bytes ours would corrupt.
      const current = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage
      if (socket.writable && current?.headersSent !== true) {
        const headers: Record<string, string | number> = {
          ...headersFor(policy, true),
          ...out.headers,
          'x-request-id': requestId,
          'content-type': out.contentType,
          'content-length': Buffer.byteLength(out.body),
          connection: 'close',
        }
        let head = `HTTP/1.1 ${out.status} ${out.httpError.title}\r\n`
        for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`
        // The connection cannot be reused (the parser's state is lost): close it once written.
        socket.end(`${head}\r\n${out.body}`)
      } else socket.destroy()
      account({
        requestId,
        method: parsed.method,
        path: parsed.path,
        status: out.status,
        startedAt,
        clientIp: (socket as { remoteAddress?: string }).remoteAddress,
        event: parsed.event,
      })
    },
  }
  return raw
}
