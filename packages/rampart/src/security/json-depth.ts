import { Transform, type TransformCallback } from 'node:stream'

/** JSON nesting allowed by default; real payloads rarely pass 20. */
export const MAX_JSON_DEPTH = 128

/** Thrown (as a stream error) when a JSON body nests deeper than allowed; rendered as a 400. */
export class JsonTooDeepError extends Error {
  override readonly name = 'JsonTooDeepError'
  readonly code = 'ERR_RAMPART_JSON_TOO_DEEP'
  readonly statusCode = 400
  constructor(maxDepth: number) {
    super(`JSON body nested deeper than ${maxDepth} levels`)
  }
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_OBJECT = 0x7b
const OPEN_ARRAY = 0x5b
const CLOSE_OBJECT = 0x7d
const CLOSE_ARRAY = 0x5d

/**
 * A pass-through stream that fails as soon as the JSON flowing through it opens more than
 * `maxDepth` nested objects or arrays. It runs before the parser, in constant memory, so a
 * 10,000-level payload is refused after its first `maxDepth + 1` bytes of brackets instead of
 * reaching code that recurses over the parsed value (validation, serialisation, a deep merge)
 * and exhausting the stack. Brackets inside strings are skipped; the state carries across chunks.
 *
 * @example
 * pipeline(request, jsonDepthGuard(128), parser)
 */
export function jsonDepthGuard(maxDepth: number = MAX_JSON_DEPTH): Transform {
  let depth = 0
  let inString = false
  let escaped = false
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i]
        if (inString) {
          if (escaped) escaped = false
          else if (c === BACKSLASH) escaped = true
          else if (c === QUOTE) inString = false
        } else if (c === QUOTE) inString = true
        else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
          if (++depth > maxDepth) {
            callback(new JsonTooDeepError(maxDepth))
            return
          }
        } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--
      }
      callback(null, chunk)
    },
  })
}
