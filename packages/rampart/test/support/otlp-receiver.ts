import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A local OTLP/HTTP trace receiver for tests: accepts `POST /v1/traces` with protobuf or JSON
 * bodies (`http/protobuf`, `http/json`), keeps the raw bodies (to search for canaries) and their
 * content types, and decodes the spans. The decoder reads the
 * few OTLP fields tests assert on, straight from the protobuf wire format, so the test does
 * not trust the exporter's own serializer to check the exporter.
 */
export interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId: string
  name: string
  kind: number
  attributes: Record<string, unknown>
  events: Array<{ name: string; attributes: Record<string, unknown> }>
  status: { code: number; message: string }
  service: string | undefined
}

export interface OtlpReceiver {
  readonly url: string
  readonly spans: ReceivedSpan[]
  readonly bodies: Buffer[]
  /** The `Content-Type` of each export received. */
  readonly contentTypes: string[]
  /** Milliseconds to hold each export before answering (a slow collector). */
  delayMs: number
  /** Waits until `predicate` holds over the received spans, or fails after `timeoutMs`. */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const bodies: Buffer[] = []
  const contentTypes: string[] = []
  const state = { delayMs: 0 }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const answer = () => {
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end()
          return
        }
        bodies.push(body)
        const type = req.headers['content-type'] ?? ''
        contentTypes.push(type)
        if (type.startsWith('application/json')) {
          spans.push(...decodeJsonExportRequest(body))
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
          return
        }
        spans.push(...decodeExportRequest(body))
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
      }
      if (state.delayMs > 0) setTimeout(answer, state.delayMs)
      else answer()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    contentTypes,
    get delayMs() {
      return state.delayMs
    },
    set delayMs(v: number) {
      state.delayMs = v
    },
    async waitFor(predicate, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs
      while (!predicate(spans)) {
        if (Date.now() > until)
          throw new Error(
            `OTLP receiver: condition not met in ${timeoutMs} ms; got ${spans.map((s) => `${s.name}@${s.traceId.slice(0, 8)}`).join(', ')}`,
          )
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

// --- protobuf wire format -------------------------------------------------------------------

type Field = { no: number; wire: number; value: bigint | Buffer }

function* fields(buf: Buffer): Generator<Field> {
  let pos = 0
  const varint = (): bigint => {
    let result = 0n
    let shift = 0n
    for (;;) {
      const b = buf[pos++] as number
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return result
      shift += 7n
    }
  }
  while (pos < buf.length) {
    const key = Number(varint())
    const no = key >>> 3
    const wire = key & 7
    if (wire === 0) yield { no, wire, value: varint() }
    else if (wire === 1) {
      yield { no, wire, value: buf.subarray(pos, pos + 8) }
      pos += 8
    } else if (wire === 2) {
      const len = Number(varint())
      yield { no, wire, value: buf.subarray(pos, pos + len) }
      pos += len
    } else if (wire === 5) {
      yield { no, wire, value: buf.subarray(pos, pos + 4) }
      pos += 4
    } else throw new Error(`unsupported wire type ${wire}`)
  }
}

const bytes = (f: Field) => f.value as Buffer
const str = (f: Field) => bytes(f).toString('utf8')

function anyValue(buf: Buffer): unknown {
  for (const f of fields(buf)) {
    if (f.no === 1) return str(f)
    if (f.no === 2) return (f.value as bigint) !== 0n
    if (f.no === 3) return Number(BigInt.asIntN(64, f.value as bigint))
    if (f.no === 4) return bytes(f).readDoubleLE(0)
    if (f.no === 5)
      return [...fields(bytes(f))].filter((g) => g.no === 1).map((g) => anyValue(bytes(g)))
  }
  return undefined
}

function keyValue(buf: Buffer): [string, unknown] {
  let key = ''
  let value: unknown
  for (const f of fields(buf)) {
    if (f.no === 1) key = str(f)
    else if (f.no === 2) value = anyValue(bytes(f))
  }
  return [key, value]
}

function decodeSpan(buf: Buffer, service: string | undefined): ReceivedSpan {
  const span: ReceivedSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    kind: 0,
    attributes: {},
    events: [],
    status: { code: 0, message: '' },
    service,
  }
  for (const f of fields(buf)) {
    if (f.no === 1) span.traceId = bytes(f).toString('hex')
    else if (f.no === 2) span.spanId = bytes(f).toString('hex')
    else if (f.no === 4) span.parentSpanId = bytes(f).toString('hex')
    else if (f.no === 5) span.name = str(f)
    else if (f.no === 6) span.kind = Number(f.value)
    else if (f.no === 9) {
      const [k, v] = keyValue(bytes(f))
      span.attributes[k] = v
    } else if (f.no === 11) {
      const event = { name: '', attributes: {} as Record<string, unknown> }
      for (const g of fields(bytes(f))) {
        if (g.no === 2) event.name = str(g)
        else if (g.no === 3) {
          const [k, v] = keyValue(bytes(g))
          event.attributes[k] = v
        }
      }
      span.events.push(event)
    } else if (f.no === 15) {
      for (const g of fields(bytes(f))) {
        if (g.no === 2) span.status.message = str(g)
        else if (g.no === 3) span.status.code = Number(g.value)
      }
    }
  }
  return span
}

/** Decodes an `ExportTraceServiceRequest` into flat spans. */
export function decodeExportRequest(body: Buffer): ReceivedSpan[] {
  const out: ReceivedSpan[] = []
  for (const rs of fields(body)) {
    if (rs.no !== 1) continue
    let service: string | undefined
    const scopeSpans: Buffer[] = []
    for (const f of fields(bytes(rs))) {
      if (f.no === 1) {
        for (const a of fields(bytes(f))) {
          if (a.no !== 1) continue
          const [k, v] = keyValue(bytes(a))
          if (k === 'service.name') service = String(v)
        }
      } else if (f.no === 2) scopeSpans.push(bytes(f))
    }
    for (const ss of scopeSpans) {
      for (const f of fields(ss)) if (f.no === 2) out.push(decodeSpan(bytes(f), service))
    }
  }
  return out
}

// --- OTLP/JSON (ids hex-encoded, enums as numbers, as the OTLP/HTTP spec has it) ---------------

interface JsonAnyValue {
  stringValue?: string
  boolValue?: boolean
  intValue?: number | string
  doubleValue?: number
  arrayValue?: { values?: JsonAnyValue[] }
}
type JsonKeyValue = { key: string; value?: JsonAnyValue }

function jsonValue(v: JsonAnyValue | undefined): unknown {
  if (v === undefined) return undefined
  if (v.stringValue !== undefined) return v.stringValue
  if (v.boolValue !== undefined) return v.boolValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(jsonValue)
  return undefined
}

function jsonAttributes(list: JsonKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, jsonValue(kv.value)]))
}

