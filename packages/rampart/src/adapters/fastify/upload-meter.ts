import type { FastifyRequest } from 'fastify'
import { HttpError } from '../../errors/http-error.js'

const over = new WeakSet<FastifyRequest>()

/** True when `meterUpload` cut this request's body off at the limit. */
export function uploadOverLimit(request: FastifyRequest): boolean {
  return over.has(request)
}

/**
 * Caps a streamed (chunked) multipart body at `limit` bytes, whoever reads it.
 *
 * `@fastify/multipart` pipes `request.raw` straight into busboy, so neither Fastify's
 * `bodyLimit` nor a `preParsing` stream applies, and busboy's limits are per file and per
 * field, not per request. Node's HTTP parser hands every body chunk to the request stream's
 * `push`; wrapping it on this one request counts bytes without changing how the stream flows.
 *
 * Past the limit every further chunk is dropped as it arrives (memory stays flat however much
 * the client sends) and the request is marked so the error handler answers 413. A reader that
 * is already attached (it listens for `error`, as @fastify/multipart does) gets the 413 at once;
 * one that is not sees a truncated body when the message ends. The stream is never ended or
 * destroyed early: Node would treat that as an aborted request and reset the connection before
 * the 413 could be sent.
 */
export function meterUpload(request: FastifyRequest, limit: number): void {
  const raw = request.raw
  const push = raw.push
  let received = 0
  let cut = false
  raw.push = function meteredPush(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return push.call(raw, null)
    if (cut) return true
    received += (chunk as { length: number }).length
    if (received <= limit) return push.call(raw, chunk, encoding)
    cut = true
    over.add(request)
    if (raw.listenerCount('error') > 0)
      raw.emit('error', new HttpError(413, { detail: UPLOAD_TOO_LARGE }))
    return true
  }
}

/** What a client is told about an upload over `MAX_UPLOAD_MB`. */
export const UPLOAD_TOO_LARGE = 'The upload is larger than this service accepts.'
