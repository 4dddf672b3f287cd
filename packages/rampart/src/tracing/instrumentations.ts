import type { Instrumentation } from '@opentelemetry/instrumentation'
import { importPeer, importPeerIfPresent } from '../core/optional-peer.js'

type InstrumentationModule = typeof import('@opentelemetry/instrumentation')

/** What tracing needs from `@opentelemetry/instrumentation` and the instrumentations it runs. */
export interface LoadedInstrumentations {
  register: InstrumentationModule['registerInstrumentations']
  instrumentations: Instrumentation[]
}

const FEATURE = 'tracing (OTEL_EXPORTER_OTLP_ENDPOINT)'

/**
 * The instrumentations, optional peers loaded when tracing starts. Outgoing http/https and
 * fetch (undici) are part of tracing, so their packages must be installed; the pg and ioredis
 * instrumentations only matter to a service that has those clients, so each is used when
 * installed and silently left out otherwise.
 */
export async function loadInstrumentations(): Promise<LoadedInstrumentations> {
  const base = await importPeer<InstrumentationModule>('@opentelemetry/instrumentation', FEATURE)
  const http = await importPeer<typeof import('@opentelemetry/instrumentation-http')>(
    '@opentelemetry/instrumentation-http',
    FEATURE,
  )
  const undici = await importPeer<typeof import('@opentelemetry/instrumentation-undici')>(
    '@opentelemetry/instrumentation-undici',
    FEATURE,
  )
  const pg = await importPeerIfPresent<typeof import('@opentelemetry/instrumentation-pg')>(
    '@opentelemetry/instrumentation-pg',
  )
  const ioredis = await importPeerIfPresent<
    typeof import('@opentelemetry/instrumentation-ioredis')
  >('@opentelemetry/instrumentation-ioredis')
  const instrumentations: Instrumentation[] = [
    // Outgoing http/https only: server spans come from the framework adapter, which knows the route.
    // Outgoing calls are traced inside a trace only: health probes of other services and
    // background polling would otherwise each start a trace of their own.
    new http.HttpInstrumentation({
      disableIncomingRequestInstrumentation: true,
      requireParentforOutgoingSpans: true,
    }),
    new undici.UndiciInstrumentation({ requireParentforSpans: true }),
  ]
  if (pg) instrumentations.push(new pg.PgInstrumentation({ requireParentSpan: true }))
  if (ioredis)
    instrumentations.push(new ioredis.IORedisInstrumentation({ requireParentSpan: true }))
  return { register: base.registerInstrumentations, instrumentations }
}
