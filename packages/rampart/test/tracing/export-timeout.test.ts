import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tracingRuntime } from '../../src/tracing/state.js'
import { sample } from '../support/load.js'
import { startTracedApp, type TracedApp } from '../support/traced-app.js'

// A collector that answers too slowly: the exporter gives up after OTEL_EXPORTER_OTLP_TIMEOUT
// (well before the batch processor's own OTEL_BSP_EXPORT_TIMEOUT). Those spans are dropped for
// a timeout, and counted so, not as a failed export.
describe('spans dropped because the exporter timed out', () => {
  let t: TracedApp
  beforeAll(async () => {
    t = await startTracedApp({
      service: 'timeouts',
      env: { OTEL_EXPORTER_OTLP_TIMEOUT: '300', OTEL_BSP_EXPORT_TIMEOUT: '20000' },
      routes(app) {
        app.get('/items', async () => ({ ok: true }))
      },
    })
    t.receiver.delayMs = 3000
  })
  afterAll(async () => {
    t.receiver.delayMs = 0
    await t?.close()
  })

  it('are counted as export_timeout, not export_failed', async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`${t.base}/items`)).status).toBe(200)
    await tracingRuntime()?.forceFlush()
    const text = await (await fetch(`${t.base}/metrics`)).text()
    const dropped = (reason: string) =>
      sample(text, `rampart_tracing_spans_dropped_total{reason="${reason}"}`) ?? 0
    expect(dropped('export_timeout')).toBe(5)
    expect(dropped('export_failed')).toBe(0)
  }, 20_000)
})
