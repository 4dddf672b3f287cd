import { timingSafeEqual } from 'node:crypto'

/** Constant-time comparison of a presented bearer token against the expected one. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
  if (header === undefined || !/^bearer /i.test(header)) return false
  const given = Buffer.from(header.slice(7))
  const want = Buffer.from(expected)
  // Compare equal-length buffers so the time taken does not reveal the token's length either.
  const padded = Buffer.alloc(want.length)
  given.copy(padded, 0, 0, Math.min(given.length, want.length))
  return timingSafeEqual(padded, want) && given.length === want.length
}
