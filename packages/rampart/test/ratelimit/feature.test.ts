import { afterEach, describe, expect, it } from 'vitest'
import { createRampart, type Rampart } from '../../src/core/rampart.js'
import { createCoreRateLimiter, rateLimitFeature } from '../../src/ratelimit/feature.js'
import { statusOf, TestExchange } from '../support/exchange.js'
import { logCapture } from '../support/log-capture.js'

let core: Rampart
afterEach(async () => {
  await core?.close()
})

describe('rate-limit feature, framework-free', () => {
  it('sets RateLimit and RateLimit-Policy, then refuses with 429 and counts the event once', async () => {
    core = createRampart(
      {
        service: 't',
        logFormat: 'json',
        logDestination: logCapture().stream,
        rateLimit: { policies: { t2: { perMinute: 2 } } },
      },
      {},
    )
    const feature = rateLimitFeature(core, await createCoreRateLimiter(core))
    expect(feature.forRoute?.({ methods: ['GET'], url: '/a', config: {} })).toBeUndefined()
    expect(
      feature.forRoute?.({ methods: ['GET'], url: '/metrics', config: { rateLimit: 't2' } }),
    ).toBeUndefined()
    expect(() =>
      feature.forRoute?.({ methods: ['GET'], url: '/a', config: { rateLimit: 'nope' } }),
    ).toThrow(/nope/)
    const hooks = feature.forRoute?.({
      methods: ['GET'],
      url: '/items/:id',
      config: { rateLimit: 't2' },
    })
    const outcomes = []
    for (let i = 0; i < 3; i++) {
      const ex = new TestExchange({ url: `/items/${i}`, route: '/items/:id' })
      ex.context.clientIp = '203.0.113.9'
      outcomes.push({ ex, verdict: await hooks?.beforeBody?.(ex) })
    }
    expect(outcomes.map((o) => o.verdict === undefined)).toEqual([true, true, false])
    expect(outcomes[0]?.ex.getHeader('ratelimit-policy')).toBe('"t2";q=2;w=60')
    expect(outcomes[0]?.ex.getHeader('ratelimit')).toBe('"t2";r=1;t=60')
    const blocked = outcomes[2]
    expect(statusOf(blocked?.verdict)).toBe(429)
    expect(blocked?.ex.getHeader('retry-after')).toMatch(/^\d+$/)
    expect(blocked?.ex.securityReported).toBe(true)
    const text = await core.metrics.registry.metrics()
    expect(text).toMatch(/rampart_security_events_total\{kind="rate_limited"\} 1/)
  })
})
