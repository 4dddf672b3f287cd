import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { setFrameReader } from '../../context/context.js'
import type { Rampart } from '../../core/rampart.js'
import { startTracing } from '../../tracing/start.js'
import { acquireRuntime, clearRuntime, releaseRuntime } from '../../tracing/state.js'
import type { ServerSpan, TracingRuntime } from '../../tracing/types.js'
import type { RequestObservers } from './request-context.js'

const SPAN = Symbol('rampart.tracing.span')
type Traced = FastifyRequest & { [SPAN]?: ServerSpan }

/**
 * One server span per request, named `METHOD /route/template`, parented on the caller's
 * `traceparent`; its ids go into the request context (log lines, exemplars). Rampart's own
 * paths are not traced. Installs nothing, and loads no OpenTelemetry module, when tracing is off.
 */
export async function installTracing(
  app: FastifyInstance,
  core: Rampart,
  observers: RequestObservers,
): Promise<void> {
  const { config } = core
  if (!config.tracing.enabled) return
  const runtime = await startTracing({
    origin: 'plugin',
    serviceName: config.service,
    endpoint: config.tracing.endpoint,
    redactKeys: config.redactKeys,
    log: core.logger,
  })
  acquireRuntime()
  runtime.setLog(core.logger)
  runtime.setRedactKeys(config.redactKeys)
  registerSpanMetrics(core, runtime)

  // The span starts and ends inside the request context's own hooks (observers); OpenTelemetry's
  // context manager shares Rampart's async storage: one storage entered per request.
  setFrameReader(runtime.frames)
  observers.add({
    onRequest(request: Traced, _reply, internal) {
      if (internal) return
      const { headers } = request
      const { route } = request.rampartContext
      request[SPAN] = runtime.startServerSpan(
        {
          method: request.method,
          route: route === 'unmatched' ? undefined : route,
          url: request.url,
          headers,
          userAgent: headers['user-agent'],
          httpVersion: request.raw.httpVersion,
        },
        request.rampartContext,
      )
    },
    onResponse(request: Traced, _reply: FastifyReply, _route, _seconds, _internal, status) {
      const span = request[SPAN]
      if (span === undefined) return
      const user = request.rampartContext.userId
      // The principal goes out only as its keyed fingerprint, never the raw id.
      span.finish(status, user === undefined ? undefined : core.fingerprint(user))
    },
    // The client went away before the response finished (with or without its whole body sent):
    // the span ends as aborted, so it is still exported or counted as dropped.
    onAbort(request: Traced) {
      request[SPAN]?.abort()
    },
  })

  app.addHook('onError', (request: Traced, _reply, error, done) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500
    if (status >= 500) request[SPAN]?.recordError(error)
    done()
  })

  core.onClose('tracing', async () => {
    if (releaseRuntime() && runtime.origin === 'plugin') {
      setFrameReader(undefined)
      clearRuntime(runtime)
      await runtime.shutdown()
    } else {
      await runtime.forceFlush()
    }
  })
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
