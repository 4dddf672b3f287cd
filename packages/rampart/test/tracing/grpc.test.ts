import * as grpc from '@grpc/grpc-js'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rampart } from '../../src/adapters/fastify/index.js'
import { tracingRuntime } from '../../src/tracing/state.js'
import { decodeExportRequest, type ReceivedSpan } from '../support/otlp-receiver.js'

// OTEL_EXPORTER_OTLP_PROTOCOL=grpc switches the exporter to OTLP/gRPC. The receiver is a bare
// gRPC server with the trace service's one method; bodies are decoded like the HTTP ones.
const identity = (b: Buffer) => b
const traceService: grpc.ServiceDefinition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
}

describe('tracing over OTLP/gRPC', () => {
  const spans: ReceivedSpan[] = []
  const server = new grpc.Server()
  let app: FastifyInstance

  beforeAll(async () => {
    server.addService(traceService, {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
        spans.push(...decodeExportRequest(call.request))
        done(null, Buffer.alloc(0))
      },
    })
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    )
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${port}`
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'grpc'
    app = Fastify()
    await app.register(rampart, {
      nodeEnv: 'test',
      logLevel: 'silent',
      shutdown: { signals: false },
    })
    app.get('/orders/:id', async () => ({ ok: true }))
  })

  afterAll(async () => {
    await app?.close()
    server.forceShutdown()
  })

  it('exports the server span to a gRPC collector', async () => {
    const res = await app.inject('/orders/9')
    expect(res.statusCode).toBe(200)
    await tracingRuntime()?.forceFlush()
    expect(spans.map((s) => s.name)).toEqual(['GET /orders/:id'])
    expect(spans[0]?.attributes['http.response.status_code']).toBe(200)
  })
})
