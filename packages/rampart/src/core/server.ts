import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { HttpError } from '../errors/http-error.js'
import type { RawAnswers } from '../pipeline/raw-answers.js'

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
 * The answers Node's HTTP server writes before the framework sees a request, taken over so none
 * leaves without Rampart: the HTTP parser's rejections (`clientError`), the automatic
 * `100 Continue`, and, when `answerClosing`, a 503 for requests that arrive while the server
 * closes. Returns what marks the server as closing (from then on every new request gets the 503).
 * Framework-free: any framework's node `http.Server` (its `request` listeners are wrapped; a
 * server without any, whose handler is called by other means, is left as it is).
 */
export function takeOverServer(server: Server, raw: RawAnswers, answerClosing = true): () => void {
  let closing = false
  const markClosing = () => {
    closing = true
  }
  server.removeAllListeners('clientError')
  server.on('clientError', (err, socket) => raw.clientError(err, socket))
  server.on('checkContinue', (req, res) => {
    continueOnRead(req, res)
    server.emit('request', req, res)
  })
  if (!answerClosing) return markClosing
  const routed = server.listeners('request') as Array<
    (req: IncomingMessage, res: ServerResponse) => void
  >
  if (routed.length === 0) return markClosing
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
  return markClosing
}
