import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rampart } from '../../src/adapters/fastify/index.js'
import { tracingRuntime } from '../../src/tracing/state.js'
import { freePort } from '../support/free-port.js'
import { hammer, sample } from '../support/load.js'
import { type LogCapture, logCapture } from '../support/log-capture.js'

/**
 * Heap and external memory still held after a full collection: what a span queue that grows
 * without bound would show. RSS is not used: how much of the young generation and allocator
 * pages it keeps varies by Node version (Node 24's RSS grew 173 MiB here with nothing held).
 */
function heldAfterGc(): number {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

describe('tracing with the collector down', () => {
  let app: FastifyInstance
  let logs: LogCapture
  let base: string

  beforeAll(async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${await freePort()}`
    process.env.OTEL_BSP_SCHEDULE_DELAY = '20'
    process.env.OTEL_EXPORTER_OTLP_TIMEOUT = '500'
    logs = logCapture()
    app = Fastify()
    await app.register(rampart, {
      nodeEnv: 'test',
      logDestination: logs.stream,
      logLevel: 'warn',
      shutdown: { signals: false },
    })
    app.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }))
    base = await app.listen({ port: 0, host: '127.0.0.1' })
  })

  afterAll(async () => {
    await app?.close()
  })

  it('serves 10,000 requests, keeps memory bounded, logs the failure once, counts every span dropped', async () => {
    await hammer(`${base}/items/warm`, 500, 16)
    const heldBefore = heldAfterGc()
    const started = Date.now()
    const statuses = await hammer(`${base}/items/1`, 10_000, 32)
    const seconds = (Date.now() - started) / 1000
    const grownMiB = (heldAfterGc() - heldBefore) / 2 ** 20
    expect(statuses.get(200)).toBe(10_000)
    // 2 MiB seen: the export queue holds at most 2,048 spans; keeping all 10,000 would not fit.
    expect(grownMiB, `held memory grew ${grownMiB.toFixed(1)} MiB`).toBeLessThan(12)

    await tracingRuntime()?.forceFlush()
    const failures = logs.lines().filter((l) => l.event === 'tracing.export_failed')
    // One line per 60 s interval at most; the run takes well under a minute.
    expect(seconds).toBeLessThan(60)
    expect(failures).toHaveLength(1)
    expect(failures[0]?.level).toBe('warn')

    const text = await (await fetch(`${base}/metrics`)).text()
    const dropped = ['queue_full', 'export_failed', 'export_timeout', 'shutdown']
      .map((r) => sample(text, `rampart_tracing_spans_dropped_total{reason="${r}"}`) ?? 0)
      .reduce((a, b) => a + b, 0)
    expect(sample(text, 'rampart_tracing_spans_exported_total')).toBe(0)
    expect(dropped).toBe(10_500)
  })

  it('shuts down within the flush budget although spans cannot be delivered', async () => {
    await hammer(`${base}/items/2`, 200, 8)
    const started = Date.now()
    await app.close()
    expect(Date.now() - started).toBeLessThan(7000)
  })
})
