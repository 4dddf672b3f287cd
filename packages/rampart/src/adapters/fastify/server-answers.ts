import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { Rampart } from '../../core/rampart.js'
import { HttpError } from '../../errors/http-error.js'
import type { RawAnswers } from './raw-answers.js'

/**
 * Holds back `100 Continue` until something reads the body. Node, left to itself, answers every
 * `Expect: 100-continue` with `100 Continue` before any code saw the request, inviting a client
 * to send 600 MiB that will be refused. With a `checkContinue` listener Node sends nothing; here
 * the interim answer goes out when the body is first read (Node's `IncomingMessage#_read`), so a
 * request refused on its declared length (413) or on anything else never gets one. Node itself
 * closes the connection after a final answer sent without `100 Continue`.
 */
function continueOnRead(req: IncomingMessage, res: ServerResponse): void {
  const read = req._read
  req._read = function readAfterContinue(this: IncomingMessage, size: number) {
    req._read = read
    if (!res.headersSent && !res.writableEnded) res.writeContinue()
    return read.call(this, size)
  }
}

/**
 * The answers Node's HTTP server writes before Fastify sees a request, taken over so none leaves
 * without Rampart: the HTTP parser's rejections (`clientError`, replacing Fastify's
 * `clientErrorHandler`), the automatic `100 Continue`, and Fastify's raw 503 for requests that
 * arrive while the server closes (only when its `return503OnClosing` is on, the default).
 */
export function installServerAnswers(
  app: FastifyInstance,
  raw: RawAnswers,
  logger: Rampart['logger'],
): void {
  // Router rejections reach Rampart only through the `frameworkErrors` server option, which a
  // plugin cannot set: say so once at start-up when it is missing. Fastify keeps its options
  // under a symbol it does not export; when that changes the hint is simply not given.
  const options = Object.getOwnPropertySymbols(app).find((s) => s.description === 'fastify.options')
  const given = options === undefined ? undefined : (app as never)[options]
  if (given !== undefined && (given as { frameworkErrors?: unknown }).frameworkErrors === undefined)
    logger.warn(
      { event: 'setup.framework_errors_unset' },
      "Fastify answers malformed URLs itself (no request id, security headers or access line): pass frameworkErrors from 'rampart/fastify' to Fastify({ frameworkErrors })",
    )
  const server = app.server
  server.removeAllListeners('clientError')
  server.on('clientError', (err, socket) => raw.clientError(err, socket))
  server.on('checkContinue', (req, res) => {
    continueOnRead(req, res)
    server.emit('request', req, res)
  })

  if ((app.initialConfig as { return503OnClosing?: boolean }).return503OnClosing === false) return
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  const routed = server.listeners('request') as Array<
    (req: IncomingMessage, res: ServerResponse) => void
  >
  // A `serverFactory` server may call Fastify's handler itself: then there is nothing to wrap.
  if (routed.length === 0) return
  server.removeAllListeners('request')
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (closing) {
      res.setHeader('connection', 'close')
      raw.answer(
        req,
        res,
        new HttpError(503, { detail: 'The service is shutting down. Try again shortly.' }),
      )
      return
    }
    for (const listener of routed) listener.call(server, req, res)
  })
}
