import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { SHUTDOWN_FLUSH_MS } from '../../src/error-tracking/start.js'
import { runTs } from '../support/child.js'
import { type SentryReceiver, startSentryReceiver } from '../support/sentry-receiver.js'

const service = fileURLToPath(new URL('./fixtures/service.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'rampart-crash-'))

/** The environment of a production replica (secrets of test value) with error tracking on. */
const production = (dsn: string | undefined, extra: Record<string, string> = {}) => ({
  NODE_ENV: 'production',
  SECRET_KEY: 'k'.repeat(40),
  RAMPART_CONSOLE: 'false',
  DATA_DIR: dir,
  LOG_FORMAT: 'json',
  // No load balancer to wait for: SIGTERM drains at once (production's default delay is 5 s).
  SHUTDOWN_DELAY_S: '0',
  SENTRY_DSN: dsn ?? '',
  ...extra,
})

const lines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)

describe('crashes are never silent', () => {
  let receiver: SentryReceiver | undefined
  afterEach(async () => {
    await receiver?.close()
    receiver = undefined
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('an exception thrown from a timer: one process.crashed fatal line with the stack, one event, exit code 1', async () => {
    receiver = await startSentryReceiver()
    const child = runTs(service, production(receiver.dsn, { SCENARIO: 'timer' }))
    const started = Date.now()
    expect(await child.exited, child.stderrText()).toBe(1)
    expect(Date.now() - started).toBeLessThan(15_000)
    const crashed = lines(child.stdoutText()).filter((l) => l.event === 'process.crashed')
    expect(crashed).toHaveLength(1)
    expect(crashed[0]).toMatchObject({
      level: 'fatal',
      origin: 'uncaught_exception',
      service: 'crashy',
    })
    const err = crashed[0]?.err as { message?: string; stack?: string }
    expect(err.message).toBe('timer exploded')
    expect(err.stack).toMatch(/service\.ts:\d+/)
    // The event was flushed before the exit: it is there without waiting.
    const events = receiver.events()
    expect(events).toHaveLength(1)
    expect(events[0]?.exception?.values?.[0]?.value).toBe('timer exploded')
    expect(events[0]?.tags).toMatchObject({ origin: 'uncaught_exception', service: 'crashy' })
  })

  it('without Sentry the crash is still one fatal line and exit code 1', async () => {
    const child = runTs(service, production(undefined, { SCENARIO: 'timer' }))
    expect(await child.exited, child.stderrText()).toBe(1)
    const crashed = lines(child.stdoutText()).filter((l) => l.event === 'process.crashed')
    expect(crashed).toHaveLength(1)
  })

  it('the service’s own handlers still run, and the process still exits 1', async () => {
    const child = runTs(service, production(undefined, { SCENARIO: 'timer', OWN_HANDLER: '1' }))
    expect(await child.exited).toBe(1)
    expect(child.stderrText()).toContain('own handler saw: timer exploded')
    expect(lines(child.stdoutText()).some((l) => l.event === 'process.crashed')).toBe(true)
  })

  it('an unhandled rejection crashes by default in production (logged, reported, exit 1)', async () => {
    receiver = await startSentryReceiver()
    const child = runTs(service, production(receiver.dsn, { SCENARIO: 'rejection' }))
    expect(await child.exited).toBe(1)
    expect(child.stdoutText()).not.toContain('still running')
    const crashed = lines(child.stdoutText()).filter((l) => l.event === 'process.crashed')
    expect(crashed).toMatchObject([{ origin: 'unhandled_rejection' }])
    expect(receiver.events()).toHaveLength(1)
  })

  it('RAMPART_ON_UNHANDLED_REJECTION=log: one error line and one event, and the process goes on', async () => {
    receiver = await startSentryReceiver()
    const child = runTs(
      service,
      production(receiver.dsn, { SCENARIO: 'rejection', RAMPART_ON_UNHANDLED_REJECTION: 'log' }),
    )
    expect(await child.exited, child.stderrText()).toBe(0)
    expect(child.stdoutText()).toContain('still running')
    const logged = lines(child.stdoutText()).filter(
      (l) => l.event === 'process.rejection_unhandled',
    )
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({ level: 'error' })
    expect(lines(child.stdoutText()).some((l) => l.event === 'process.crashed')).toBe(false)
    // Flushed by the shutdown (app.close) before the exit.
    expect(receiver.events().map((e) => e.exception?.values?.[0]?.value)).toEqual([
      'nobody caught this',
    ])
  })

  it('SIGTERM with the Sentry endpoint hung: the drain and the 2 s flush end the process in time, exit 0', async () => {
    receiver = await startSentryReceiver()
    receiver.delayMs = 10_000
    const child = runTs(service, production(receiver.dsn, { SCENARIO: 'listen' }))
    const port = await child.port
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/fail`)
      expect(res.status).toBe(500)
    }
    const started = Date.now()
    child.kill('SIGTERM')
    expect(await child.exited, child.stderrText()).toBe(0)
    // Drain (nothing in flight) + the flush deadline, with room for a loaded machine.
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_FLUSH_MS + 3000)
    const events = lines(child.stdoutText()).map((l) => l.event)
    expect(events).toContain('service.stopping')
    expect(events).toContain('error_tracking.flush_timed_out')
  })
})
