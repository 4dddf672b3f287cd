// The usual peer setup: the OpenTelemetry Node SDK with every auto-instrumentation, started
// before Fastify is loaded (as `--require`/`--import` would), exporting OTLP/HTTP protobuf.
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node'
import { NodeSDK } from '@opentelemetry/sdk-node'
import { jsonRoutes } from './routes.js'

const sdk = new NodeSDK({
  serviceName: 'otel-peer',
  instrumentations: [getNodeAutoInstrumentations()],
})
sdk.start()

export default async function build() {
  // Loaded after sdk.start() so the http instrumentation patches it first.
  const { default: Fastify } = await import('fastify')
  const app = Fastify({ logger: false })
  jsonRoutes(app)
  return app
}
