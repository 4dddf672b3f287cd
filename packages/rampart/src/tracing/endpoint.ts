/**
 * The OTLP endpoint the standard variables give for traces: the signal's own
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` first (as the exporters read them), else
 * `OTEL_EXPORTER_OTLP_ENDPOINT`; an empty value counts as unset. The only reader of the two.
 */
export function otlpEndpointOf(env: {
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined
}): string | undefined {
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined
}
