import { HttpError } from '../errors/http-error.js'
import type { Exchange } from '../pipeline/exchange.js'

/** What `watchUpload` checks on a multipart body as it arrives. */
export interface UploadWatch {
  /** Byte cap of the whole body, for a body without a `Content-Length` (chunked). */
  limit?: number | undefined
  /** Structure checks (`multipartGuard`): a refusal as soon as the body breaks a rule. */
  guard?: { write(chunk: Buffer): HttpError | undefined } | undefined
}

/** What a client is told about an upload over `MAX_UPLOAD_MB`. */
export const UPLOAD_TOO_LARGE = 'The upload is larger than this service accepts.'

/**
 * Watches a multipart body as Node's HTTP parser delivers it, whoever reads it: caps a streamed
 * (chunked) body at `limit` bytes and runs the structure `guard` over every chunk.
 *
 * Multipart readers (`@fastify/multipart`, busboy under Express) pipe the request message
 * straight into busboy, so neither the framework's body limit nor a wrapping stream applies,
 * and busboy's limits are per file and per field, not per request. Node's HTTP parser hands
 * every body chunk to the request stream's `push`; wrapping it on this one request sees the
 * bytes without changing how the stream flows.
 *
 * Once the body is refused every further chunk is dropped as it arrives (memory stays flat
 * however much the client sends) and the refusal is kept on the exchange (`uploadRefusal`) so
 * the error answer is the refusal. A reader that is already attached (it listens for `error`,
 * as @fastify/multipart does) gets the refusal at once; one that is not sees a truncated body
 * when the message ends. The stream is never ended or destroyed early: Node would treat that as
 * an aborted request and reset the connection before the answer could be sent (ADR 0008).
 */
export function watchUpload(ex: Exchange, watch: UploadWatch): void {
  const raw = ex.incoming
  const push = raw.push
  const { limit, guard } = watch
  let received = 0
  let cut = false
  const refuse = (error: HttpError) => {
    cut = true
    ex.uploadRefusal = error
    if (raw.listenerCount('error') > 0) raw.emit('error', error)
  }
  let checking = guard !== undefined
  const inspect = (chunk: unknown, encoding?: BufferEncoding): HttpError | undefined => {
    if (!checking) return undefined
    try {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, encoding)
      return guard?.write(bytes)
    } catch {
      // A fault in the checker must not break uploads: stop checking this body.
      checking = false
      return undefined
    }
  }
  raw.push = function watchedPush(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return push.call(raw, null)
    if (cut) return true
    received += (chunk as { length: number }).length
    if (limit !== undefined && received > limit) {
      refuse(new HttpError(413, { detail: UPLOAD_TOO_LARGE }))
      return true
    }
    const refusal = inspect(chunk, encoding)
    if (refusal !== undefined) {
      refuse(refusal)
      return true
    }
    return push.call(raw, chunk, encoding)
  }
}
