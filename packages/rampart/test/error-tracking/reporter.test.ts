import { afterEach, describe, expect, it } from 'vitest'
import { createSentryReporter, type SentryReporter } from '../../src/error-tracking/sentry.js'
import { createRedactor } from '../../src/logging/redact.js'
import { type SentryReceiver, startSentryReceiver } from '../support/sentry-receiver.js'

describe('the Sentry reporter', () => {
  let receiver: SentryReceiver | undefined
  let reporter: SentryReporter | undefined
  afterEach(async () => {
    await reporter?.close(1000)
    await receiver?.close()
  })

  const start = async (extra: { reportsPerSecond?: number; sampleRate?: number } = {}) => {
    receiver = await startSentryReceiver()
    reporter = createSentryReporter({
      dsn: receiver.dsn,
      environment: 'test',
      release: undefined,
      sampleRate: extra.sampleRate ?? 1,
      service: 'unit',
      version: undefined,
      redactor: createRedactor(),
      ...(extra.reportsPerSecond === undefined ? {} : { reportsPerSecond: extra.reportsPerSecond }),
    })
    return { receiver, reporter }
  }

  it('an error storm past the report budget is dropped before any work and counted', async () => {
    const { receiver, reporter } = await start({ reportsPerSecond: 2 })
    for (let i = 0; i < 25; i++) reporter.capture(new Error(`storm ${i}`))
    expect(await reporter.flush(5000)).toBe(true)
    // A burst of five seconds' worth (10) goes out; the other 15 never do.
    expect(receiver.events()).toHaveLength(10)
    expect(reporter.dropped.client_rate_limit).toBe(15)
    expect(reporter.captured).toBe(25)
  })

  it('SENTRY_SAMPLE_RATE=0 sends nothing and counts no drop (sampling is not a loss)', async () => {
    const { receiver, reporter } = await start({ sampleRate: 0 })
    reporter.capture(new Error('sampled out'))
    await reporter.flush(2000)
    expect(receiver.events()).toHaveLength(0)
    expect(Object.values(reporter.dropped).every((n) => n === 0)).toBe(true)
  })
})
