import { mediaType } from '../security/media-type.js'

/**
 * Content negotiation for error bodies (docs/errors.md): an HTML page when the client's `Accept`
 * prefers `text/html`, `application/problem+json` otherwise. Written by hand (a dozen lines)
 * because the only question is "HTML or not"; a general negotiator would be a dependency for
 * one comparison.
 */

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml'])
const JSON_TYPES = new Set(['application/json', 'application/problem+json'])

/**
 * True when `Accept` names `text/html` (or XHTML) with a higher quality than any JSON type.
 * Wildcards count for JSON only, so `*\/*` (curl, fetch) gets problem+json and a browser's
 * `text/html,…,*\/*;q=0.8` gets the page.
 *
 * @example
 * prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*\/*;q=0.8') // true
 * prefersHtml('application/json') // false
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined || accept.length === 0) return false
  let html = 0
  let json = 0
  // Bounded: a hostile header with thousands of entries costs at most 64 of them.
  for (const part of accept.split(',', 64)) {
    const type = mediaType(part)
    const params = part.split(';').slice(1)
    let q = 1
    for (const p of params) {
      const [k, v] = p.split('=')
      if (k?.trim().toLowerCase() === 'q') {
        const n = Number(v?.trim())
        q = Number.isFinite(n) && n >= 0 && n <= 1 ? n : 0
      }
    }
    if (HTML_TYPES.has(type)) html = Math.max(html, q)
    else if (
      JSON_TYPES.has(type) ||
      type.endsWith('+json') ||
      type === '*/*' ||
      type === 'application/*'
    )
      json = Math.max(json, q)
  }
  return html > 0 && html > json
}
