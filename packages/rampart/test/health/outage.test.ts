import { trackOutage } from 'rampart'
import { createMetrics, isUnavailableError, toHttpError } from 'rampart/internal'
import { describe, expect, it } from 'vitest'
import { capturedLogger } from '../support/log-capture.js'

describe('trackOutage', () => {
  it('one log line and one count per outage; a call started before the outage does not end it', async () => {
    const { logger, logs } = capturedLogger()
    const metrics = createMetrics({ defaultMetrics: false })
    const outage = trackOutage({ logger, metrics }, 'database')
    const before = performance.now()
    for (let i = 0; i < 50; i++) outage.failed(new Error('Connection terminated unexpectedly'))
    outage.succeeded(before) // an answer that was already on its way
    expect(outage.down).toBe(true)
    outage.succeeded(performance.now())
    expect(outage.down).toBe(false)
    outage.failed(new Error('again'))
    const events = logs.lines().map((l) => [l.event, l.level])
    expect(events).toEqual([
      ['dependency.unavailable', 'error'],
      ['dependency.recovered', 'info'],
      ['dependency.unavailable', 'error'],
    ])
    const { body } = await metrics.render()
    expect(body).toContain('rampart_dependency_outages_total{dependency="database"} 2')
  })
})

describe('an unavailable database', () => {
  it.each([
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, true],
    [{ message: 'Query read timeout' }, true],
    [{ message: 'Connection terminated unexpectedly' }, true],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }, true],
    [{ code: '08006', message: 'connection failure' }, true],
    [{ code: '23505', message: 'duplicate key value violates unique constraint' }, false],
    [{ code: '42601', message: 'syntax error' }, false],
  ])('%o → unavailable: %s', (err, expected) => {
    expect(isUnavailableError(Object.assign(new Error(err.message), err))).toBe(expected)
  })

  it('an error carrying status 503 answers 503 with Retry-After, not 500', () => {
    const err = Object.assign(new Error('Connection terminated'), { status: 503 })
    const http = toHttpError(err, { exposeMessage: false })
    expect(http.status).toBe(503)
    expect(http.headers['retry-after']).toBe('5')
  })
})
