import {
  type Attributes,
  type AttributeValue,
  type HrTime,
  type Link,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
} from '@opentelemetry/api'
import { ExportResultCode, type InstrumentationScope, TraceState } from '@opentelemetry/core'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources'
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base'
import { describe, expect, it } from 'vitest'
import { encodingSerializer, OtlpTraceEncoder } from '../../src/tracing/otlp-encoder.js'
import { createProtobufExporter } from '../../src/tracing/otlp-proto-exporter.js'
import { RequestSpan, type RequestSpanPipeline } from '../../src/tracing/request-span.js'
import { decodeExportRequest, startOtlpReceiver } from '../support/otlp-receiver.js'

/** The SDK's bytes: what the encoder must reproduce exactly. */
const sdkBytes = (spans: ReadableSpan[]) =>
  Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array)

/** mulberry32: a small seeded PRNG, so a failure names a seed that reproduces it. */
function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T
  return { next, int, pick, chance: (p: number) => next() < p }
}
type Rng = ReturnType<typeof prng>

const PIECES = [
  'a',
  'Z',
  '/',
  ' ',
  '9',
  '-',
  'é',
  'ß',
  '€',
  '中',
  '文',
  '😀',
  '🚀',
  '\u0000',
  '\u007f',
  '\u0080',
  '\u07ff',
  '\u0800',
  '\uffff',
  '\ud800', // a lone surrogate: both write U+FFFD
  '\udfff',
]

function text(r: Rng): string {
  const kind = r.int(10)
  if (kind === 0) return ''
  const length = kind === 1 ? 100 + r.int(3000) : kind === 2 ? 40 + r.int(100) : r.int(40)
  const ascii = r.chance(0.6)
  let s = ''
  for (let i = 0; i < length; i++)
    s += ascii ? String.fromCharCode(32 + r.int(95)) : r.chance(0.5) ? r.pick(PIECES) : 'x'
  return s
}

function hex(r: Rng, bytes: number): string {
  let s = ''
  for (let i = 0; i < bytes * 2; i++) s += '0123456789abcdef'[r.int(16)]
  return r.chance(0.05) ? s.toUpperCase() : s
}

function number(r: Rng): number {
  switch (r.int(9)) {
    case 0:
      return r.int(128)
    case 1:
      return r.int(2 ** 31)
    case 2:
      return -r.int(2 ** 31) - 1
    case 3:
      return 2 ** 32 + r.int(2 ** 20) // beyond uint32: the 64-bit varint path
    case 4:
      return -(2 ** 40) - r.int(1000)
    case 5:
      return r.next() * 1e6 - 5e5 // a double
    case 6:
      return r.pick([Number.NaN, Infinity, -Infinity, -0, 2 ** 63, -(2 ** 63), 2 ** 53 + 2])
    case 7:
      return Number.MAX_SAFE_INTEGER
    default:
      return r.int(600)
  }
}

function value(r: Rng): AttributeValue {
  switch (r.int(6)) {
    case 0:
    case 1:
      return text(r)
    case 2:
      return number(r)
    case 3:
      return r.chance(0.5)
    case 4: {
      const n = r.int(5)
      const kind = r.int(3)
      return Array.from({ length: n }, () =>
        r.chance(0.1) ? null : kind === 0 ? text(r) : kind === 1 ? number(r) : r.chance(0.5),
      ) as AttributeValue
    }
    default:
      return r.pick(['GET', '/items/1', 'http', '1.1', 200, 404]) as AttributeValue
  }
}

function attributes(r: Rng, max: number): Attributes {
  const out: Attributes = {}
  const n = r.int(max)
  for (let i = 0; i < n; i++) {
    const key = r.chance(0.7)
      ? r.pick(['http.request.method', 'url.path', 'http.route', 'user_agent.original', 'k'])
      : text(r)
    out[key] = value(r)
  }
  return out
}

function time(r: Rng): HrTime {
  return [1_700_000_000 + r.int(100_000_000), r.int(1_000_000_000)]
}

