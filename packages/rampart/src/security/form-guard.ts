import { Transform, type TransformCallback } from 'node:stream'
import { HttpError } from '../errors/http-error.js'

/** Fields one urlencoded body may carry (a real form has dozens). */
export const MAX_FORM_FIELDS = 1000
/** Bracket levels one field name may nest (`a[b][c]` is 2), for parsers that expand them (qs). */
export const MAX_FORM_DEPTH = 8

const AMP = 0x26
const EQUALS = 0x3d
const OPEN = 0x5b
const PERCENT = 0x25

/**
 * A pass-through stream that refuses an `application/x-www-form-urlencoded` body with more than
 * `maxFields` fields (413) or a field name nesting brackets deeper than `maxDepth` (400), before
 * any parser builds an object from it: a parser that expands `a[b][c]=…` into nested objects
 * (qs, `@fastify/formbody` with `parser: qs.parse`) would otherwise recurse as deep, and one that
 * does not still builds one key per field. Constant memory; the state carries across chunks.
 * Percent-encoded brackets (`%5B`) count too: parsers decode names before expanding them. The
 * body's size is bounded by the route's `bodyLimit` as any other body.
 *
 * @example
 * pipeline(request, formGuard(), parser)
 */
export function formGuard(maxFields = MAX_FORM_FIELDS, maxDepth = MAX_FORM_DEPTH): Transform {
  let fields = 1
  let inName = true
  let depth = 0
  // `%`, then `%5`: a percent-encoded `[` split across chunks is still seen.
  let percent = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i]
        if (c === AMP) {
          if (++fields > maxFields) {
            callback(
              new HttpError(413, { detail: 'The form has more fields than this service accepts.' }),
            )
            return
          }
          inName = true
          depth = 0
          percent = 0
          continue
        }
        if (!inName) continue
        if (c === EQUALS) {
          inName = false
          continue
        }
        let opened = c === OPEN
        if (percent === 2) opened = c === 0x42 || c === 0x62 // %5B / %5b
        percent = c === PERCENT ? 1 : percent === 1 && c === 0x35 ? 2 : 0
        if (opened && ++depth > maxDepth) {
          callback(new HttpError(400, { detail: 'A form field name is nested too deeply.' }))
          return
        }
      }
      callback(null, chunk)
    },
  })
}
