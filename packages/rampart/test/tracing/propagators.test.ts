import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTracedApp, type TracedApp } from '../support/traced-app.js'

const SERVER = 2

// OTEL_PROPAGATORS is read once, when the process's tracing runtime starts: this file runs in
// its own worker with B3 (multi-header) only.
describe('OTEL_PROPAGATORS=b3multi', () => {
  let t: TracedApp

  beforeAll(async () => {
    t = await startTracedApp({
      service: 'b3',
      env: { OTEL_PROPAGATORS: 'b3multi' },
      routes(app, stock) {
        app.get('/items/:id', async () => {
          await fetch(stock)
          return { ok: true }
        })
      },
    })
  })

  afterAll(async () => {
    await t?.close()
  })

  it('joins a B3 caller, ignores traceparent, and sends B3 headers downstream', async () => {
    const traceId = '463ac35c9f6413ad48485a3953bb6124'
    const parentId = '0020000000000001'
    await fetch(`${t.base}/items/1`, {
      headers: { 'x-b3-traceid': traceId, 'x-b3-spanid': parentId, 'x-b3-sampled': '1' },
    })
    await fetch(`${t.base}/items/2`, {
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    })
    await t.receiver.waitFor((s) => s.filter((x) => x.kind === SERVER).length >= 2)
    const servers = t.receiver.spans.filter((s) => s.kind === SERVER)
    const joined = servers.find((s) => s.attributes['url.path'] === '/items/1')
    expect(joined).toMatchObject({ traceId, parentSpanId: parentId })
    const fresh = servers.find((s) => s.attributes['url.path'] === '/items/2')
    expect(fresh?.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736')
    expect(fresh?.parentSpanId).toBe('')

    const seen = t.downstreamHeaders
    expect(seen[0]?.['x-b3-traceid']).toBe(traceId)
    expect(seen[0]?.['x-b3-sampled']).toBe('1')
    expect(seen[0]?.traceparent).toBeUndefined()
  })
})
