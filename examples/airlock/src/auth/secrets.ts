import { createHash, randomBytes } from 'node:crypto'

/** 32 random bytes, base64url: session ids and API tokens. */
export function newSecret(prefix = ''): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`
}

/** SHA-256 hex: what the database keeps instead of a session id or token. */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}
