/**
 * The `http/protobuf` span exporter: the SDK's OTLP/HTTP exporter (its transport, retries,
 * timeouts, headers, compression and `OTEL_EXPORTER_OTLP_*` settings) with Rampart's encoder
 * writing the request bodies in place of the SDK's serialiser. Loaded only when tracing is on.
 */
import { createRequire } from 'node:module'
import type { SpanExporter } from '@opentelemetry/sdk-trace-base'
import { importPeer } from '../core/optional-peer.js'
import { encodingSerializer } from './otlp-encoder.js'

type ExporterBase = typeof import('@opentelemetry/otlp-exporter-base')
type ExporterBaseHttp = typeof import('@opentelemetry/otlp-exporter-base/node-http')
type Transformer = typeof import('@opentelemetry/otlp-transformer')

/** `OTEL_COMPONENT_TYPE_VALUE_OTLP_HTTP_SPAN_EXPORTER`, the name the SDK's exporter reports. */
const COMPONENT_TYPE = 'otlp_http_span_exporter'

/**
 * Builds the exporter as `@opentelemetry/exporter-trace-otlp-proto`'s `OTLPTraceExporter`
 * builds itself, from the same copies of `otlp-exporter-base` and `otlp-transformer` that
 * package uses (resolved from its own location), with a serialiser whose `serializeRequest` is
 * Rampart's encoder, falling back to the SDK's for a batch it does not encode.
 *
 * @param options The exporter's options (`url` when Rampart chose the endpoint).
 */
export async function createProtobufExporter(options: { url?: string }): Promise<SpanExporter> {
  // The peer's own "not installed" message, as before this encoder.
  await importPeer<typeof import('@opentelemetry/exporter-trace-otlp-proto')>(
    '@opentelemetry/exporter-trace-otlp-proto',
    'tracing over OTLP/HTTP',
  )
  const fromRampart = createRequire(import.meta.url)
  const fromExporter = createRequire(
    fromRampart.resolve('@opentelemetry/exporter-trace-otlp-proto'),
  )
  const base = fromExporter('@opentelemetry/otlp-exporter-base') as ExporterBase
  const http = fromExporter('@opentelemetry/otlp-exporter-base/node-http') as ExporterBaseHttp
  const transformer = fromExporter('@opentelemetry/otlp-transformer') as Transformer
  const delegate = http.createOtlpHttpExportDelegate(
    http.convertLegacyHttpOptions(options, 'TRACES', 'v1/traces', {
      'Content-Type': 'application/x-protobuf',
    }),
    encodingSerializer(transformer.ProtobufTraceSerializer),
    COMPONENT_TYPE,
    transformer.TraceExporterMetricsHelper,
    undefined,
  )
  return new base.OTLPExporterBase(delegate)
}
