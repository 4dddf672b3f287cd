import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logging/logger.js'
import { createRedactor } from '../../src/logging/redact.js'
import { createMetrics } from '../../src/metrics/registry.js'
import { createRateLimiter, type LimitOutcome, type Store } from '../../src/ratelimit/index.js'
import { capturedLogger } from '../support/log-capture.js'

function setup(store: Store, onStoreError: 'open' | 'closed') {
  const { logger, logs } = capturedLogger()
  let t = 1_000_000
  const clock = {
    now: () => t,
    advance(ms: number) {
      t += ms
    },
  }
  const metrics = createMetrics({ defaultMetrics: false })
  const limiterP = createRateLimiter({
    policies: { auth: { perMinute: 2 }, t2: { perMinute: 2 } },
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
      it(`${how} throw, ${mode}: ${mode === 'open' ? 'counts in this process (2 pass, then 429)' : 'answers 503'}, counts, logs at most every 10 s`, async () => {
        const { limiterP, logs, clock, metric } = setup(throwing(how), mode)
        const limiter = await limiterP
        const req = {
          policy: limiter.policy('t2'),
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
        for (const o of outcomes) expect(o.rateLimit).toBeUndefined()
        // open: the local fallback bucket keeps the limit of 2 per minute; never unlimited.
        expect(outcomes.map((o) => o.error?.status)).toEqual(
          mode === 'open'
            ? [undefined, undefined, 429, 429, 429, 429]
            : [503, 503, 503, 503, 503, 503],
        )
        expect(await metric('rampart_ratelimit_store_errors_total')).toBe(6)
        expect(limiter.stats().storeErrors).toBe(6)
        const failed = logs.lines().filter((l) => l.event === 'ratelimit.store_failed')
        expect(failed).toHaveLength(2)
        expect(failed[1]).toMatchObject({ level: 'error', suppressed: 4 })
      })
    }
  }

  it('credential policy (auth): answers 503 with Retry-After on a failing store even when open', async () => {
    const { limiterP } = setup(throwing('async'), 'open')
    const limiter = await limiterP
    const o = await limiter.check({
      policy: limiter.policy('auth'),
      route: '/login',
      userId: undefined,
      clientIp: '192.0.2.1',
    })
    expect(o.error?.status).toBe(503)
    expect(o.error?.headers['retry-after']).toBe('5')
  })

  it('counts blocks with policy and scope labels', async () => {
    const { MemoryStore } = await import('../../src/ratelimit/index.js')
    const { limiterP, metric } = setup(new MemoryStore(), 'open')
    const limiter = await limiterP
    const policy = limiter.policy('t2')
    for (let i = 0; i < 3; i++)
      await limiter.check({ policy, route: '/login', userId: 'u1', clientIp: '192.0.2.1' })
    for (let i = 0; i < 3; i++)
      await limiter.check({ policy, route: '/login', userId: undefined, clientIp: '192.0.2.1' })
    expect(await metric('rampart_ratelimit_blocks_total{policy="t2",scope="principal"}')).toBe(1)
    expect(await metric('rampart_ratelimit_blocks_total{policy="t2",scope="ip"}')).toBe(1)
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

describe('credential policies and key choice', () => {
  it('auth keys on the address, whatever principal the caller holds; the target account splits it', async () => {
    const { MemoryStore } = await import('../../src/ratelimit/index.js')
    const { limiterP } = setup(new MemoryStore(), 'open')
    const limiter = await limiterP
    const policy = limiter.policy('auth')
    const statuses: Array<number | undefined> = []
    // An attacker holding two accounts of their own: each request under another principal.
    for (const userId of ['mallory-1', 'mallory-2', undefined])
      statuses.push(
        (await limiter.check({ policy, route: '/login', userId, clientIp: '198.51.100.4' })).error
          ?.status,
      )
    expect(statuses).toEqual([undefined, undefined, 429])
    // A route naming the target account counts per account too.
    const forAccount = (username: string) =>
      limiter.check({
        policy,
        route: '/users/:username/password',
        userId: 'mallory-1',
        clientIp: '198.51.100.4',
        params: { username },
      }) as { error?: { status: number } }
    expect(
      [forAccount('admin'), forAccount('admin'), forAccount('admin')].map((o) => o.error?.status),
    ).toEqual([undefined, undefined, 429])
    expect(forAccount('bob').error).toBeUndefined()
  })

  it('a service picks the key of a policy with a function', async () => {
    const logger = createLogger({
      service: 'x',
      level: 'silent',
      format: 'json',
      redactor: createRedactor([]),
    })
    const limiter = await createRateLimiter({
      policies: { tenant: { perMinute: 1, key: (r) => r.params.tenant ?? '-' } },
      logger,
    })
    const policy = limiter.policy('tenant')
    const hit = (tenant: string, clientIp: string) =>
      (
        limiter.check({
          policy,
          route: '/t/:tenant',
          userId: undefined,
          clientIp,
          params: { tenant },
        }) as {
          error?: { status: number }
        }
      ).error?.status
    expect([hit('a', '192.0.2.1'), hit('a', '192.0.2.2'), hit('b', '192.0.2.1')]).toEqual([
      undefined,
      429,
      undefined,
    ])
  })
})
