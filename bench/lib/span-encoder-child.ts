// Encodes batches of Rampart server spans with one serialiser, counting only the encoding:
// callgrind's instrumentation is turned on around the measured loop (`--instr-atstart=no`).
// Usage (under valgrind, see bench/span-encoder.ts): span-encoder-child.ts sdk|rampart|getters
import { execFileSync } from 'node:child_process'
import { ROOT_CONTEXT } from '@opentelemetry/api'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { OtlpTraceEncoder } from '../../packages/rampart/src/tracing/otlp-encoder.js'
import {
  RequestSpan,
  type RequestSpanPipeline,
} from '../../packages/rampart/src/tracing/request-span.js'

export const BATCH = 512
export const ROUNDS = 20

const pipeline: RequestSpanPipeline = {
  resource: resourceFromAttributes({
    'service.name': 'rampart-tracing',
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.name': 'opentelemetry',
    'telemetry.sdk.version': '2.12.0',
  }),
  scope: { name: 'rampart' },
  limits: {
    attributeCountLimit: 128,
    attributeValueLengthLimit: Infinity,
    eventCountLimit: 128,
    linkCountLimit: 128,
  },
  onEnd() {},
}
const hex = (bytes: number) =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')
// The span the instructions suite's tracing server makes for `GET /items/1`.
const spans = Array.from({ length: BATCH }, () => {
  const span = new RequestSpan(
    pipeline,
    'GET /items/:id',
    { traceId: hex(16), spanId: hex(8), traceFlags: 1 },
    undefined,
    ROOT_CONTEXT,
    {
      'http.request.method': 'GET',
      'url.path': '/items/1',
      'url.scheme': 'http',
      'network.protocol.version': '1.1',
      'http.route': '/items/:id',
      'user_agent.original': 'autocannon',
    },
    true,
  )
  span.finish(200)
  return span
})
const encoder = new OtlpTraceEncoder()
const which = process.argv[2]
const run =
  which === 'sdk'
    ? () => ProtobufTraceSerializer.serializeRequest(spans)
    : which === 'rampart'
      ? () => encoder.encode(spans)
      : () => spans.map((s) => [s.startTime, s.endTime]) // what reading the times costs
for (let i = 0; i < 40; i++) run() // warm-up: optimised code before counting
const control = (arg: string) =>
  execFileSync('callgrind_control', [arg, String(process.pid)], { stdio: 'ignore' })
control('--zero')
control('--instr=on')
for (let i = 0; i < ROUNDS; i++) run()
control('--instr=off')
control('--dump')
