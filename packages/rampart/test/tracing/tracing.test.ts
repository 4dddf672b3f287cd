import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { trace } from '@opentelemetry/api'
import Fastify, { type FastifyInstance } from 'fastify'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { currentContext, rampart, withSpan } from '../../src/adapters/fastify/index.js'
import { hangUp, heldHandler } from '../support/hang-up.js'
import { type LogCapture, logCapture } from '../support/log-capture.js'
import {
  descendsFrom,
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
} from '../support/otlp-receiver.js'
import { service } from '../support/services.js'

const CANARY = 'Canary-Pa55-7f3a9'
const SERVER = 2
const CLIENT = 3
const databaseUrl = service('DATABASE_URL')

describe('tracing with an OTLP/HTTP collector', () => {
  let receiver: OtlpReceiver
  let app: FastifyInstance
  const hungUp = heldHandler()
  let logs: LogCapture
  let downstream: Server
  let downstreamUrl: string
  const downstreamHeaders: IncomingHttpHeaders[] = []
  let pool: pg.Pool | undefined

  beforeAll(async () => {
    receiver = await startOtlpReceiver()
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url
    process.env.OTEL_BSP_SCHEDULE_DELAY = '50'
    downstream = createServer((req, res) => {
      downstreamHeaders.push(req.headers)
      res.end('ok')
    })
    await new Promise<void>((r) => downstream.listen(0, '127.0.0.1', r))
    downstreamUrl = `http://127.0.0.1:${(downstream.address() as AddressInfo).port}`
    if (databaseUrl) pool = new pg.Pool({ connectionString: databaseUrl, max: 2 })

    logs = logCapture()
    app = Fastify()
    await app.register(rampart, {
      service: 'traced',
      nodeEnv: 'test',
      logDestination: logs.stream,
      shutdown: { signals: false },
    })
    app.get('/items/:id', async (request) => {
      const { id } = request.params as { id: string }
      const row = await withSpan(
        'items.load',
        { 'item.id': id, 'db.password': CANARY },
        async (span) => {
          span.setAttribute('note', `retry with token=${CANARY}`)
          request.log.info({ event: 'items.loading' }, 'loading')
          if (pool) return (await pool.query('select $1::text as id', [id])).rows[0]
          return { id }
        },
      )
      await fetch(`${downstreamUrl}/stock/${id}`)
      return row
    })
    app.post('/hangup/:id', hungUp.handler)
    // The usual OpenTelemetry idiom: annotate the span that is active, here the server span.
    app.get('/annotated', async () => {
      const span = trace.getActiveSpan()
      span?.setAttribute('order.kind', 'rush')
      span?.setAttributes({ 'api.token': CANARY, 'order.lines': 3 })
      span?.addEvent('order.checked', { 'order.valid': true })
      return { recording: span?.isRecording() ?? false }
    })
    // A body makes Fastify resume the request in the socket's async context after parsing.
    app.post('/orders', async (request) => {
      await new Promise((r) => setTimeout(r, 5))
      const [inner] = await Promise.all([
        withSpan('orders.save', {}, async () => {
          await new Promise((r) => setImmediate(r))
          request.log.info({ event: 'orders.saved' }, 'saved')
          return currentContext()?.requestId
        }),
      ])
      return { requestId: currentContext()?.requestId, inner }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
  })

  afterAll(async () => {
    await app?.close()
    await pool?.end()
    await receiver?.close()
    downstream?.close()
  })

  const base = () => {
    const { port } = app.server.address() as AddressInfo
    return `http://127.0.0.1:${port}`
  }

  it('joins the caller trace, nests manual, fetch and pg spans, and stamps the log lines', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const parentId = '00f067aa0ba902b7'
    const res = await fetch(`${base()}/items/42?password=${CANARY}&page=1`, {
      headers: {
        traceparent: `00-${traceId}-${parentId}-01`,
        authorization: `Bearer ${CANARY}`,
      },
    })
    expect(res.status).toBe(200)
    await fetch(`${base()}/healthz`)
    await fetch(`${base()}/metrics`)
    const expected = databaseUrl ? 4 : 3
    await receiver.waitFor((s) => s.filter((x) => x.traceId === traceId).length >= expected)

    const inTrace = receiver.spans.filter((s) => s.traceId === traceId)
    const server = inTrace.find((s) => s.kind === SERVER) as ReceivedSpan
    expect(server.name).toBe('GET /items/:id')
    expect(server.parentSpanId).toBe(parentId)
    expect(server.service).toBe('traced')
    expect(server.attributes['http.route']).toBe('/items/:id')
    expect(server.attributes['http.response.status_code']).toBe(200)
    expect(inTrace.filter((s) => s.kind === SERVER)).toHaveLength(1)

    const manual = inTrace.find((s) => s.name === 'items.load') as ReceivedSpan
    expect(manual.parentSpanId).toBe(server.spanId)
    expect(manual.attributes['item.id']).toBe('42')

    const client = inTrace.find((s) => s.kind === CLIENT && s.attributes['url.full'] !== undefined)
    expect(client?.parentSpanId).toBe(server.spanId)
    const sent = downstreamHeaders.at(-1)?.traceparent as string
    expect(sent).toBe(`00-${traceId}-${client?.spanId}-01`)

    if (databaseUrl) {
      const query = inTrace.find(
        (s) =>
          s.attributes['db.system'] === 'postgresql' ||
          s.attributes['db.system.name'] === 'postgresql',
      )
      expect(query, 'a pg span').toBeDefined()
      expect(descendsFrom(inTrace, query?.spanId, manual.spanId)).toBe(true)
    }

    const lines = logs
      .lines()
      .filter(
        (l) =>
          l.event === 'items.loading' ||
          (l.event === 'request.completed' && l.route === '/items/:id'),
      )
    expect(lines).toHaveLength(2)
    for (const line of lines) expect(line.trace_id).toBe(traceId)
    expect(lines.find((l) => l.event === 'items.loading')?.span_id).toBe(manual.spanId)
    expect(lines.find((l) => l.event === 'request.completed')?.span_id).toBe(server.spanId)

    // The duration histogram links a bucket to this trace for OpenMetrics scrapers.
    const om = await (
      await fetch(`${base()}/metrics`, { headers: { accept: 'application/openmetrics-text' } })
    ).text()
    expect(om).toMatch(
      new RegExp(
        `^http_request_duration_seconds_bucket\\{[^}]*route="/items/:id"[^}]*\\} \\d+ # \\{trace_id="${traceId}"\\}`,
        'm',
      ),
    )
  })

  it('keeps the request context and the server span current after a body, timers and Promise.all', async () => {
    // The body comes after the headers, in a later packet: Fastify reads it in the socket's
    // async context, not the request's.
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(`${base()}/orders`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': '11',
          'x-request-id': 'order-req-1',
        },
      })
      req.on('response', (res) => {
        let text = ''
        res.on('data', (c) => (text += c))
        res.on('end', () => resolve(text))
      })
      req.on('error', reject)
      req.flushHeaders()
      setTimeout(() => req.end('{"sku":"a"}'), 30)
    })
    expect(JSON.parse(body)).toEqual({ requestId: 'order-req-1', inner: 'order-req-1' })
    await receiver.waitFor((spans) => spans.some((x) => x.name === 'orders.save'))
    const server = receiver.spans.find((x) => x.name === 'POST /orders') as ReceivedSpan
    const save = receiver.spans.find((x) => x.name === 'orders.save') as ReceivedSpan
    expect(save.traceId).toBe(server.traceId)
    expect(save.parentSpanId).toBe(server.spanId)
    const saved = logs.lines().find((l) => l.event === 'orders.saved')
    expect(saved).toMatchObject({
      request_id: 'order-req-1',
      trace_id: server.traceId,
      span_id: save.spanId,
    })
  })

  it('ends the span of a request whose client hung up after sending its whole body (aborted, exported)', async () => {
    const { port } = app.server.address() as AddressInfo
    await hangUp(
      port,
      'POST /hangup/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
      () => hungUp.entered === 1,
    )
    hungUp.release()
    await receiver.waitFor((spans) => spans.some((x) => x.name === 'POST /hangup/:id'))
    const span = receiver.spans.find((x) => x.name === 'POST /hangup/:id')
    expect(span?.attributes['error.type']).toBe('aborted')
    expect(span?.status.code).toBe(2) // ERROR
  })

  it('lets the service annotate the server span through the OpenTelemetry API (redacted)', async () => {
    const res = await fetch(`${base()}/annotated`)
    expect(await res.json()).toEqual({ recording: true })
    await receiver.waitFor((s) => s.some((x) => x.name === 'GET /annotated'))
    const span = receiver.spans.find((x) => x.name === 'GET /annotated') as ReceivedSpan
    expect(span.kind).toBe(SERVER)
    expect(span.attributes).toMatchObject({
      'order.kind': 'rush',
      'order.lines': 3,
      'api.token': '[REDACTED]',
      'http.response.status_code': 200,
    })
    expect(span.events).toEqual([{ name: 'order.checked', attributes: { 'order.valid': true } }])
  })

  it('exports no span for /metrics or /healthz', async () => {
    await fetch(`${base()}/healthz`)
    await fetch(`${base()}/metrics`)
    await fetch(`${base()}/items/7`)
    await receiver.waitFor((s) => s.some((x) => x.attributes['url.path'] === '/items/7'))
    const paths = receiver.spans.map((s) =>
      String(s.attributes['url.path'] ?? s.attributes['url.full'] ?? ''),
    )
    expect(paths.filter((p) => /\/(metrics|healthz|readyz)$/.test(p))).toEqual([])
    expect(receiver.spans.map((s) => s.name).filter((n) => /metrics|healthz/.test(n))).toEqual([])
  })

  it('keeps the canary password out of everything exported, and redacts the query string', async () => {
    await receiver.waitFor((s) => s.some((x) => x.name === 'items.load'))
    const everything = Buffer.concat(receiver.bodies)
    expect(everything.length).toBeGreaterThan(0)
    expect(everything.includes(CANARY)).toBe(false)
    const server = receiver.spans.find(
      (s) => s.kind === SERVER && String(s.attributes['url.query'] ?? '').includes('page=1'),
    )
    expect(server?.attributes['url.query']).toBe('password=[REDACTED]&page=1')
    const manual = receiver.spans.find((s) => s.name === 'items.load')
    expect(manual?.attributes['db.password']).toBe('[REDACTED]')
    expect(manual?.attributes.note).toBe('retry with token=[REDACTED]')
  })

  it('counts every exported span in rampart_tracing_spans_exported_total', async () => {
    const { tracingRuntime } = await import('../../src/tracing/state.js')
    await tracingRuntime()?.forceFlush()
    const text = await (await fetch(`${base()}/metrics`)).text()
    const exported = Number(/^rampart_tracing_spans_exported_total (\d+)/m.exec(text)?.[1])
    expect(exported).toBe(receiver.spans.length)
    expect(text).toMatch(/^rampart_tracing_spans_dropped_total\{reason="queue_full"\} 0$/m)
  })
})
