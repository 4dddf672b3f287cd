/**
 * The OpenTelemetry pipeline. This module, and every OpenTelemetry package it imports, is
 * loaded only when tracing is on (`start.ts` imports it dynamically).
 */
import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Sampler,
  SamplingDecision,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  TraceFlags,
  trace,
} from '@opentelemetry/api'
import {
  CompositePropagator,
  getNumberFromEnv,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core'
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  RandomIdGenerator,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { STANDARD_METHODS } from '../config/defaults.js'
import type { RequestContext } from '../context/context.js'
import { importPeer } from '../core/optional-peer.js'
import { createRedactor, type Redactor } from '../logging/redact.js'
import { batchSettingsFromEnv, CountingBatchProcessor } from './batch-processor.js'
import { otelFrames, REQUEST_CONTEXT, RequestContextManager } from './context-manager.js'
import { otlpEndpointOf } from './endpoint.js'
import { loadInstrumentations } from './instrumentations.js'
import { loadedPackages, PATCHED_PACKAGES, patchLoaded } from './late-modules.js'
import { DEFAULT_PROPAGATORS, type PropagatorName, propagatorsFromEnv } from './propagators.js'
import { RedactingProcessor, redactSpan } from './redacting-processor.js'
import { RequestSpan, type RequestSpanPipeline, type SpanLimits } from './request-span.js'
import { type SamplerChoice, samplerFromEnv } from './sampler.js'
import type {
  ConsumerSpan,
  RampartSpan,
  ServerSpanStart,
  SpanAttributes,
  SpanCounts,
  TracingLog,
  TracingRuntime,
} from './types.js'

export interface RuntimeSettings {
  origin: 'preload' | 'plugin'
  serviceName: string
  /** OTLP endpoint to use when no `OTEL_EXPORTER_OTLP_*ENDPOINT` variable is set. */
  endpoint?: string | undefined
  redactKeys?: readonly string[]
  log?: TracingLog
  /** At most one export-failure line per this many ms. Default 60 s. */
  failureLogIntervalMs?: number
  env?: NodeJS.ProcessEnv
}

/** Writes a line when there is no app logger yet (the preload runs before the app). */
const stderrLog: TracingLog = {
  warn(fields, message) {
    process.stderr.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: 'warn', ...fields, msg: message })}\n`,
    )
  },
}

type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc'

/** The three protocols the OpenTelemetry spec lists; anything else is the default, protobuf. */
function protocolOf(env: NodeJS.ProcessEnv): OtlpProtocol {
  const p = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL
  return p === 'grpc' || p === 'http/json' ? p : 'http/protobuf'
}

async function createExporter(
  settings: RuntimeSettings,
  env: NodeJS.ProcessEnv,
): Promise<SpanExporter> {
  const fromEnv = otlpEndpointOf(env)
  const protocol = protocolOf(env)
  // The exporters read every OTEL_EXPORTER_OTLP_* variable themselves; an endpoint given as
  // an option is the traces URL (the signal path is appended only to the env variable's).
  const url =
    fromEnv === undefined && settings.endpoint !== undefined
      ? protocol === 'grpc'
        ? settings.endpoint
        : `${settings.endpoint.replace(/\/$/, '')}/v1/traces`
      : undefined
  const options = url ? { url } : {}
  if (protocol === 'grpc') {
    const { OTLPTraceExporter } = await importPeer<
      typeof import('@opentelemetry/exporter-trace-otlp-grpc')
    >('@opentelemetry/exporter-trace-otlp-grpc', 'tracing over OTLP/gRPC')
    return new OTLPTraceExporter(options)
  }
  if (protocol === 'http/json') {
    // The SDK's JSON exporter (OTLP/HTTP with JSON bodies, as collectors and debugging tools take).
    const { OTLPTraceExporter } = await importPeer<
      typeof import('@opentelemetry/exporter-trace-otlp-http')
    >('@opentelemetry/exporter-trace-otlp-http', 'tracing over OTLP/HTTP with JSON')
    return new OTLPTraceExporter(options)
  }
  // The SDK's OTLP/HTTP protobuf exporter, with Rampart's encoder writing the bodies.
  const { createProtobufExporter } = await import('./otlp-proto-exporter.js')
  return createProtobufExporter(options)
}

/**
 * The propagators `OTEL_PROPAGATORS` names (default W3C trace context + baggage); `null` for
 * `none`. The B3 propagator is imported only when asked for. An unknown name (the plugin's
 * config check refuses it first; `--import rampart/otel` has no such check) is logged and the
 * default used.
 */
const loadB3 = () =>
  importPeer<typeof import('@opentelemetry/propagator-b3')>(
    '@opentelemetry/propagator-b3',
    'OTEL_PROPAGATORS=b3',
  )

async function createPropagator(
  env: NodeJS.ProcessEnv,
  log: TracingLog,
): Promise<TextMapPropagator | null> {
  let names: readonly PropagatorName[]
  try {
    names = propagatorsFromEnv(env.OTEL_PROPAGATORS)
  } catch (err) {
    log.warn(
      { event: 'tracing.propagators_invalid', OTEL_PROPAGATORS: env.OTEL_PROPAGATORS },
      `${(err as Error).message} in OTEL_PROPAGATORS; using ${DEFAULT_PROPAGATORS.join(',')}`,
    )
    names = DEFAULT_PROPAGATORS
  }
  if (names.length === 0) return null
  const make: Record<PropagatorName, () => Promise<TextMapPropagator>> = {
    tracecontext: async () => new W3CTraceContextPropagator(),
    baggage: async () => new W3CBaggagePropagator(),
    b3: async () => new (await loadB3()).B3Propagator(),
    b3multi: async () => {
      const b3 = await loadB3()
      return new b3.B3Propagator({ injectEncoding: b3.B3InjectEncoding.MULTI_HEADER })
    },
  }
  const propagators = await Promise.all(names.map((name) => make[name]()))
  return propagators.length === 1
    ? (propagators[0] as TextMapPropagator)
    : new CompositePropagator({ propagators })
}

function toAttributes(attributes: SpanAttributes | undefined): Attributes | undefined {
  if (attributes === undefined) return undefined
  const out: Attributes = {}
  for (const key in attributes) {
    const v = attributes[key]
    if (v !== undefined) out[key] = v
  }
  return out
}

function errorOf(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/** A server span starts with no links (samplers only read them). */
const NO_LINKS: never[] = Object.freeze([]) as never[]

/** The sampler `OTEL_TRACES_SAMPLER` asks for; a bad value is logged once and the default used. */
function createSampler(env: NodeJS.ProcessEnv, log: TracingLog): Sampler {
  let choice: SamplerChoice
  try {
    choice = samplerFromEnv(env)
  } catch (err) {
    log.warn(
      { event: 'tracing.sampler_invalid', OTEL_TRACES_SAMPLER: env.OTEL_TRACES_SAMPLER },
      `${(err as Error).message} in OTEL_TRACES_SAMPLER(_ARG); using parentbased_always_on`,
    )
    choice = { root: 'always_on', parentBased: true, ratio: 1 }
  }
  const root =
    choice.root === 'always_on'
      ? new AlwaysOnSampler()
      : choice.root === 'always_off'
        ? new AlwaysOffSampler()
        : new TraceIdRatioBasedSampler(choice.ratio)
  return choice.parentBased ? new ParentBasedSampler({ root }) : root
}

/** The SDK's span limits from the standard `OTEL_SPAN_*` variables (its defaults otherwise). */
function spanLimitsFromEnv(): SpanLimits {
  const limit = (name: string, fallback: number) => getNumberFromEnv(name) ?? fallback
  return {
    attributeCountLimit: limit('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', 128),
    attributeValueLengthLimit: limit('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', Infinity),
    eventCountLimit: limit('OTEL_SPAN_EVENT_COUNT_LIMIT', 128),
    linkCountLimit: limit('OTEL_SPAN_LINK_COUNT_LIMIT', 128),
  }
}

/** Starts the process's tracing pipeline; see `TracingRuntime`. */
export async function startRuntime(settings: RuntimeSettings): Promise<TracingRuntime> {
  const env = settings.env ?? process.env
  const counts: SpanCounts = {
    exported: 0,
    dropped: { queue_full: 0, export_failed: 0, export_timeout: 0, shutdown: 0 },
  }
  let log = settings.log ?? stderrLog
  let redactor: Redactor = createRedactor(settings.redactKeys ?? [])

  // Export failures: one line per interval with how many batches failed since the last line,
  // never one per request (a collector that is down must not flood the logs).
  const interval = settings.failureLogIntervalMs ?? 60_000
  let lastFailureLog = 0
  let failuresSinceLog = 0
  const onExportFailure = (error: unknown) => {
    failuresSinceLog++
    const now = Date.now()
    if (now - lastFailureLog < interval) return
    lastFailureLog = now
    log.warn(
      {
        event: 'tracing.export_failed',
        failed_exports: failuresSinceLog,
        spans_dropped: counts.dropped.export_failed + counts.dropped.export_timeout,
        error: redactor.redactString(errorOf(error).message),
      },
      'span export failed; spans are dropped and counted in rampart_tracing_spans_dropped_total',
    )
    failuresSinceLog = 0
  }

  const exporter = await createExporter(settings, env)
  const batch = new CountingBatchProcessor(
    exporter,
    batchSettingsFromEnv(env),
    counts,
    onExportFailure,
  )
  const resource = resourceFromAttributes({ 'service.name': settings.serviceName }).merge(
    detectResources({ detectors: [envDetector] }),
  )
  // One sampler, id generator and set of limits for the SDK's spans and the request spans.
  const sampler = createSampler(env, log)
  const idGenerator = new RandomIdGenerator()
  const limits = spanLimitsFromEnv()
  const provider = new NodeTracerProvider({
    resource,
    sampler,
    idGenerator,
    spanLimits: limits,
    spanProcessors: [new RedactingProcessor(batch, () => redactor)],
  })
  // OpenTelemetry's context rides in Rampart's async storage (see RequestContextManager); the
  // propagators are those of OTEL_PROPAGATORS.
  const propagator = await createPropagator(env, log)
  provider.register({ propagator, contextManager: new RequestContextManager() })
  // Header names the propagators read: a request carrying none of them skips extraction.
  const contextHeaders = propagator?.fields().map((f) => f.toLowerCase()) ?? []
  const requestSpans: RequestSpanPipeline = {
    resource,
    scope: { name: 'rampart' },
    limits,
    // The same redaction and the same counting batch processor as the SDK's spans; a span
    // nobody annotated only has the client's fields to scrub.
    onEnd: (span) => {
      if (!(span instanceof RequestSpan) || span.annotated) batch.onEnd(redactSpan(span, redactor))
      else {
        span.scrubClientFields(redactor)
        batch.onEnd(span)
      }
    },
  }
  const tracer = provider.getTracer('rampart')

  const late = loadedPackages(PATCHED_PACKAGES)
  const { register, instrumentations } = await loadInstrumentations()
  const unregister = register({ tracerProvider: provider, instrumentations })
  const unpatched = patchLoaded(late)
  const lateModules = [...late.keys()]
  if (late.size > 0) {
    log.warn(
      {
        event: 'tracing.instrumentation_late',
        modules: lateModules,
        unpatched,
      },
      `loaded before tracing started: ${lateModules.join(', ')}; start the process with \`node --import rampart/otel\` so instrumentation comes first`,
    )
  }

  const wrap = (span: Span): RampartSpan => ({
    setAttribute: (key, value) => {
      span.setAttribute(key, value)
    },
    addEvent: (name, attributes) => {
      span.addEvent(name, toAttributes(attributes))
    },
    recordError: (error) => {
      const err = errorOf(error)
      span.recordException(err)
      span.setStatus({ code: SpanStatusCode.ERROR, message: err.message })
    },
  })

  // `METHOD /route/template`, built once per method and route (both come from small sets).
  const names = new Map<string, Map<string, string>>()
  const spanName = (method: string, route: string | undefined): string => {
    const verb = method === '_OTHER' ? 'HTTP' : method
    if (route === undefined) return verb
    let byMethod = names.get(route)
    let name = byMethod?.get(verb)
    if (name !== undefined) return name
    name = `${verb} ${route}`
    if (names.size < 10_000) {
      if (byMethod === undefined) {
        byMethod = new Map()
        names.set(route, byMethod)
      }
      byMethod.set(verb, name)
    }
    return name
  }

  let shutDown = false
  return {
    origin: settings.origin,
    counts,
    lateModules,

    frames: otelFrames,

    startServerSpan(start: ServerSpanStart, ctx: RequestContext): RequestSpan {
      const { headers } = start
      // Most requests carry no trace context; skip the propagators' header parsing for them.
      let parent: Context = ROOT_CONTEXT
      for (const field of contextHeaders) {
        if (headers[field] !== undefined) {
          parent = propagation.extract(ROOT_CONTEXT, headers)
          break
        }
      }
      const method = STANDARD_METHODS.has(start.method) ? start.method : '_OTHER'
      const q = start.url.indexOf('?')
      const attributes: Attributes = {
        'http.request.method': method,
        'url.path': q === -1 ? start.url : start.url.slice(0, q),
        'url.scheme': 'http',
        'network.protocol.version': start.httpVersion,
      }
      if (q !== -1) attributes['url.query'] = start.url.slice(q + 1)
      if (start.route !== undefined) attributes['http.route'] = start.route
      if (start.userAgent !== undefined) attributes['user_agent.original'] = start.userAgent
      const name = spanName(method, start.route)
      const remote = parent === ROOT_CONTEXT ? undefined : trace.getSpanContext(parent)
      const parentIds = remote !== undefined && isSpanContextValid(remote) ? remote : undefined
      const traceId = parentIds?.traceId ?? idGenerator.generateTraceId()
      const sampling = sampler.shouldSample(
        parent,
        traceId,
        name,
        SpanKind.SERVER,
        attributes,
        NO_LINKS,
      )
      const sampled = sampling.decision === SamplingDecision.RECORD_AND_SAMPLED
      if (sampling.attributes !== undefined) Object.assign(attributes, sampling.attributes)
      const span = new RequestSpan(
        requestSpans,
        name,
        {
          traceId,
          spanId: idGenerator.generateSpanId(),
          traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
          traceState: sampling.traceState ?? parentIds?.traceState,
        },
        parentIds,
        parent,
        attributes,
        sampling.decision !== SamplingDecision.NOT_RECORD,
      )
      ctx.traceId = span.traceId
      ctx.spanId = span.spanId
      ctx.carried = span
      return span
    },

    withSpan(name, attributes, fn) {
      return tracer.startActiveSpan(
        name,
        { attributes: toAttributes(attributes) ?? {} },
        (span) => {
          const handle = wrap(span)
          let result: ReturnType<typeof fn>
          try {
            result = fn(handle)
          } catch (err) {
            handle.recordError(err)
            span.end()
            throw err
          }
          if (!isThenable(result)) {
            span.end()
            return result
          }
          return Promise.resolve(result).then(
            (value) => {
              span.end()
              return value
            },
            (err: unknown) => {
              handle.recordError(err)
              span.end()
              throw err
            },
          ) as ReturnType<typeof fn>
        },
      )
    },

    inject(carrier) {
      propagation.inject(context.active(), carrier)
    },

    startConsumerSpan(name, attributes, carrier, ctx): ConsumerSpan {
      const parent = propagation.extract(ROOT_CONTEXT, carrier)
      const span = tracer.startSpan(
        name,
        { kind: SpanKind.CONSUMER, attributes: toAttributes(attributes) ?? {} },
        parent,
      )
      const ids = span.spanContext()
      ctx.traceId = ids.traceId
      ctx.spanId = ids.spanId
      // What `context.active()` answers inside the job: its span, and the job's request context.
      ctx.carried = trace.setSpan(parent, span).setValue(REQUEST_CONTEXT, ctx)
      const handle = wrap(span)
      return {
        traceId: ids.traceId,
        spanId: ids.spanId,
        recordError: handle.recordError,
        end: () => span.end(),
      }
    },

    setLog(next) {
      log = next
    },

    setRedactKeys(keys) {
      redactor = createRedactor(keys)
    },

    forceFlush: () => provider.forceFlush(),

    async shutdown() {
      if (shutDown) return
      shutDown = true
      unregister()
      await provider.shutdown()
      trace.disable()
      context.disable()
      propagation.disable()
    },
  }
}
