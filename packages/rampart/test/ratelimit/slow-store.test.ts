import { describe, expect, it } from 'vitest'
import { createMetrics } from '../../src/metrics/registry.js'
import { StoreDeadline } from '../../src/ratelimit/deadline.js'
import { createRateLimiter, MemoryStore, type Store } from '../../src/ratelimit/index.js'
import { capturedLogger } from '../support/log-capture.js'

/** A shared exact store whose answers arrive `delay.ms` late. */
function slowStore(delay: { ms: number }): Store {
  const inner = new MemoryStore()
  return {
    increment: (key, spec) =>
      new Promise((resolve) => {
        const decision = inner.increment(key, spec)
        setTimeout(() => resolve(decision), delay.ms)
      }),
    reset: (key) => inner.reset(key),
  }
}

async function limiterOn(store: Store) {
  const metrics = createMetrics({ defaultMetrics: false })
  const limiter = await createRateLimiter({
    policies: { auth: { perMinute: 3 }, read: { perMinute: 3 } },
    store,
    storeTimeoutMs: 200,
    logger: capturedLogger('silent').logger,
    metrics,
  })
  const hit = async (policy: 'auth' | 'read', ip = '192.0.2.9') =>
    (
      await limiter.check({
        policy: limiter.policy(policy),
        route: '/r',
        userId: undefined,
        clientIp: ip,
      })
    ).error?.status ?? 200
  const metric = async (series: string) => {
    const { body } = await metrics.render()
    const line = body.split('\n').find((l) => l.startsWith(`${series} `))
    return line === undefined ? 0 : Number(line.slice(series.length + 1))
  }
  return { hit, metric }
}

describe('a slow rate-limit store', () => {
  it('within the deadline the store decides: exactly the limit passes', async () => {
    const { hit } = await limiterOn(slowStore({ ms: 20 }))
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push(await hit('auth'))
    expect(statuses).toEqual([200, 200, 200, 429, 429])
  })

  it('past the deadline a credential policy answers 503 and never passes, the late answers are counted', async () => {
    const { hit, metric } = await limiterOn(slowStore({ ms: 400 }))
    const statuses = await Promise.all(Array.from({ length: 5 }, () => hit('auth')))
    expect(statuses).toEqual([503, 503, 503, 503, 503])
    await new Promise((r) => setTimeout(r, 400))
    expect(await metric('rampart_ratelimit_late_answers_total{policy="auth",allowed="true"}')).toBe(
      3,
    )
    expect(
      await metric('rampart_ratelimit_late_answers_total{policy="auth",allowed="false"}'),
    ).toBe(2)
    expect(await metric('rampart_ratelimit_store_errors_total')).toBe(5)
  })

  it('past the deadline an open policy counts in a local bucket (never unlimited)', async () => {
    const { hit } = await limiterOn(slowStore({ ms: 400 }))
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push(await hit('read'))
    expect(statuses).toEqual([200, 200, 200, 429])
  })

  it('a refusal the store sends late is kept: the next requests of that client are refused at once', async () => {
    const delay = { ms: 0 }
    const { hit } = await limiterOn(slowStore(delay))
    // The client spends its shared budget while the store is fast.
    for (let i = 0; i < 3; i++) expect(await hit('read')).toBe(200)
    delay.ms = 400
    // The store is slow now: the local bucket (still empty) lets one through…
    expect(await hit('read')).toBe(200)
    // …and the store's late answer said no: from then on this client is refused locally.
    await new Promise((r) => setTimeout(r, 400))
    expect(await hit('read')).toBe(429)
    expect(await hit('read', '192.0.2.99')).toBe(200)
  })

  it('the deadline follows the store latency: rises fast, falls slowly, stays within its bounds', () => {
    const d = new StoreDeadline(1000)
    expect(d.ms).toBe(1000) // cold: the ceiling
    for (let i = 0; i < 50; i++) d.observe(1)
    expect(d.ms).toBe(100) // fast store: the floor
    d.observe(400)
    expect(d.ms).toBeGreaterThan(400) // one slow answer lifts it at once
    for (let i = 0; i < 20; i++) d.observe(5000)
    expect(d.ms).toBe(1000)
  })
})
