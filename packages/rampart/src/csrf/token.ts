import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** Why a token was refused; also the `reason` label of `rampart_csrf_blocks_total`. */
export type TokenFailure = 'missing' | 'malformed' | 'expired' | 'invalid'

export interface CsrfTokens {
  /** A fresh token bound to `sessionId`, issued at `now` (ms since the epoch). */
  issue(sessionId: string, now?: number): string
  /** `undefined` when the token is good for `sessionId` at `now`, else why not. Never throws. */
  verify(token: unknown, sessionId: string, now?: number): TokenFailure | undefined
}

// v1.<issued, 11 base36 digits>.<nonce, 11 base64url>.<mac, 43 base64url>: one fixed length,
// checked before any decoding so a token of the wrong length is a refusal, never an exception.
const TOKEN = /^v1\.([0-9a-z]{11})\.([A-Za-z0-9_-]{11})\.([A-Za-z0-9_-]{43})$/
const CLOCK_SKEW_MS = 60_000

/**
 * Signed, session-bound, timed CSRF tokens: HMAC-SHA256 (key derived from `SECRET_KEY`) over
 * the session id, the issue time and a random nonce (so no two pages carry the same token,
 * which keeps BREACH-style compression oracles from learning it). Verification recomputes the
 * MAC and compares in constant time. Stateless: nothing is stored per session.
 *
 * Hand-written rather than `csrf-csrf` or `@fastify/csrf-protection` because those bind to
 * their own cookie or to the session plugin; here the token binds to whatever session cookie
 * the service already has, and the same code serves every adapter (ADR 0005).
 *
 * @example
 * const tokens = createCsrfTokens(secretKey, 3600)
 * const t = tokens.issue(sessionCookieValue)
 * tokens.verify(t, sessionCookieValue) // undefined (valid)
 */
export function createCsrfTokens(secretKey: Buffer, ttlSeconds: number): CsrfTokens {
  const key = createHmac('sha256', secretKey).update('rampart:csrf:v1').digest()
  const ttlMs = ttlSeconds * 1000
  const mac = (sessionId: string, issued: string, nonce: string): Buffer =>
    createHmac('sha256', key).update(`${issued}.${nonce}.`).update(sessionId).digest()
  return {
    issue(sessionId, now = Date.now()) {
      const issued = Math.floor(now).toString(36).padStart(11, '0')
      const nonce = randomBytes(8).toString('base64url')
      return `v1.${issued}.${nonce}.${mac(sessionId, issued, nonce).toString('base64url')}`
    },
    verify(token, sessionId, now = Date.now()) {
      if (token === undefined || token === null || token === '') return 'missing'
      if (typeof token !== 'string') return 'malformed'
      const m = TOKEN.exec(token)
      if (m === null) return 'malformed'
      const [, issued = '', nonce = '', given = ''] = m
      // Compare the text, not decoded bytes: base64 has several spellings of the same bytes (the
      // last character's low bits are ignored), and a changed character must not pass.
      const expected = Buffer.from(mac(sessionId, issued, nonce).toString('base64url'))
      const presented = Buffer.from(given)
      // Both are 43 bytes by the pattern above; check anyway so timingSafeEqual cannot throw.
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected))
        return 'invalid'
      const at = Number.parseInt(issued, 36)
      if (at > now + CLOCK_SKEW_MS) return 'invalid'
      if (now - at > ttlMs) return 'expired'
      return undefined
    },
  }
}
