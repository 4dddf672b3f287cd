import type { AddressInfo } from 'node:net'
import express from 'express'
import { rampart } from 'rampart/express'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type OtlpReceiver, startTracingReceiver } from '../support/otlp-receiver.js'

// Tracing is configured once per process from the environment: its own file (own worker).
let receiver: OtlpReceiver
beforeAll(async () => {
  receiver = await startTracingReceiver()
})
afterAll(() => receiver?.close())

it('an error reaching the error middleware is recorded on the server span as an exception event', async () => {
  const app = express()
  const rp = await rampart(app, {
    service: 'shop',
    logLevel: 'silent',
    secretKey: 's'.repeat(40),
    shutdown: { signals: false },
  })
  app.get('/boom', async () => {
    throw new TypeError('the cart is gone')
  })
  const server = await rp.listen({ port: 0, host: '127.0.0.1' })
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const traceId = '6cf92f3577b34da6a3ce929d0e0e4738'
    const res = await fetch(`${url}/boom`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    })
    expect(res.status).toBe(500)
    await receiver.waitFor((s) => s.some((x) => x.traceId === traceId))
    const span = receiver.spans.find((s) => s.traceId === traceId)
    expect(span?.name).toBe('GET /boom')
    expect(span?.status.code).toBe(2)
    const exception = span?.events.find((e) => e.name === 'exception')
    expect(exception?.attributes['exception.type']).toBe('TypeError')
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await rp.close()
  }
})
