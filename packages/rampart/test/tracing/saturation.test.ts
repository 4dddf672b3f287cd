import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rampart } from '../../src/adapters/fastify/index.js'
import { tracingRuntime } from '../../src/tracing/state.js'
import { hammer, sample } from '../support/load.js'
import { type OtlpReceiver, startOtlpReceiver } from '../support/otlp-receiver.js'

describe('tracing under a saturating load', () => {
  let app: FastifyInstance
  let receiver: OtlpReceiver
  let base: string

  beforeAll(async () => {
    receiver = await startOtlpReceiver()
    // A slow collector and a small queue: the exporter cannot keep up, so spans must drop.
    receiver.delayMs = 100
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url
    process.env.OTEL_BSP_MAX_QUEUE_SIZE = '128'
    process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE = '32'
    process.env.OTEL_BSP_SCHEDULE_DELAY = '20'
    app = Fastify()
    await app.register(rampart, {
      nodeEnv: 'test',
      logLevel: 'silent',
      shutdown: { signals: false },
    })
    app.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }))
    base = await app.listen({ port: 0, host: '127.0.0.1' })
  })

  afterAll(async () => {
    await app?.close()
    await receiver?.close()
  })

  it('exported spans plus dropped spans equal the requests served, one server span each', async () => {
    const statuses = await hammer(`${base}/items/1`, 3000, 64)
    const served = statuses.get(200) ?? 0
    expect(served).toBe(3000)
    await tracingRuntime()?.forceFlush()

    const text = await (await fetch(`${base}/metrics`)).text()
    const exported = sample(text, 'rampart_tracing_spans_exported_total') ?? -1
    const queueFull = sample(text, 'rampart_tracing_spans_dropped_total{reason="queue_full"}') ?? 0
    const dropped = ['queue_full', 'export_failed', 'export_timeout', 'shutdown']
      .map((r) => sample(text, `rampart_tracing_spans_dropped_total{reason="${r}"}`) ?? 0)
      .reduce((a, b) => a + b, 0)
    expect(queueFull, 'the load saturated the exporter').toBeGreaterThan(0)
    expect(exported).toBe(receiver.spans.length)
    expect(exported + dropped).toBe(served)
    expect(receiver.spans.every((s) => s.name === 'GET /items/:id' && s.kind === 2)).toBe(true)
    expect(new Set(receiver.spans.map((s) => s.traceId)).size).toBe(receiver.spans.length)
  })
})
