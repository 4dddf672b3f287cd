import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type SentryReceiver,
  startSentryReceiver,
} from '../../../packages/rampart/test/support/sentry-receiver.js'
import { buildApp } from '../src/app.js'
import { SESSION_COOKIE } from '../src/auth/sessions.js'
import { DEBUG_ERROR_MESSAGE } from '../src/routes/debug.js'
import { startAirlock, type TestAirlock } from './helpers.js'

const run = promisify(execFile)
const CLI = new URL('../../../packages/rampart/bin/rampart.js', import.meta.url).pathname

/** `rampart check` against `url`; resolves with its exit code and output (never rejects). */
async function check(url: string, ...args: string[]) {
  try {
    const { stdout } = await run(process.execPath, [CLI, 'check', url, ...args])
    return { code: 0, stdout }
  } catch (err) {
    const e = err as { code: number; stdout: string }
    return { code: e.code, stdout: e.stdout }
  }
}

describe('airlock debug routes (AIRLOCK_DEBUG_ROUTES)', () => {
  let t: TestAirlock | undefined
  let receiver: SentryReceiver | undefined
  afterEach(async () => {
    await t?.close()
    await receiver?.close()
    t = undefined
    receiver = undefined
  })

  const listen = async (airlock: TestAirlock) => {
    await airlock.app.listen({ port: 0, host: '127.0.0.1' })
    return `http://127.0.0.1:${(airlock.app.server.address() as AddressInfo).port}`
  }

  it('are off by default: GET /debug/error is a 404', async () => {
    t = await startAirlock('sqlite')
    expect((await t.app.inject('/debug/error')).statusCode).toBe(404)
  })

  it('AIRLOCK_DEBUG_ROUTES=1 is refused in production with one line; only =production turns them on there', async () => {
    const production = {
      nodeEnv: 'production' as const,
      secretKey: 'p'.repeat(40),
      console: { enabled: false },
    }
    await expect(buildApp(production, { AIRLOCK_DEBUG_ROUTES: '1' })).rejects.toThrow(
      /^AIRLOCK_DEBUG_ROUTES: got "1"; refused in production \(set AIRLOCK_DEBUG_ROUTES=production/,
    )
    await expect(buildApp(production, { AIRLOCK_DEBUG_ROUTES: 'yes please' })).rejects.toThrow(
      'AIRLOCK_DEBUG_ROUTES: got "yes please"; expected 1, 0 or production',
    )
    await expect(buildApp({ ...production, debugRoutes: true }, {})).rejects.toThrow(
      /^debugRoutes: refused in production/,
    )
    const dataDir = mkdtempSync(join(tmpdir(), 'airlock-debug-'))
    try {
      const app = await buildApp(
        { ...production, dataDir, logLevel: 'silent' },
        { AIRLOCK_DEBUG_ROUTES: 'production' },
      )
      const res = await app.inject('/debug/error')
      await app.close()
      expect(res.statusCode).toBe(500)
      // Production: the problem names no internal message.
      expect(res.body).not.toContain(DEBUG_ERROR_MESSAGE)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('GET /debug/error answers a 500 problem and makes exactly one Sentry event; rampart check --expect-error-route passes', async () => {
    receiver = await startSentryReceiver()
    t = await startAirlock('sqlite', { debugRoutes: true, sentryDsn: receiver.dsn })
    expect(t.logs.lines().some((l) => l.event === 'debug_routes.enabled')).toBe(true)
    const url = await listen(t)
    const r = await check(url, '--expect-error-route', '--session-cookie', SESSION_COOKIE)
    expect(r.stdout).toMatch(
      /^passed {2}error route GET \/debug\/error: 500 problem\+json, one error report; look for request_id \S+ in Sentry$/m,
    )
    expect(r.code, r.stdout).toBe(0)
    await t.app.rampart.errors.flush(5000)
    const events = receiver.events()
    expect(events).toHaveLength(1)
    expect(events[0]?.tags).toMatchObject({
      route: '/debug/error',
      status: '500',
      service: 'airlock',
    })
    expect(events[0]?.exception?.values?.[0]?.value).toBe(DEBUG_ERROR_MESSAGE)
  })

  it('rampart check --expect-error-route fails with one line when error tracking is off', async () => {
    t = await startAirlock('sqlite', { debugRoutes: true })
    const url = await listen(t)
    const r = await check(url, '--expect-error-route', '/debug/error')
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(
      'FAILED  error route GET /debug/error: error tracking is off: /metrics has no rampart_error_reports_total (is SENTRY_DSN set?)',
    )
  })
})
