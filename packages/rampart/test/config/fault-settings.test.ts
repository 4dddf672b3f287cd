import { resolveConfig } from 'rampart/internal'
import { describe, expect, it } from 'vitest'

const SECRET = 'x'.repeat(40)

describe('fault-tolerance settings', () => {
  it('defaults: 30 s request, 10 s headers, 5 s keep-alive, 5 s queries; shutdown delay 5 s in production, 0 otherwise', () => {
    const dev = resolveConfig({}, {})
    expect(dev.timeouts).toEqual({ requestMs: 30_000, keepAliveMs: 5_000, headersMs: 10_000 })
    expect(dev.dbQueryTimeoutMs).toBe(5_000)
    expect(dev.shutdownDelayMs).toBe(0)
    expect(dev.rateLimit.storeTimeoutMs).toBe(1_000)
    const prod = resolveConfig(
      { console: { token: 'c'.repeat(20) } },
      { NODE_ENV: 'production', SECRET_KEY: SECRET },
    )
    expect(prod.shutdownDelayMs).toBe(5_000)
  })

  it('environment variables, then options', () => {
    const env = {
      REQUEST_TIMEOUT_S: '12',
      KEEP_ALIVE_TIMEOUT_S: '0',
      HEADERS_TIMEOUT_S: '4',
      DB_QUERY_TIMEOUT_S: '2',
      SHUTDOWN_DELAY_S: '3',
      RATE_LIMIT_STORE_TIMEOUT_MS: '250',
    }
    const fromEnv = resolveConfig({}, env)
    expect(fromEnv.timeouts).toEqual({ requestMs: 12_000, keepAliveMs: 0, headersMs: 4_000 })
    expect(fromEnv.dbQueryTimeoutMs).toBe(2_000)
    expect(fromEnv.shutdownDelayMs).toBe(3_000)
    expect(fromEnv.rateLimit.storeTimeoutMs).toBe(250)
    const fromOptions = resolveConfig(
      { timeouts: { requestS: 7 }, shutdownDelayS: 0, dbQueryTimeoutS: 1 },
      env,
    )
    expect(fromOptions.timeouts.requestMs).toBe(7_000)
    expect(fromOptions.shutdownDelayMs).toBe(0)
    expect(fromOptions.dbQueryTimeoutMs).toBe(1_000)
  })

  it.each([
    [
      { REQUEST_TIMEOUT_S: '30s' },
      'REQUEST_TIMEOUT_S: got "30s"; expected a whole number of seconds from 0 to 3600',
    ],
    [
      { DB_QUERY_TIMEOUT_S: '0' },
      'DB_QUERY_TIMEOUT_S: got "0"; expected a whole number of seconds from 1 to 3600',
    ],
    [
      { SHUTDOWN_DELAY_S: '-1' },
      'SHUTDOWN_DELAY_S: got "-1"; expected a whole number of seconds from 0 to 600',
    ],
  ])('%o is refused in one line', (env, message) => {
    expect(() => resolveConfig({}, env)).toThrow(message)
  })

  it('a bad option names it', () => {
    expect(() => resolveConfig({ timeouts: { keepAliveS: 1.5 } }, {})).toThrow(
      'timeouts.keepAliveS: got "1.5"; expected a whole number from 0 to 3600',
    )
  })

  it('RATE_LIMIT_AUTH_PER_MINUTE changes the rate only: auth stays a credential policy', () => {
    const c = resolveConfig({}, { RATE_LIMIT_AUTH_PER_MINUTE: '5' })
    expect(c.rateLimit.policies.auth).toEqual({ perMinute: 5, credential: true })
  })
})