/** Decodes an OTLP/JSON ExportTraceServiceRequest. */
export function decodeJsonExportRequest(body: Buffer): ReceivedSpan[] {
  const request = JSON.parse(body.toString('utf8')) as {
    resourceSpans?: Array<{
      resource?: { attributes?: JsonKeyValue[] }
      scopeSpans?: Array<{
        spans?: Array<{
          traceId: string
          spanId: string
          parentSpanId?: string
          name: string
          kind?: number
          attributes?: JsonKeyValue[]
          events?: Array<{ name: string; attributes?: JsonKeyValue[] }>
          status?: { code?: number; message?: string }
        }>
      }>
    }>
  }
  const out: ReceivedSpan[] = []
  for (const rs of request.resourceSpans ?? []) {
    const service = jsonAttributes(rs.resource?.attributes)['service.name']
    for (const ss of rs.scopeSpans ?? [])
      for (const span of ss.spans ?? [])
        out.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? '',
          name: span.name,
          kind: span.kind ?? 0,
          attributes: jsonAttributes(span.attributes),
          events: (span.events ?? []).map((e) => ({
            name: e.name,
            attributes: jsonAttributes(e.attributes),
          })),
          status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
          service: typeof service === 'string' ? service : undefined,
        })
  }
  return out
}

/**
 * A receiver the tracing of this test file exports to: tracing is configured once per process
 * from the environment, so a file that traces runs in its own worker, starts the receiver before
 * its apps and points `OTEL_EXPORTER_OTLP_ENDPOINT` at it, with a short batch delay. `close()`
 * stops it and removes the variables again.
 */
export async function startTracingReceiver(scheduleDelayMs = 50): Promise<OtlpReceiver> {
  const receiver = await startOtlpReceiver()
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url
  process.env.OTEL_BSP_SCHEDULE_DELAY = String(scheduleDelayMs)
  const close = receiver.close.bind(receiver)
  return Object.assign(receiver, {
    async close() {
      await close()
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT
      delete process.env.OTEL_BSP_SCHEDULE_DELAY
    },
  })
}

/** True when span `id` has `ancestor` on its parent chain. */
export function descendsFrom(
  spans: ReadonlyArray<{ spanId: string; parentSpanId: string }>,
  id: string | undefined,
  ancestor: string | undefined,
): boolean {
  let current = spans.find((s) => s.spanId === id)
  for (let hops = 0; current && hops < 10; hops++) {
    if (current.parentSpanId === ancestor) return true
    current = spans.find((s) => s.spanId === current?.parentSpanId)
  }
  return false
}
