import { startOtlpReceiver } from '../packages/rampart/test/support/otlp-receiver.js'
import { runHttpSuite } from './lib/http-suite.js'

/**
 * Tracing (issue 4): bare Fastify, Rampart's defaults with tracing off and on (100 % sampling,
 * batch export to a local OTLP/HTTP receiver), and the peer setup (OpenTelemetry's Node SDK
 * with auto-instrumentations) against the same receiver. After the rounds it checks the span
 * accounting: spans received per request, and for Rampart exported + dropped = spans started.
 */
export default async () => {
  const receiver = await startOtlpReceiver()
  const otel = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_TRACES_SAMPLER: 'always_on',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    SECRET_KEY: 'b'.repeat(40),
  }
  const counters = new Map<string, { exported: number; dropped: number; served: number }>()
  try {
    const { results, markdown } = await runHttpSuite({
      name: 'Tracing: Fastify + Rampart (tracing on) vs bare Fastify and the OpenTelemetry SDK',
      description:
        'Bare Fastify; Fastify + Rampart defaults with tracing off; the same with tracing on (one server span per request, 100 % sampled, batch-exported over OTLP/HTTP protobuf to a receiver in the bench process); the peer setup: `@opentelemetry/sdk-node` with `getNodeAutoInstrumentations()` exporting to the same receiver.',
      baseline: 'fastify bare',
      variants: [
        { name: 'fastify bare', server: 'fastify-bare.ts' },
        {
          name: 'fastify + rampart (tracing off)',
          server: 'fastify-rampart.ts',
          env: { SECRET_KEY: otel.SECRET_KEY },
        },
        {
          name: 'fastify + rampart (tracing on)',
          server: 'fastify-rampart-tracing.ts',
          env: { ...otel, OTEL_SERVICE_NAME: 'rampart-tracing' },
        },
        {
          name: 'fastify + @opentelemetry/sdk-node (peer)',
          server: 'fastify-otel-peer.ts',
          env: otel,
        },
      ],
      request: { path: '/items/1' },
      async beforeStop(variant, port) {
        // Let the batch processors export what they hold (schedule delay 200 ms).
        await new Promise((r) => setTimeout(r, 3000))
        if (variant.server !== 'fastify-rampart-tracing.ts') return
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
        const sum = (re: RegExp) => [...text.matchAll(re)].reduce((acc, m) => acc + Number(m[1]), 0)
        const c = counters.get(variant.name) ?? { exported: 0, dropped: 0, served: 0 }
        c.exported += sum(/^rampart_tracing_spans_exported_total (\d+)/gm)
        c.dropped += sum(/^rampart_tracing_spans_dropped_total\{[^}]*\} (\d+)/gm)
        // Counted by the server: autocannon leaves out requests in flight when a round ends.
        c.served += sum(/^http_requests_total\{[^}]*\} (\d+)/gm)
        counters.set(variant.name, c)
      },
    })
    const received = (service: string) => receiver.spans.filter((s) => s.service === service).length
    const rows = results
      .filter((r) => r.name.includes('tracing on') || r.name.includes('peer'))
      .map((r) => {
        const spans = received(r.name.includes('peer') ? 'otel-peer' : 'rampart-tracing')
        const c = counters.get(r.name)
        const accounted = c
          ? `${c.exported} exported + ${c.dropped} dropped = ${c.exported + c.dropped}; server counted ${c.served} requests`
          : 'no drop counter'
        return `| ${r.name} | ${r.served} | ${spans} | ${(spans / r.served).toFixed(2)} | ${accounted} |`
      })
    const accounting = [
      '',
      '| variant | requests served | spans received | spans received / request | span accounting |',
      '|---|---:|---:|---:|---|',
      ...rows,
      '',
    ].join('\n')
    return { markdown: `${markdown}${accounting}` }
  } finally {
    await receiver.close()
  }
}
