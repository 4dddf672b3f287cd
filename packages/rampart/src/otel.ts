/**
 * `node --import rampart/otel app.js`: starts tracing before the application's modules load,
 * so `pg`, `ioredis` and `http` are instrumented from their first import. Does nothing (and
 * loads no OpenTelemetry module) unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-only
 * variant) is set. The Fastify plugin then joins this pipeline instead of starting its own.
 */
import { isRampartError } from './errors/rampart-error.js'
import { otlpEndpointOf } from './tracing/endpoint.js'
import { startTracing, tracingWantedByEnv } from './tracing/start.js'

if (tracingWantedByEnv()) {
  const env = process.env
  const endpoint = otlpEndpointOf(env) ?? ''
  let valid = false
  try {
    valid = ['http:', 'https:'].includes(new URL(endpoint).protocol)
  } catch {}
  if (!valid) {
    process.stderr.write(
      `rampart/otel: OTEL_EXPORTER_OTLP_ENDPOINT: got "${endpoint.slice(0, 80)}"; expected an http:// or https:// URL\n`,
    )
    process.exit(1)
  }
  try {
    await startTracing({ origin: 'preload', serviceName: env.OTEL_SERVICE_NAME ?? 'app' })
  } catch (err) {
    // A missing optional package (an exporter, an instrumentation) is one line, not a stack.
    if (!isRampartError(err)) throw err
    process.stderr.write(`rampart/otel: ${err.message}\n`)
    process.exit(1)
  }
}