function spanContext(r: Rng): SpanContext {
  return {
    traceId: hex(r, 16),
    spanId: hex(r, 8),
    traceFlags: r.int(2),
    traceState: r.chance(0.2) ? new TraceState(`vendor=${hex(r, 2)},other=x`) : undefined,
    isRemote: r.chance(0.3) ? r.chance(0.5) : undefined,
  }
}

function span(r: Rng, resource: Resource, scope: InstrumentationScope): ReadableSpan {
  const ids = spanContext(r)
  const events: TimedEvent[] = Array.from({ length: r.chance(0.7) ? 0 : 1 + r.int(3) }, () => ({
    name: r.chance(0.5) ? 'exception' : text(r),
    time: time(r),
    attributes: r.chance(0.2) ? undefined : attributes(r, 4),
    droppedAttributesCount: r.chance(0.8) ? undefined : r.int(300),
  }))
  const links: Link[] = Array.from({ length: r.chance(0.8) ? 0 : 1 + r.int(2) }, () => ({
    context: spanContext(r),
    attributes: r.chance(0.3) ? undefined : attributes(r, 3),
    droppedAttributesCount: r.chance(0.7) ? undefined : r.int(5),
  }))
  const code = r.pick([SpanStatusCode.UNSET, SpanStatusCode.OK, SpanStatusCode.ERROR])
  const start = time(r)
  return {
    name: r.chance(0.5) ? r.pick(['GET /items/:id', 'HTTP', 'POST']) : text(r),
    kind: r.pick([
      SpanKind.INTERNAL,
      SpanKind.SERVER,
      SpanKind.CLIENT,
      SpanKind.PRODUCER,
      SpanKind.CONSUMER,
    ]),
    spanContext: () => ids,
    parentSpanContext: r.chance(0.5) ? spanContext(r) : undefined,
    startTime: start,
    endTime: [start[0] + r.int(3), r.int(1_000_000_000)],
    status: r.chance(0.3) ? { code, message: text(r) } : { code },
    attributes: attributes(r, r.chance(0.1) ? 200 : 12),
    links,
    events,
    duration: [0, 0],
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: r.chance(0.8) ? 0 : r.int(70_000),
    droppedEventsCount: r.chance(0.9) ? 0 : r.int(10),
    droppedLinksCount: r.chance(0.9) ? 0 : r.int(10),
  }
}

