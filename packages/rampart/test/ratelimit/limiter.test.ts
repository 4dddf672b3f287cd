import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logging/logger.js'
import { createRedactor } from '../../src/logging/redact.js'
import { createMetrics } from '../../src/metrics/registry.js'
import { createRateLimiter, type LimitOutcome, type Store } from '../../src/ratelimit/index.js'
import { logCapture } from '../support/log-capture.js'

function setup(store: Store, onStoreError: 'open' | 'closed') {
  const logs = logCapture()
  const logger = createLogger({
    service: 'limiter-test',
    level: 'info',
    format: 'json',
    redactor: createRedactor([]),
    destination: logs.stream,
  })
  let t = 1_000_000
  const clock = {
    now: () => t,
    advance(ms: number) {
      t += ms
    },
  }
  const metrics = createMetrics({ defaultMetrics: false })
  const limiterP = createRateLimiter({
    policies: { auth: { perMinute: 2 } },
    store,
    onStoreError,
    logger,
    now: clock.now,
    metrics,
  })
  /** The value of one series in the app's /metrics text, or undefined when absent. */
  const metric = async (series: string) => {
    const { body } = await metrics.render()
    const line = body.split('\n').find((l) => l.startsWith(`${series} `))
    return line === undefined ? undefined : Number(line.slice(series.length + 1))
  }
  return { limiterP, logs, clock, metric }
}

const throwing = (how: 'sync' | 'async'): Store => ({
  increment() {
    if (how === 'sync') throw new Error('store exploded')
    return Promise.reject(new Error('store exploded'))
  },
  reset() {},
})

describe('createRateLimiter with a store that throws', () => {
  for (const how of ['sync', 'async'] as const) {
    for (const mode of ['open', 'closed'] as const) {
      it(`${how} throw, ${mode}: ${mode === 'open' ? 'lets the request through' : 'answers 503'}, counts, logs at most every 10 s`, async () => {
        const { limiterP, logs, clock, metric } = setup(throwing(how), mode)
        const limiter = await limiterP
        const req = {
          policy: limiter.policy('auth'),
          route: '/login',
          userId: undefined,
          clientIp: '192.0.2.1',
        }
        const outcomes: LimitOutcome[] = []
        for (let i = 0; i < 5; i++) {
          outcomes.push(await limiter.check(req))
          clock.advance(1_000)
        }
        clock.advance(10_000)
        outcomes.push(await limiter.check(req))
        for (const o of outcomes) {
          expect(o.rateLimit).toBeUndefined()
          if (mode === 'open') expect(o.error).toBeUndefined()
          else expect(o.error?.status).toBe(503)
        }
        expect(await metric('rampart_ratelimit_store_errors_total')).toBe(6)
        expect(limiter.stats().storeErrors).toBe(6)
        const failed = logs.lines().filter((l) => l.event === 'ratelimit.store_failed')
        expect(failed).toHaveLength(2)
        expect(failed[1]).toMatchObject({ level: 'error', suppressed: 4 })
      })
    }
  }

  it('counts blocks with policy and scope labels', async () => {
    const { MemoryStore } = await import('../../src/ratelimit/index.js')
    const { limiterP, metric } = setup(new MemoryStore(), 'open')
    const limiter = await limiterP
    const policy = limiter.policy('auth')
    for (let i = 0; i < 3; i++)
      await limiter.check({ policy, route: '/login', userId: 'u1', clientIp: '192.0.2.1' })
    for (let i = 0; i < 3; i++)
      await limiter.check({ policy, route: '/login', userId: undefined, clientIp: '192.0.2.1' })
    expect(await metric('rampart_ratelimit_blocks_total{policy="auth",scope="principal"}')).toBe(1)
    expect(await metric('rampart_ratelimit_blocks_total{policy="auth",scope="ip"}')).toBe(1)
    expect(await metric('rampart_ratelimit_store_errors_total')).toBe(0)
  })

  it('refuses policy names that would break the structured headers', async () => {
    await expect(
      createRateLimiter({
        policies: { 'Bad"Name': { perMinute: 1 } },
        logger: createLogger({
          service: 'x',
          level: 'silent',
          format: 'json',
          redactor: createRedactor([]),
        }),
      }),
    ).rejects.toThrow(/policy name "Bad"Name"/)
  })
})
