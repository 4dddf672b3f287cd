import { resolveConfig } from 'rampart/internal'
import { describe, expect, it } from 'vitest'

const SECRET = 'x'.repeat(40)

function errorOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('expected an error')
}

describe('resolveConfig', () => {
  it('production without SECRET_KEY names SECRET_KEY in one line', () => {
    const message = errorOf(() => resolveConfig({}, { NODE_ENV: 'production' }))
    expect(message).toMatch(/^SECRET_KEY: not set; required in production/)
    expect(message).not.toContain('\n')
  })

  it('a short SECRET_KEY is refused and masked', () => {
    const message = errorOf(() =>
      resolveConfig({}, { NODE_ENV: 'production', SECRET_KEY: 'hunter2hunter2' }),
    )
    expect(message).toMatch(
      /^SECRET_KEY: got "\*\*\*" \(14 characters\); expected at least 32 bytes/,
    )
    expect(message).not.toContain('hunter2')
  })

  it('LOG_LEVEL=loud names the allowed levels', () => {
    expect(errorOf(() => resolveConfig({}, { LOG_LEVEL: 'loud' }))).toBe(
      'LOG_LEVEL: got "loud"; expected one of trace, debug, info, warn, error, fatal, silent',
    )
  })

  it.each([
    ['MAX_BODY_KB', '0', 'a whole number from 1 to 1048576'],
    ['MAX_UPLOAD_MB', '1.5', 'a whole number from 1 to 1048576'],
    ['TRUSTED_PROXIES', '10.0.0.0/33', 'comma-separated CIDRs'],
    ['RATE_LIMIT_STORE', 'mongodb://x', 'memory or a redis:// URL'],
    ['RATE_LIMIT_ON_STORE_ERROR', 'maybe', 'one of open, closed'],
    ['RATE_LIMIT_WRITE_PER_MINUTE', 'lots', 'a whole number'],
    ['METRICS_ENABLED', 'sometimes', 'true or false'],
    ['AUDIT_DB', 'mysql://x', 'sqlite:<path> or a postgres:// URL'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'localhost:4318', 'an http:// or https:// URL'],
    ['OTEL_PROPAGATORS', 'tracecontext,xray', 'tracecontext, baggage, b3, b3multi, none'],
    ['OTEL_TRACES_SAMPLER', 'sometimes', 'one of always_on, always_off, traceidratio'],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5', 'a number from 0 to 1'],
  ])('%s=%s is refused with what is allowed', (name, value, allowed) => {
    const message = errorOf(() => resolveConfig({}, { NODE_ENV: 'test', [name]: value }))
    expect(message.startsWith(`${name}: got "${value}"; expected `)).toBe(true)
    expect(message).toContain(allowed)
  })

  it('masks credentials in URLs', () => {
    const message = errorOf(() =>
      resolveConfig({}, { NODE_ENV: 'test', RATE_LIMIT_STORE: 'mongodb://user:pw@host' }),
    )
    expect(message).not.toContain('pw')
  })

  it('options win over environment variables, which win over defaults', () => {
    const env = { NODE_ENV: 'test', LOG_LEVEL: 'warn', MAX_BODY_KB: '64', SECRET_KEY: SECRET }
    const fromEnv = resolveConfig({}, env)
    expect(fromEnv.logLevel).toBe('warn')
    expect(fromEnv.maxBodyBytes).toBe(64 * 1024)
    expect(fromEnv.maxUploadBytes).toBe(500 * 1024 * 1024)
    const fromOptions = resolveConfig({ logLevel: 'error', maxBodyKb: 8 }, env)
    expect(fromOptions.logLevel).toBe('error')
    expect(fromOptions.maxBodyBytes).toBe(8 * 1024)
  })

  it('defaults follow NODE_ENV', () => {
    const dev = resolveConfig({ dataDir: 'data-test-tmp' }, { NODE_ENV: 'test' })
    expect(dev.logFormat).toBe('json')
    expect(dev.console.enabled).toBe(true)
    const prod = resolveConfig({}, { NODE_ENV: 'production', SECRET_KEY: SECRET })
    expect(prod.logLevel).toBe('info')
    expect(prod.logFormat).toBe('json')
    expect(prod.console.enabled).toBe(false)
    expect(prod.rateLimit.policies).toEqual({
      read: { perMinute: 300 },
      write: { perMinute: 60 },
      auth: { perMinute: 10, credential: true },
      submit: { perMinute: 10 },
    })
  })

  it('RATE_LIMIT_<POLICY>_PER_MINUTE overrides a policy', () => {
    const c = resolveConfig({}, { NODE_ENV: 'test', RATE_LIMIT_WRITE_PER_MINUTE: '120' })
    expect(c.rateLimit.policies.write).toEqual({ perMinute: 120 })
  })

  it('normalises TRUSTED_PROXIES to CIDRs', () => {
    const c = resolveConfig({}, { NODE_ENV: 'test', TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8,::1' })
    expect(c.trustedProxies).toEqual(['127.0.0.1/32', '10.0.0.0/8', '::1/128'])
  })

  it('the console needs a token in production', () => {
    const message = errorOf(() =>
      resolveConfig({}, { NODE_ENV: 'production', SECRET_KEY: SECRET, RAMPART_CONSOLE: 'true' }),
    )
    expect(message).toMatch(/^RAMPART_CONSOLE_TOKEN: not set/)
  })

  it('metrics, console and audit are grouped options: { enabled, token }, { db, key, …}; their variables keep their names', () => {
    const env = {
      NODE_ENV: 'test',
      SECRET_KEY: SECRET,
      METRICS_ENABLED: 'false',
      METRICS_TOKEN: 'm'.repeat(16),
      RAMPART_CONSOLE: 'false',
      RAMPART_CONSOLE_TOKEN: 'c'.repeat(16),
      AUDIT_DB: 'sqlite:data/from-env.db',
    }
    const fromEnv = resolveConfig({}, env)
    expect(fromEnv.metrics).toEqual({ enabled: false, token: 'm'.repeat(16) })
    expect(fromEnv.console).toEqual({ enabled: false, token: 'c'.repeat(16) })
    expect(fromEnv.audit.db).toBe('sqlite:data/from-env.db')
    const fromOptions = resolveConfig(
      {
        metrics: { enabled: true, token: 'n'.repeat(16), seriesCap: 10 },
        console: { enabled: true, token: 'd'.repeat(16) },
        audit: { db: 'sqlite:data/from-option.db', table: 'events' },
      },
      env,
    )
    expect(fromOptions.metrics).toEqual({ enabled: true, token: 'n'.repeat(16) })
    expect(fromOptions.console).toEqual({ enabled: true, token: 'd'.repeat(16) })
    expect(fromOptions.audit.db).toBe('sqlite:data/from-option.db')
    // A short token is refused under the option's own name, masked.
    expect(errorOf(() => resolveConfig({ metrics: { token: 'short' } }, env))).toBe(
      'metrics.token: got "***" (5 characters); expected at least 16 characters',
    )
    expect(errorOf(() => resolveConfig({ console: { token: 'short' } }, env))).toBe(
      'console.token: got "***" (5 characters); expected at least 16 characters',
    )
  })

  it('a boolean where a group is expected (the old `console: true`) is refused, not read as unset', () => {
    const wrong = { console: true } as unknown as Parameters<typeof resolveConfig>[0]
    expect(errorOf(() => resolveConfig(wrong, { NODE_ENV: 'test' }))).toBe(
      'console: got "true"; expected { enabled, token }',
    )
  })

  it('an option that moved into a group is refused with where it went', () => {
    const old = { metricsToken: 'm'.repeat(16) } as unknown as Parameters<typeof resolveConfig>[0]
    expect(errorOf(() => resolveConfig(old, { NODE_ENV: 'test' }))).toBe(
      'metricsToken: no longer an option; use metrics.token',
    )
    const audit = { auditOptions: { table: 't' } } as unknown as Parameters<typeof resolveConfig>[0]
    expect(errorOf(() => resolveConfig(audit, { NODE_ENV: 'test' }))).toMatch(
      /^auditOptions: no longer an option; use audit/,
    )
  })

  it('rateLimit.store takes a Store object as given, and refuses an object that is not one', () => {
    const store = { increment: () => ({ allowed: true, remaining: 1, resetMs: 0 }), reset() {} }
    expect(resolveConfig({ rateLimit: { store } }, { NODE_ENV: 'test' }).rateLimit.store).toBe(
      store,
    )
    const notAStore = { rateLimit: { store: {} } } as unknown as Parameters<typeof resolveConfig>[0]
    expect(errorOf(() => resolveConfig(notAStore, { NODE_ENV: 'test' }))).toMatch(
      /^rateLimit\.store: got an object without increment\(\) and reset\(\)/,
    )
  })

  it('derives the audit key from the secret key unless AUDIT_KEY is set', () => {
    const a = resolveConfig({}, { NODE_ENV: 'test', SECRET_KEY: SECRET })
    const b = resolveConfig({}, { NODE_ENV: 'test', SECRET_KEY: SECRET })
    expect(a.audit.key.equals(b.audit.key)).toBe(true)
    expect(a.audit.key.equals(a.secretKey)).toBe(false)
    const c = resolveConfig({}, { NODE_ENV: 'test', SECRET_KEY: SECRET, AUDIT_KEY: 'y'.repeat(32) })
    expect(c.audit.key.toString()).toBe('y'.repeat(32))
  })
})

const PROD = { NODE_ENV: 'production', SECRET_KEY: SECRET, RAMPART_CONSOLE: 'false' }

describe('error-tracking configuration', () => {
  it('SENTRY_ENVIRONMENT, else NODE_ENV; SENTRY_RELEASE; SENTRY_SAMPLE_RATE, else 1', () => {
    const dsn = 'https://abc@sentry.example/7'
    expect(resolveConfig({}, { ...PROD, SENTRY_DSN: dsn }).sentry).toEqual({
      dsn,
      environment: 'production',
      release: undefined,
      sampleRate: 1,
    })
    const set = resolveConfig(
      {},
      {
        ...PROD,
        SENTRY_ENVIRONMENT: 'staging',
        SENTRY_RELEASE: 'shop@2.1.0',
        SENTRY_SAMPLE_RATE: '0.25',
      },
    )
    expect(set.sentry).toMatchObject({
      environment: 'staging',
      release: 'shop@2.1.0',
      sampleRate: 0.25,
    })
    expect(
      resolveConfig({ sentrySampleRate: 0.5 }, { SENTRY_SAMPLE_RATE: '1' }).sentry.sampleRate,
    ).toBe(0.5)
  })

  it('bad values name the variable in one line (the DSN masked)', () => {
    expect(errorOf(() => resolveConfig({}, { SENTRY_SAMPLE_RATE: '1.5' }))).toBe(
      'SENTRY_SAMPLE_RATE: got "1.5"; expected a number from 0 to 1',
    )
    expect(errorOf(() => resolveConfig({}, { SENTRY_ENVIRONMENT: 'eu/west' }))).toBe(
      'SENTRY_ENVIRONMENT: got "eu/west"; expected a name without spaces or "/" (at most 64 characters)',
    )
    expect(errorOf(() => resolveConfig({}, { SENTRY_DSN: 'sentry-is-on-please' }))).toBe(
      'SENTRY_DSN: got "***" (19 characters); expected a DSN such as https://<key>@<host>/<project>',
    )
    expect(errorOf(() => resolveConfig({ sentrySampleRate: 2 }, {}))).toBe(
      'sentrySampleRate: got "2"; expected a number from 0 to 1',
    )
    expect(errorOf(() => resolveConfig({}, { RAMPART_ON_UNHANDLED_REJECTION: 'ignore' }))).toBe(
      'RAMPART_ON_UNHANDLED_REJECTION: got "ignore"; expected one of crash, log',
    )
  })

  it('crash handlers: on except under NODE_ENV=test; unhandled rejections crash in production and are logged elsewhere', () => {
    expect(resolveConfig({}, PROD).crash).toEqual({ handlers: true, onUnhandledRejection: 'crash' })
    expect(resolveConfig({}, { NODE_ENV: 'development' }).crash).toEqual({
      handlers: true,
      onUnhandledRejection: 'log',
    })
    expect(resolveConfig({}, { NODE_ENV: 'test' }).crash.handlers).toBe(false)
    expect(resolveConfig({ crashHandlers: false }, PROD).crash.handlers).toBe(false)
    expect(
      resolveConfig({}, { ...PROD, RAMPART_ON_UNHANDLED_REJECTION: 'log' }).crash
        .onUnhandledRejection,
    ).toBe('log')
  })
})