describe('the OTLP span encoder', () => {
  it('writes the SDK serialiser’s bytes for randomised batches of spans', () => {
    const encoder = new OtlpTraceEncoder()
    let spans = 0
    for (let seed = 1; seed <= 40; seed++) {
      const r = prng(seed)
      const resources = [
        resourceFromAttributes({ 'service.name': 'orders', 'host.name': text(r) }),
        resourceFromAttributes(
          { 'service.name': text(r), 'service.version': '1.2.3', count: 3, on: true },
          { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' },
        ),
        resourceFromAttributes({}),
      ]
      const scopes: InstrumentationScope[] = [
        { name: 'rampart' },
        { name: '@opentelemetry/instrumentation-http', version: '0.223.0' },
        { name: text(r), version: text(r), schemaUrl: 'https://example.test/schema' },
      ]
      const batch = Array.from({ length: 1 + r.int(25) }, () =>
        span(r, r.pick(resources), r.pick(scopes)),
      )
      spans += batch.length
      const ours = encoder.encode(batch)
      expect(ours, `seed ${seed}: left to the SDK`).toBeDefined()
      const theirs = sdkBytes(batch)
      expect(
        Buffer.compare(Buffer.from(ours as Uint8Array), theirs),
        `seed ${seed}: bytes differ`,
      ).toBe(0)
    }
    expect(spans).toBeGreaterThan(400)
  })

  it('writes the SDK’s bytes for large batches (lengths of three bytes and more)', () => {
    const r = prng(99)
    const resource = resourceFromAttributes({ 'service.name': 'big' })
    const scope = { name: 'rampart' }
    const batch = Array.from({ length: 600 }, () => span(r, resource, scope))
    const ours = Buffer.from(new OtlpTraceEncoder().encode(batch) as Uint8Array)
    expect(ours.length).toBeGreaterThan(0x4000)
    expect(Buffer.compare(ours, sdkBytes(batch))).toBe(0)
  })

  it('writes the SDK’s bytes for Rampart’s own server spans', () => {
    const pipeline: RequestSpanPipeline = {
      resource: resourceFromAttributes({ 'service.name': 'airlock' }),
      scope: { name: 'rampart' },
      limits: {
        attributeCountLimit: 128,
        attributeValueLengthLimit: Infinity,
        eventCountLimit: 128,
        linkCountLimit: 128,
      },
      onEnd: () => {},
    }
    const make = (i: number, parent?: SpanContext) =>
      new RequestSpan(
        pipeline,
        'GET /items/:id',
        {
          traceId: `${i}`.padStart(32, 'a'),
          spanId: `${i}`.padStart(16, 'b'),
          traceFlags: 1,
        },
        parent,
        ROOT_CONTEXT,
        {
          'http.request.method': 'GET',
          'url.path': `/items/${i}`,
          'url.scheme': 'http',
          'network.protocol.version': '1.1',
          'http.route': '/items/:id',
          'user_agent.original':
            'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
        },
        true,
      )
    const ok = make(1)
    ok.finish(200, 'user-7')
    const failed = make(2, {
      traceId: 'c'.repeat(32),
      spanId: 'd'.repeat(16),
      traceFlags: 1,
      isRemote: true,
    })
    failed.recordError(new Error('boom'))
    failed.finish(500)
    const aborted = make(3)
    aborted.abort()
    const batch = [ok, failed, aborted]
    const ours = Buffer.from(new OtlpTraceEncoder().encode(batch) as Uint8Array)
    expect(Buffer.compare(ours, sdkBytes(batch))).toBe(0)
    // And the test receiver (its own wire decoder) reads them as the SDK's.
    const decoded = decodeExportRequest(ours)
    expect(decoded.map((s) => s.name)).toEqual([
      'GET /items/:id',
      'GET /items/:id',
      'GET /items/:id',
    ])
    expect(decoded[1]?.parentSpanId).toBe('d'.repeat(16))
    expect(decoded[1]?.status.code).toBe(SpanStatusCode.ERROR)
    expect(decoded[1]?.events.map((e) => e.name)).toEqual(['exception'])
    expect(decoded[2]?.status.message).toBe('client aborted the request')
    expect(decoded[0]?.attributes['http.response.status_code']).toBe(200)
    expect(decoded[0]?.service).toBe('airlock')
  })

  it('leaves spans it does not encode to the SDK, whose bytes are then sent', () => {
    const resource = resourceFromAttributes({ 'service.name': 'odd' })
    const r = prng(7)
    const odd: Array<[string, unknown]> = [
      ['bytes', new Uint8Array([1, 2, 3])],
      ['a key-value list', { nested: 'x', n: 1 }],
      ['a nested array', [['a'], ['b']]],
      ['a bigint', 10n],
    ]
    const serializer = encodingSerializer(ProtobufTraceSerializer)
    const encoder = new OtlpTraceEncoder()
    for (const [what, v] of odd) {
      const s = span(r, resource, { name: 'rampart' })
      ;(s.attributes as Record<string, unknown>).odd = v
      expect(encoder.encode([s]), what).toBeUndefined()
      const sent = Buffer.from(serializer.serializeRequest([s]) as Uint8Array)
      expect(Buffer.compare(sent, sdkBytes([s])), what).toBe(0)
    }
    const badId = span(r, resource, { name: 'rampart' })
    const ids = { ...badId.spanContext(), traceId: 'not hex at all, not at all!!!!!!' }
    const withBadId = { ...badId, spanContext: () => ids }
    expect(encoder.encode([withBadId])).toBeUndefined()
    expect(
      Buffer.compare(
        Buffer.from(serializer.serializeRequest([withBadId]) as Uint8Array),
        sdkBytes([withBadId]),
      ),
    ).toBe(0)
  })

  it('is what the http/protobuf exporter sends: the receiver gets the SDK’s bytes and decodes them', async () => {
    const receiver = await startOtlpReceiver()
    try {
      const exporter = await createProtobufExporter({ url: `${receiver.url}/v1/traces` })
      const r = prng(2024)
      const resource = resourceFromAttributes({ 'service.name': 'wired' })
      const batch = Array.from({ length: 20 }, () => span(r, resource, { name: 'rampart' }))
      expect(new OtlpTraceEncoder().encode(batch)).toBeDefined()
      const code = await new Promise((resolve) =>
        exporter.export(batch, (res) => resolve(res.code)),
      )
      expect(code).toBe(ExportResultCode.SUCCESS)
      await exporter.shutdown()
      expect(receiver.contentTypes).toEqual(['application/x-protobuf'])
      expect(Buffer.compare(receiver.bodies[0] as Buffer, sdkBytes(batch))).toBe(0)
      expect(receiver.spans.map((s) => s.spanId)).toEqual(
        batch.map((s) => s.spanContext().spanId.toLowerCase()),
      )
      expect(receiver.spans.every((s) => s.service === 'wired')).toBe(true)
    } finally {
      await receiver.close()
    }
  })

  it('still writes the bytes pinned from the SDK for one fixed span (a change means the SDK’s encoding changed)', () => {
    const ids: SpanContext = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    }
    const fixed: ReadableSpan = {
      name: 'GET /items/:id',
      kind: SpanKind.SERVER,
      spanContext: () => ids,
      parentSpanContext: {
        traceId: ids.traceId,
        spanId: '00f067aa0ba902b7',
        traceFlags: 1,
        isRemote: true,
      },
      startTime: [1_765_000_000, 123_456_789],
      endTime: [1_765_000_001, 5],
      status: { code: SpanStatusCode.ERROR, message: 'boom' },
      attributes: {
        'http.request.method': 'GET',
        'url.path': '/items/1',
        'http.response.status_code': 500,
        'server.duration_ratio': 0.25,
        'rampart.flag': true,
        'rampart.tags': ['a', 'é'],
      },
      links: [],
      events: [
        {
          name: 'exception',
          time: [1_765_000_000, 500],
          attributes: { 'exception.type': 'Error' },
        },
      ],
      duration: [1, 0],
      ended: true,
      resource: resourceFromAttributes({ 'service.name': 'airlock' }),
      instrumentationScope: { name: 'rampart', version: '1.0.0' },
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    }
    // serializeRequest([fixed]) of @opentelemetry/otlp-transformer 0.223.0, as hex.
    const PINNED = [
      '0af9020a1d0a190a0c736572766963652e6e616d6512090a076169726c6f636b100012d7020a100a0772616d',
      '706172741205312e302e3012c2020a100af7651916cd43dd8448eb211c80319c1208b7ad6b71692033312208',
      '00f067aa0ba902b72a0e474554202f6974656d732f3a6964300239154dec13268a7e1841054a2b48268a7e18',
      '4a1c0a13687474702e726571756573742e6d6574686f6412050a034745544a160a0875726c2e70617468120a',
      '0a082f6974656d732f314a200a19687474702e726573706f6e73652e7374617475735f636f6465120318f403',
      '4a220a157365727665722e6475726174696f6e5f726174696f120921000000000000d03f4a120a0c72616d70',
      '6172742e666c6167120210014a1d0a0c72616d706172742e74616773120d2a0b0a030a01610a040a02c3a950',
      '005a3109f481900c268a7e181209657863657074696f6e1a190a0e657863657074696f6e2e7479706512070a',
      '054572726f722000600070007a081204626f6f6d1802850101030000',
    ].join('')
    const sdk = sdkBytes([fixed]).toString('hex')
    expect(
      sdk,
      'the SDK’s OTLP protobuf encoding changed (new @opentelemetry/otlp-transformer?): ' +
        'check the change against src/tracing/otlp-encoder.ts and re-pin (ADR 0020)',
    ).toBe(PINNED)
    const ours = Buffer.from(new OtlpTraceEncoder().encode([fixed]) as Uint8Array).toString('hex')
    expect(ours).toBe(PINNED)
  })
})
