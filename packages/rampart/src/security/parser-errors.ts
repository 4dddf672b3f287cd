import type { SecurityEventKind } from './security-events.js'

/** How Rampart answers a request Node's HTTP parser rejected (or timed out). */
export interface ParserAnswer {
  status: number
  /** Shown to the client. */
  detail: string
  /** `malformed_request` for everything but a timeout: browsers never send such requests. */
  event: SecurityEventKind | undefined
  /** The method of the request line, when one could be read. */
  method: string | undefined
  /** The request target, when it is an origin-form path. */
  path: string | undefined
}

const FRAMING = new Set([
  'HPE_UNEXPECTED_CONTENT_LENGTH',
  'HPE_INVALID_CONTENT_LENGTH',
  'HPE_INVALID_TRANSFER_ENCODING',
  'HPE_INVALID_CHUNK_SIZE',
  'HPE_CHUNK_EXTENSIONS_OVERFLOW',
])

/**
 * Node's parser error code (llhttp's `HPE_*`, or `ERR_HTTP_REQUEST_TIMEOUT`) and the bytes it
 * had read → status, the client's sentence, the security event, and whatever of the request
 * line can be read for the access log. Only the first line of `rawPacket` is looked at, and at
 * most 2 KiB of it.
 *
 * @example
 * parserAnswer('HPE_HEADER_OVERFLOW', undefined).status // 431
 */
export function parserAnswer(
  code: string | undefined,
  rawPacket: Buffer | undefined,
): ParserAnswer {
  const line = rawPacket?.subarray(0, 2048).toString('latin1').split('\r\n', 1)[0] ?? ''
  const [method, target] = line.split(' ', 3)
  const path = target?.startsWith('/') ? target : undefined
  const seen = { method: method || undefined, path }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return {
      status: 408,
      detail: 'The request was not received in time.',
      event: undefined,
      ...seen,
    }
  if (code === 'HPE_HEADER_OVERFLOW')
    return {
      status: 431,
      detail: 'The request headers are larger than this service accepts.',
      event: 'malformed_request',
      ...seen,
    }
  const detail = FRAMING.has(code ?? '')
    ? 'The request body framing (Content-Length, Transfer-Encoding) is invalid.'
    : code === 'HPE_INVALID_METHOD'
      ? 'The request method is not valid (methods are case-sensitive).'
      : code === 'HPE_INVALID_HEADER_TOKEN'
        ? 'A request header contains bytes that are not allowed.'
        : 'The request could not be parsed as HTTP.'
  return { status: 400, detail, event: 'malformed_request', ...seen }
}
