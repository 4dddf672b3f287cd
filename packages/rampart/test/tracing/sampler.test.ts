import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withSpan } from '../../src/adapters/fastify/index.js'
import { type LogCapture, logCapture } from '../support/log-capture.js'
import { startTracedApp, type TracedApp } from '../support/traced-app.js'

const SERVER = 2

// OTEL_TRACES_SAMPLER is read once, when the process's tracing runtime starts: this file runs
// in its own worker with a sampler that keeps only traces a caller sampled.
describe('OTEL_TRACES_SAMPLER=parentbased_always_off', () => {
  let t: TracedApp
  const logs: LogCapture = logCapture()

  beforeAll(async () => {
    t = await startTracedApp({
      service: 'sampled',
      env: { OTEL_TRACES_SAMPLER: 'parentbased_always_off' },
      logs,
      routes(app, stock) {
        app.get('/items/:id', async () => {
          await withSpan('items.load', {}, async () => fetch(stock))
          return { ok: true }
        })
      },
    })
  })

  afterAll(async () => {
    await t?.close()
  })

  it('records nothing of an unsampled request, yet keeps its ids in logs and downstream', async () => {
    const res = await fetch(`${t.base}/items/1`)
    expect(res.status).toBe(200)
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    await fetch(`${t.base}/items/2`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    })
    await t.receiver.waitFor((s) => s.some((x) => x.kind === SERVER))
    await new Promise((r) => setTimeout(r, 200))

    // Only the caller-sampled request was recorded: its server span and the spans under it.
    const { spans } = t.receiver
    expect(spans.every((s) => s.traceId === traceId)).toBe(true)
    const servers = spans.filter((s) => s.kind === SERVER)
    expect(servers).toHaveLength(1)
    expect(servers[0]).toMatchObject({ name: 'GET /items/:id', parentSpanId: '00f067aa0ba902b7' })
    expect(spans.some((s) => s.name === 'items.load')).toBe(true)

    // The unsampled request still has a trace id: in its access line, and sent on (flags 00).
    const line = logs
      .lines()
      .find((l) => l.event === 'request.completed' && l.route === '/items/:id')
    expect(line?.trace_id).toMatch(/^[0-9a-f]{32}$/)
    expect(line?.trace_id).not.toBe(traceId)
    const seen = t.downstreamHeaders
    expect(seen[0]?.traceparent).toMatch(
      new RegExp(`^00-${String(line?.trace_id)}-[0-9a-f]{16}-00$`),
    )
    expect(seen[1]?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`))
  })
})
