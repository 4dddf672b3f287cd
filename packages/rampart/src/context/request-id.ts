import { randomUUID } from 'node:crypto'

const VALID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Reuses the client's `X-Request-Id` when it is 1–128 characters of `[A-Za-z0-9._:-]`;
 * anything else (CR/LF, ANSI escapes, spaces, too long, repeated headers) gets a new UUID.
 */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && VALID.test(header) ? header : randomUUID()
}
