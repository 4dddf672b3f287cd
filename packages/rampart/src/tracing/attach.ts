import { setFrameReader } from '../context/context.js'
import type { Rampart } from '../core/rampart.js'
import { startTracing } from './start.js'
import { acquireRuntime, clearRuntime, releaseRuntime } from './state.js'
import type { TracingRuntime } from './types.js'

/**
 * Connects one service core to the process's tracing pipeline when tracing is on: starts (or
 * joins) the runtime, sends its rare lines to the core's logger, counts exported and dropped
 * spans on the core's registry, lets the context module read tracing's frames, and releases
 * the runtime when the core closes. Framework-free: the Fastify adapter and a worker process
 * without a web server share it. Resolves undefined, loading no OpenTelemetry module, when
 * tracing is off; a second call for the same core returns the same runtime.
 */
export async function attachTracing(core: Rampart): Promise<TracingRuntime | undefined> {
  const { config } = core
  if (!config.tracing.enabled) return undefined
  if (core.tracing) return core.tracing
  const runtime = await startTracing({
    origin: 'plugin',
    serviceName: config.service,
    endpoint: config.tracing.endpoint,
    redactKeys: config.redactKeys,
    log: core.logger,
  })
  core.tracing = runtime
  acquireRuntime()
  runtime.setLog(core.logger)
  runtime.setRedactKeys(config.redactKeys)
  registerSpanMetrics(core, runtime)
  // OpenTelemetry's context manager shares Rampart's async storage.
  setFrameReader(runtime.frames)
  core.onClose('tracing', async () => {
    if (releaseRuntime() && runtime.origin === 'plugin') {
      setFrameReader(undefined)
      clearRuntime(runtime)
      await runtime.shutdown()
    } else {
      await runtime.forceFlush()
    }
  })
  return runtime
}

/** Every sampled span is counted once: exported, or dropped with the reason. */
function registerSpanMetrics(core: Rampart, runtime: TracingRuntime): void {
  const { counts } = runtime
  core.metrics.counter({
    name: 'rampart_tracing_spans_exported_total',
    help: 'Spans the OTLP exporter delivered',
    collect() {
      this.reset()
      this.inc(counts.exported)
    },
  })
  core.metrics.counter({
    name: 'rampart_tracing_spans_dropped_total',
    help: 'Spans not delivered, by reason (queue_full, export_failed, export_timeout, shutdown)',
    labelNames: ['reason'] as const,
    collect() {
      this.reset()
      for (const [reason, n] of Object.entries(counts.dropped)) this.inc({ reason }, n)
    },
  })
}
