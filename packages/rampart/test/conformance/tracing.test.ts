import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startTracingReceiver,
} from '../support/otlp-receiver.js'
import { adapters, type Running } from './adapters.js'
import { conformanceApp } from './app.js'

// Tracing is configured once per process from the environment: this file runs in its own
// worker, with an OTLP/HTTP receiver, and builds each adapter's app in turn.
const SERVER = 2
let receiver: OtlpReceiver

beforeAll(async () => {
  receiver = await startTracingReceiver()
})
afterAll(() => receiver?.close())

describe.each(adapters)('tracing on $name', ({ build }) => {
  let app: Running | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
    // Both adapters send the same trace ids: each test reads only its own app's spans.
    receiver.spans.length = 0
  })

  it('joins the caller’s W3C trace with one server span named by the route template; the access line carries its ids', async () => {
    const t = await build(conformanceApp, {})
    app = t
    const traceId = randomBytes(16).toString('hex')
    const parentId = '00f067aa0ba902b7'
    const res = await fetch(`${t.url}/items/42?page=1`, {
      headers: { traceparent: `00-${traceId}-${parentId}-01` },
    })
    expect(res.status).toBe(200)
    await receiver.waitFor((s) => s.some((x) => x.traceId === traceId && x.kind === SERVER))
    const servers = receiver.spans.filter((s) => s.traceId === traceId && s.kind === SERVER)
    expect(servers).toHaveLength(1)
    const server = servers[0] as ReceivedSpan
    expect(server.name).toBe('GET /items/:id')
    expect(server.parentSpanId).toBe(parentId)
    expect(server.service).toBe('conformance')
    expect(server.attributes['http.route']).toBe('/items/:id')
    expect(server.attributes['http.response.status_code']).toBe(200)
    const line = t.logs
      .lines()
      .find((l) => l.event === 'request.completed' && l.route === '/items/:id')
    expect(line?.trace_id).toBe(traceId)
    expect(line?.span_id).toBe(server.spanId)
  })

  it('a failing request’s span is an error with its status; a new trace starts without a parent; no span for /healthz or /metrics', async () => {
    const t = await build(conformanceApp, {})
    app = t
    const traceId = randomBytes(16).toString('hex')
    // The receiver keeps every adapter's spans: this request's path is its own.
    const ownPath = `/items/${randomBytes(4).toString('hex')}`
    expect(
      (
        await fetch(`${t.url}/boom`, {
          headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
        })
      ).status,
    ).toBe(500)
    await fetch(`${t.url}/healthz`)
    await fetch(`${t.url}/metrics`)
    const own = await fetch(`${t.url}${ownPath}`)
    expect(own.status).toBe(200)
    await receiver.waitFor((s) => s.some((x) => x.traceId === traceId && x.kind === SERVER))
    await receiver.waitFor((s) => s.some((x) => x.attributes['url.path'] === ownPath))
    const boom = receiver.spans.find(
      (s) => s.traceId === traceId && s.kind === SERVER,
    ) as ReceivedSpan
    expect(boom.name).toBe('GET /boom')
    expect(boom.status.code).toBe(2)
    expect(boom.attributes['http.response.status_code']).toBe(500)
    const fresh = receiver.spans.find((s) => s.attributes['url.path'] === ownPath) as ReceivedSpan
    expect(fresh.parentSpanId).toBe('')
    const line = t.logs
      .lines()
      .find(
        (l) => l.event === 'request.completed' && l.request_id === own.headers.get('x-request-id'),
      )
    expect(line?.trace_id).toBe(fresh.traceId)
    const paths = receiver.spans.map((s) => String(s.attributes['url.path'] ?? ''))
    expect(paths.filter((p) => /\/(metrics|healthz|readyz)$/.test(p))).toEqual([])
  })
})
