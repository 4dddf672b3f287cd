import { HttpError } from '../errors/http-error.js'

/** What one multipart body may hold, beyond the byte limits. */
export interface MultipartShape {
  /** Header lines of one part (busboy's `headerPairs`). */
  headerPairs: number
  /** Bytes of one part's header block. */
  headerBytes: number
}

/** Bytes of one part's header block when nothing else is said: far above any browser's. */
export const MAX_PART_HEADER_BYTES = 8 * 1024

/** The `boundary` parameter of a multipart `Content-Type`, or undefined. */
export function multipartBoundary(contentType: string): string | undefined {
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType)
  return m?.[1] ?? m?.[2]
}

const CRLF = Buffer.from('\r\n')
const HEADER_END = Buffer.from('\r\n\r\n')

type State = 'preamble' | 'delimiter' | 'headers' | 'body' | 'epilogue'

/**
 * Watches a multipart body go by and refuses what busboy (under `@fastify/multipart`) would
 * silently drop or accept: a part with no `Content-Disposition: form-data` or no `name` (busboy
 * skips it), two file parts under one name, a nested `multipart/*` part (stored as an opaque
 * file), and header floods (busboy ignores header lines past its limit and truncates big
 * blocks). Only part boundaries and header blocks are looked at, in bounded memory: a header
 * block is kept until it ends or passes `headerBytes`, and between parts only the last few bytes
 * of a chunk (a delimiter may span two chunks).
 *
 * Hand-written because busboy exposes neither the parts it skips nor its header limits, and its
 * part splitter (dicer) is not a public API; the state machine is the RFC 2046 grammar for the
 * delimiters and nothing more.
 *
 * @example
 * const guard = multipartGuard('----b0undary', { headerPairs: 100, headerBytes: 8192 })
 * const refusal = guard.write(chunk) // an HttpError (400/413) once the body breaks a rule
 */
export function multipartGuard(
  boundary: string,
  shape: MultipartShape,
): { write(chunk: Buffer): HttpError | undefined } {
  const first = Buffer.from(`--${boundary}`)
  const delimiter = Buffer.from(`\r\n--${boundary}`)
  const fileNames = new Set<string>()
  let state: State = 'preamble'
  // Bytes carried over from the previous chunk: a partial delimiter, or a header block so far.
  let carry = Buffer.alloc(0)
  let refusal: HttpError | undefined

  const refuse = (status: 400 | 413, detail: string) => {
    refusal = new HttpError(status, { detail })
    return refusal
  }

  const checkPart = (block: string): HttpError | undefined => {
    const lines = block.split('\r\n')
    if (lines.length > shape.headerPairs)
      return refuse(413, 'A part of the upload has more header lines than this service accepts.')
    let disposition: string | undefined
    let type = ''
    for (const line of lines) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      if (name === 'content-disposition') disposition = value
      else if (name === 'content-type') type = value.toLowerCase()
    }
    if (disposition === undefined || !/^form-data\s*(;|$)/i.test(disposition))
      return refuse(400, 'A part of the upload has no Content-Disposition: form-data header.')
    const field = /;\s*name\s*=\s*(?:"([^"]*)"|([^\s;]+))/i.exec(disposition)
    const fieldName = field?.[1] ?? field?.[2] ?? ''
    if (fieldName === '') return refuse(400, 'A part of the upload has no field name.')
    if (type.startsWith('multipart/'))
      return refuse(
        400,
        'A part of the upload is itself multipart; nested multipart is not accepted.',
      )
    if (/;\s*filename\*?\s*=/i.test(disposition)) {
      if (fileNames.has(fieldName))
        return refuse(
          400,
          `The upload has more than one file in the field "${fieldName.slice(0, 50)}".`,
        )
      fileNames.add(fieldName)
    }
    return undefined
  }

  const write = (chunk: Buffer): HttpError | undefined => {
    if (refusal !== undefined || state === 'epilogue') return refusal
    let buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk
    carry = Buffer.alloc(0)
    for (;;) {
      if (state === 'preamble' || state === 'body') {
        const marker = state === 'preamble' ? first : delimiter
        const at = buf.indexOf(marker)
        if (at === -1) {
          // Keep what could be the start of a delimiter split across chunks.
          carry = Buffer.from(buf.subarray(Math.max(0, buf.length - marker.length + 1)))
          return undefined
        }
        buf = buf.subarray(at + marker.length)
        state = 'delimiter'
      }
      if (state === 'delimiter') {
        // `--` closes the body; otherwise optional whitespace, then CRLF and a header block.
        let i = 0
        while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x09)) i++
        if (buf.length - i < 2) {
          carry = Buffer.from(buf)
          return undefined
        }
        if (buf[i] === 0x2d && buf[i + 1] === 0x2d) {
          state = 'epilogue'
          return undefined
        }
        if (buf.indexOf(CRLF, i) !== i) return refuse(400, 'The multipart body is malformed.')
        buf = buf.subarray(i)
        state = 'headers'
      }
      if (state === 'headers') {
        // The header block starts with the CRLF ending the delimiter line.
        if (buf.length < HEADER_END.length) {
          carry = Buffer.from(buf)
          return undefined
        }
        // No header at all (CRLF CRLF right after the delimiter): no Content-Disposition.
        if (buf.indexOf(HEADER_END) === 0) return checkPart('')
        const end = buf.indexOf(HEADER_END, 2)
        if (end === -1) {
          if (buf.length > shape.headerBytes)
            return refuse(
              413,
              'A part of the upload has a header block larger than this service accepts.',
            )
          carry = Buffer.from(buf)
          return undefined
        }
        if (end > shape.headerBytes)
          return refuse(
            413,
            'A part of the upload has a header block larger than this service accepts.',
          )
        const failed = checkPart(buf.subarray(2, end).toString('latin1'))
        if (failed !== undefined) return failed
        buf = buf.subarray(end + HEADER_END.length)
        state = 'body'
      }
    }
  }
  return { write }
}
