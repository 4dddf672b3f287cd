import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withSpan } from '../../src/adapters/fastify/index.js'
import { logCapture } from '../support/log-capture.js'
import { type SentryReceiver, startSentryReceiver } from '../support/sentry-receiver.js'
import { startTracedApp, type TracedApp } from '../support/traced-app.js'

const SERVER = 2

// Tracing is per process: this file runs in its own worker with an OTLP receiver and Sentry on.
describe('error tracking with tracing on: one trace, not two', () => {
  let t: TracedApp
  let sentry: SentryReceiver
  const logs = logCapture()

  beforeAll(async () => {
    sentry = await startSentryReceiver()
    t = await startTracedApp({
      service: 'one-trace',
      logs,
      env: { SENTRY_DSN: sentry.dsn },
      routes(app) {
        app.get('/orders/:id', async () =>
          withSpan('orders.load', {}, async () => {
            throw new Error('order store unreachable')
          }),
        )
      },
    })
  })
  afterAll(async () => {
    await t?.close()
    await sentry?.close()
  })

  it('the event’s trace is the server span’s trace (and the log lines’), and Sentry exports no span of its own', async () => {
    const caller = '4bf92f3577b34da6a3ce929d0e0e4736'
    const res = await fetch(`${t.base}/orders/9`, {
      headers: { traceparent: `00-${caller}-00f067aa0ba902b7-01` },
    })
    expect(res.status).toBe(500)
    const [event] = await sentry.waitForEvents(1)
    await t.receiver.waitFor((spans) => spans.some((s) => s.kind === SERVER))
    const server = t.receiver.spans.find((s) => s.kind === SERVER)
    expect(server?.traceId).toBe(caller)
    expect(event?.contexts?.trace?.trace_id).toBe(caller)
    expect(event?.tags?.trace_id).toBe(caller)
    expect(event?.contexts?.trace?.span_id).toBe(server?.spanId)
    const access = logs.lines().find((l) => l.event === 'request.completed')
    expect(access?.trace_id).toBe(caller)
    // Only Rampart's spans reach the collector (the server span and the manual one), and no
    // transaction or span envelope reaches Sentry.
    await t.app.rampart.errors.flush(3000)
    expect(t.receiver.spans.map((s) => s.name).sort()).toEqual(['GET /orders/:id', 'orders.load'])
    const types = sentry.envelopes.flatMap((e) => e.items.map((i) => i.header.type))
    expect(types).toEqual(['event'])
  })
})
