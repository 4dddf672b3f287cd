import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { runTs } from '../support/child.js'
import { startSentryReceiver } from '../support/sentry-receiver.js'

const service = fileURLToPath(new URL('./fixtures/service.ts', import.meta.url))
const recorder = new URL('../tracing/fixtures/record-loads.mjs', import.meta.url).href
const dir = mkdtempSync(join(tmpdir(), 'rampart-sentry-loads-'))
let runs = 0

/** Runs the service's `serve` scenario, recording every module URL that names @sentry. */
async function serve(env: Record<string, string>) {
  const record = join(dir, `loads-${runs++}.txt`)
  writeFileSync(record, '')
  const child = runTs(
    service,
    { SCENARIO: 'serve', RECORD_LOADS_TO: record, RECORD_LOADS_MATCH: '@sentry', ...env },
    ['--import', recorder],
  )
  const code = await child.exited
  const esm = readFileSync(record, 'utf8').split('\n').filter(Boolean)
  return { code, child, esm }
}

describe('error tracking off (SENTRY_DSN unset)', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('loads no @sentry module and sends nothing, though a request failed', async () => {
    const receiver = await startSentryReceiver()
    try {
      const { code, child, esm } = await serve({ SENTRY_DSN: '' })
      expect(code, child.stderrText()).toBe(0)
      const report = JSON.parse(child.stdoutText().trim().split('\n').at(-1) as string)
      expect(report).toEqual({ status: 500, cjs: [] })
      expect(esm).toEqual([])
      expect(receiver.envelopes).toHaveLength(0)
    } finally {
      await receiver.close()
    }
  })

  it('(control) with SENTRY_DSN set the same service loads @sentry/node and sends the event', async () => {
    const receiver = await startSentryReceiver()
    try {
      const { code, child, esm } = await serve({ SENTRY_DSN: receiver.dsn })
      expect(code, child.stderrText()).toBe(0)
      expect(esm.some((u) => u.includes('/@sentry/node/'))).toBe(true)
      expect(receiver.events()).toHaveLength(1)
    } finally {
      await receiver.close()
    }
  })

  it('SENTRY_DSN set but @sentry/node not installed: start-up fails with one line naming the package', async () => {
    const { code, child } = await serve({
      SENTRY_DSN: 'http://key@127.0.0.1:9/1',
      RECORD_LOADS_HIDE: '@sentry/node',
    })
    expect(code).toBe(1)
    expect(child.stderrText().trim()).toBe(
      'crashy: SENTRY_DSN: set, but the optional package @sentry/node is not installed (npm install @sentry/node)',
    )
  })
})
