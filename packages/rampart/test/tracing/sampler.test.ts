import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rampart, withSpan } from '../../src/adapters/fastify/index.js'
import { type LogCapture, logCapture } from '../support/log-capture.js'
import { type OtlpReceiver, startOtlpReceiver } from '../support/otlp-receiver.js'

const SERVER = 2

// OTEL_TRACES_SAMPLER is read once, when the process's tracing runtime starts: this file runs
// in its own worker with a sampler that keeps only traces a caller sampled.
describe('OTEL_TRACES_SAMPLER=parentbased_always_off', () => {
  let receiver: OtlpReceiver
  let app: FastifyInstance
  let downstream: Server
  let logs: LogCapture
  const seen: IncomingHttpHeaders[] = []

  beforeAll(async () => {
    receiver = await startOtlpReceiver()
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url
    process.env.OTEL_BSP_SCHEDULE_DELAY = '50'
    process.env.OTEL_TRACES_SAMPLER = 'parentbased_always_off'
    downstream = createServer((req, res) => {
      seen.push(req.headers)
      res.end('ok')
    })
    await new Promise<void>((r) => downstream.listen(0, '127.0.0.1', r))
    const stock = `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/stock`
    logs = logCapture()
    app = Fastify()
    await app.register(rampart, {
      service: 'sampled',
      nodeEnv: 'test',
      logDestination: logs.stream,
      shutdown: { signals: false },
    })
    app.get('/items/:id', async () => {
      await withSpan('items.load', {}, async () => fetch(stock))
      return { ok: true }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
  })

  afterAll(async () => {
    await app?.close()
    await receiver?.close()
    downstream?.close()
    delete process.env.OTEL_TRACES_SAMPLER
  })

  it('records nothing of an unsampled request, yet keeps its ids in logs and downstream', async () => {
    const { port } = app.server.address() as AddressInfo
    const res = await fetch(`http://127.0.0.1:${port}/items/1`)
    expect(res.status).toBe(200)
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    await fetch(`http://127.0.0.1:${port}/items/2`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    })
    await receiver.waitFor((s) => s.some((x) => x.kind === SERVER))
    await new Promise((r) => setTimeout(r, 200))

    // Only the caller-sampled request was recorded: its server span and the spans under it.
    expect(receiver.spans.every((s) => s.traceId === traceId)).toBe(true)
    const servers = receiver.spans.filter((s) => s.kind === SERVER)
    expect(servers).toHaveLength(1)
    expect(servers[0]).toMatchObject({ name: 'GET /items/:id', parentSpanId: '00f067aa0ba902b7' })
    expect(receiver.spans.some((s) => s.name === 'items.load')).toBe(true)

    // The unsampled request still has a trace id: in its access line, and sent on (flags 00).
    const line = logs
      .lines()
      .find((l) => l.event === 'request.completed' && l.route === '/items/:id')
    expect(line?.trace_id).toMatch(/^[0-9a-f]{32}$/)
    expect(line?.trace_id).not.toBe(traceId)
    expect(seen[0]?.traceparent).toMatch(
      new RegExp(`^00-${String(line?.trace_id)}-[0-9a-f]{16}-00$`),
    )
    expect(seen[1]?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`))
  })
})
