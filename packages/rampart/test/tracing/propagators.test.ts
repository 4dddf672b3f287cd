import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rampart } from '../../src/adapters/fastify/index.js'
import { type OtlpReceiver, startOtlpReceiver } from '../support/otlp-receiver.js'

const SERVER = 2

// OTEL_PROPAGATORS is read once, when the process's tracing runtime starts: this file runs in
// its own worker with B3 (multi-header) only.
describe('OTEL_PROPAGATORS=b3multi', () => {
  let receiver: OtlpReceiver
  let app: FastifyInstance
  let downstream: Server
  const seen: IncomingHttpHeaders[] = []

  beforeAll(async () => {
    receiver = await startOtlpReceiver()
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url
    process.env.OTEL_BSP_SCHEDULE_DELAY = '50'
    process.env.OTEL_PROPAGATORS = 'b3multi'
    downstream = createServer((req, res) => {
      seen.push(req.headers)
      res.end('ok')
    })
    await new Promise<void>((r) => downstream.listen(0, '127.0.0.1', r))
    const stock = `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/stock`
    app = Fastify()
    await app.register(rampart, {
      service: 'b3',
      nodeEnv: 'test',
      logLevel: 'silent',
      shutdown: { signals: false },
    })
    app.get('/items/:id', async () => {
      await fetch(stock)
      return { ok: true }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
  })

  afterAll(async () => {
    await app?.close()
    await receiver?.close()
    downstream?.close()
    delete process.env.OTEL_PROPAGATORS
  })

  it('joins a B3 caller, ignores traceparent, and sends B3 headers downstream', async () => {
    const { port } = app.server.address() as AddressInfo
    const traceId = '463ac35c9f6413ad48485a3953bb6124'
    const parentId = '0020000000000001'
    await fetch(`http://127.0.0.1:${port}/items/1`, {
      headers: { 'x-b3-traceid': traceId, 'x-b3-spanid': parentId, 'x-b3-sampled': '1' },
    })
    await fetch(`http://127.0.0.1:${port}/items/2`, {
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    })
    await receiver.waitFor((s) => s.filter((x) => x.kind === SERVER).length >= 2)
    const servers = receiver.spans.filter((s) => s.kind === SERVER)
    const joined = servers.find((s) => s.attributes['url.path'] === '/items/1')
    expect(joined).toMatchObject({ traceId, parentSpanId: parentId })
    const fresh = servers.find((s) => s.attributes['url.path'] === '/items/2')
    expect(fresh?.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736')
    expect(fresh?.parentSpanId).toBe('')

    expect(seen[0]?.['x-b3-traceid']).toBe(traceId)
    expect(seen[0]?.['x-b3-sampled']).toBe('1')
    expect(seen[0]?.traceparent).toBeUndefined()
  })
})
