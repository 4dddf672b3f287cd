import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { rampart } from '../../src/adapters/fastify/index.js'
import type { LogCapture } from './log-capture.js'
import { type OtlpReceiver, startOtlpReceiver } from './otlp-receiver.js'

/** A traced app, its OTLP receiver and a downstream server that records the headers it gets. */
export interface TracedApp {
  app: FastifyInstance
  receiver: OtlpReceiver
  /** Headers of each request the downstream server received, in order. */
  downstreamHeaders: IncomingHttpHeaders[]
  /** The app's base URL. */
  base: string
  close(): Promise<void>
}

/**
 * Starts a receiver, sets the process's tracing variables (`env` on top of the endpoint and a
 * short batch delay; they are read once per process, so each test file gets its own), and an
 * app whose `routes` may call `downstream` (a local server's `/stock` URL).
 */
export async function startTracedApp(options: {
  service: string
  env?: Record<string, string>
  logs?: LogCapture
  routes(app: FastifyInstance, downstream: string): void
}): Promise<TracedApp> {
  const receiver = await startOtlpReceiver()
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '50',
    ...options.env,
  }
  Object.assign(process.env, env)
  const downstreamHeaders: IncomingHttpHeaders[] = []
  const downstream = createServer((req, res) => {
    downstreamHeaders.push(req.headers)
    res.end('ok')
  })
  await new Promise<void>((r) => downstream.listen(0, '127.0.0.1', r))
  const app = Fastify()
  await app.register(rampart, {
    service: options.service,
    nodeEnv: 'test',
    ...(options.logs ? { logDestination: options.logs.stream } : { logLevel: 'silent' }),
    shutdown: { signals: false },
  })
  options.routes(app, `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/stock`)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    app,
    receiver,
    downstreamHeaders,
    base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    async close() {
      await app.close()
      await receiver.close()
      downstream.close()
      for (const name of Object.keys(env)) delete process.env[name]
    },
  }
}
