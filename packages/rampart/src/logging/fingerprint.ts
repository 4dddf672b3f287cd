import { createHmac } from 'node:crypto'

/**
 * Returns a function giving an 8-hex-character HMAC-SHA256 fingerprint of a value, keyed
 * with the service's secret: enough to correlate one user or IP across log lines, useless
 * for recovering the value or for matching against another service's logs.
 *
 * @example
 * const fp = createFingerprint(config.secretKey)
 * logger.info({ event: 'login.failed', user_fp: fp(username) })
 */
export function createFingerprint(key: Buffer | string): (value: string) => string {
  return (value: string) => createHmac('sha256', key).update(value).digest('hex').slice(0, 8)
}
