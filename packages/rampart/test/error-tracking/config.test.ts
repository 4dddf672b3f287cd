import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/config/resolve.js'

const PROD = { NODE_ENV: 'production', SECRET_KEY: 'x'.repeat(40), RAMPART_CONSOLE: 'false' }

function errorOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('expected an error')
}

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
