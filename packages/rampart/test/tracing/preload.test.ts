import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runTs } from '../support/child.js'
import { descendsFrom, type OtlpReceiver, startOtlpReceiver } from '../support/otlp-receiver.js'
import { service } from '../support/services.js'

const databaseUrl = service('DATABASE_URL')
const fixture = fileURLToPath(new URL('./fixtures/preloaded-app.ts', import.meta.url))

describe.skipIf(!databaseUrl)('node --import rampart/otel', () => {
  let receiver: OtlpReceiver
  beforeAll(async () => {
    receiver = await startOtlpReceiver()
  })
  afterAll(async () => receiver?.close())

  it('instruments pg imported before the plugin, with no late-instrumentation warning', async () => {
    const child = runTs(
      fixture,
      {
        DATABASE_URL: databaseUrl as string,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: 'preloaded',
        OTEL_BSP_SCHEDULE_DELAY: '20',
      },
      ['--import', 'rampart/otel'],
    )
    try {
      const port = await child.port
      const traceId = '0af7651916cd43dd8448eb211c80319c'
      const res = await fetch(`http://127.0.0.1:${port}/now`, {
        headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      })
      expect(res.status).toBe(200)
      // Both the server span and a client span: they may come in separate export batches
      // (a pg span ends, and is exported, before the server span under load).
      await receiver.waitFor(
        (s) =>
          s.some((x) => x.traceId === traceId && x.kind === 2) &&
          s.filter((x) => x.traceId === traceId).length >= 2,
      )
      const spans = receiver.spans.filter((s) => s.traceId === traceId)
      const server = spans.find((s) => s.kind === 2)
      const query = spans.find((s) =>
        /select 1/i.test(
          String(s.attributes['db.query.text'] ?? s.attributes['db.statement'] ?? ''),
        ),
      )
      expect(server?.name).toBe('GET /now')
      expect(server?.service).toBe('preloaded')
      expect(query, spans.map((s) => s.name).join(', ')).toBeDefined()
      expect(descendsFrom(spans, query?.spanId, server?.spanId)).toBe(true)
      expect(`${child.stdoutText()}${child.stderrText()}`).not.toContain('instrumentation_late')
    } finally {
      child.kill('SIGTERM')
      await child.exited
    }
  })
})
