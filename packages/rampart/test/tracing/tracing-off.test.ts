import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { runTs } from '../support/child.js'

const fixture = fileURLToPath(new URL('./fixtures/untraced-app.ts', import.meta.url))
const recorder = new URL('./fixtures/record-loads.mjs', import.meta.url).href
const dir = mkdtempSync(join(tmpdir(), 'rampart-otel-loads-'))

async function run(env: Record<string, string>) {
  const record = join(dir, `loads-${Object.keys(env).length}.txt`)
  writeFileSync(record, '')
  const child = runTs(fixture, { RECORD_LOADS_TO: record, ...env }, ['--import', recorder])
  const code = await child.exited
  expect(code, child.stderrText()).toBe(0)
  const report = JSON.parse(child.stdoutText().trim().split('\n').at(-1) as string) as {
    status: number
    cjs: string[]
  }
  const esm = readFileSync(record, 'utf8').split('\n').filter(Boolean)
  return { ...report, loaded: [...esm, ...report.cjs] }
}

describe('tracing off', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('loads no OpenTelemetry SDK module, and withSpan still runs its function', async () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' }
    const { status, loaded } = await run(env)
    expect(status).toBe(200)
    // prom-client itself requires the no-op API facade (@opentelemetry/api) for its process
    // metrics; anything beyond the API (SDK, exporters, instrumentations) must stay unloaded.
    expect(loaded.filter((url) => !url.includes('/@opentelemetry/api/'))).toEqual([])
  })

  it('(control) the same app with an endpoint set does load the SDK, so the check can fail', async () => {
    const { status, loaded } = await run({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
      OTEL_EXPORTER_OTLP_TIMEOUT: '200',
      OTEL_BSP_EXPORT_TIMEOUT: '500',
    })
    expect(status).toBe(200)
    expect(loaded.some((u) => u.includes('@opentelemetry/sdk-trace'))).toBe(true)
  })
})
