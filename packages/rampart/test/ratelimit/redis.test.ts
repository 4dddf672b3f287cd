import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedisStore, type RedisStore } from '../../src/ratelimit/index.js'
import { freePort } from '../support/free-port.js'
import { service } from '../support/services.js'
import { metricValue, randomName, type TestApp, testApp } from './app.js'
import { OwnRedis } from './redis-server.js'
import { commandsDuring } from './round-trips.js'
import { storeContract } from './store-contract.js'

const url = service('REDIS_URL')
const bin = service('REDIS_SERVER_BIN')

describe.skipIf(!url)('RedisStore (shared Redis)', () => {
  const stores: RedisStore[] = []
  const prefix = `${randomName('rampart-test-')}:`
  afterAll(async () => {
    const cleanup = new Redis(url as string)
    const keys = await cleanup.keys(`${prefix}*`)
    if (keys.length) await cleanup.del(...keys)
    await cleanup.quit()
    await Promise.all(stores.map((s) => s.shutdown()))
  })

  storeContract(async (clock) => {
    const store = await createRedisStore({ url: url as string, prefix, now: clock.now })
    stores.push(store)
    return store
  })

  it('lets exactly 10 of 100 concurrent requests from one principal through, over HTTP', async () => {
    const { app } = await testApp({ service: randomName(), rateLimit: { store: url } })
    try {
      const res = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          app.inject({ url: `/items/${i}`, headers: { 'x-user': 'alice' } }),
        ),
      )
      expect(res.filter((r) => r.statusCode === 200)).toHaveLength(10)
      expect(res.filter((r) => r.statusCode === 429)).toHaveLength(90)
      const blocked = res.find((r) => r.statusCode === 429)
      expect(Number(blocked?.headers['retry-after'])).toBeGreaterThan(0)
    } finally {
      await app.close()
    }
  })
})

describe.skipIf(!bin)('Redis stopped mid-test (a redis-server of our own)', () => {
  let redis: OwnRedis
  const apps: TestApp[] = []
  beforeAll(async () => {
    redis = new OwnRedis(bin as string, await freePort())
    await redis.start()
  })
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((t) => t.app.close()))
  })
  afterAll(async () => {
    await redis.stop()
  })

  /** Polls until the app's store answers again (reconnects back off up to 1 s). */
  async function until(check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (await check()) return
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error('the store did not come back within 10 s')
  }

  it('makes one round trip to Redis per decision', async () => {
    const t = await testApp({ service: randomName(), rateLimit: { store: redis.url } })
    apps.push(t)
    // The first decision may load the script (EVALSHA answered NOSCRIPT, then EVAL).
    await t.app.inject({ url: '/items/0', headers: { 'x-user': 'rt' } })
    const bySource = await commandsDuring(redis.url, async () => {
      for (let i = 0; i < 20; i++) {
        const r = await t.app.inject({ url: `/items/${i}`, headers: { 'x-user': 'rt' } })
        expect([200, 429]).toContain(r.statusCode)
      }
    })
    // Every command came from the app's one connection, and it sent exactly one per request.
    expect([...bySource.values()]).toEqual([new Array(20).fill('evalsha')])
  })

  it('starts while Redis is down, answers by the store-error policy, and counts once it is up', async () => {
    const late = new OwnRedis(bin as string, await freePort())
    try {
      const t = await testApp({
        service: randomName(),
        rateLimit: { store: late.url, onStoreError: 'closed' },
      })
      apps.push(t)
      const hit = () => t.app.inject({ url: '/items/1', headers: { 'x-user': 'late' } })
      expect((await hit()).statusCode).toBe(503)
      await late.start()
      await until(async () => (await hit()).statusCode === 200)
      expect((await hit()).headers.ratelimit).toMatch(/^"t10";r=\d;t=\d+$/)
    } finally {
      await late.stop()
    }
  })

  it('does not hang on a Redis that stops answering: the command times out, open lets it through', async () => {
    const t = await testApp({ service: randomName(), rateLimit: { store: redis.url } })
    apps.push(t)
    const hit = () => t.app.inject({ url: '/items/1', headers: { 'x-user': 'frozen' } })
    expect((await hit()).headers.ratelimit).toBeDefined()
    redis.pause()
    try {
      const r = await hit()
      expect(r.statusCode).toBe(200)
      expect(r.headers.ratelimit).toBeUndefined()
      expect(await metricValue(t.app, 'rampart_ratelimit_store_errors_total')).toBe(1)
    } finally {
      redis.resume()
    }
    await until(async () => (await hit()).headers.ratelimit !== undefined)
  })

  for (const mode of ['open', 'closed'] as const) {
    it(`${mode}: ${mode === 'open' ? 'keeps serving and counts errors' : 'answers 503'}, does not crash, recovers`, async () => {
      const t = await testApp({
        service: randomName(),
        rateLimit: { store: redis.url, onStoreError: mode },
      })
      apps.push(t)
      const { app, logs } = t
      const hit = () => app.inject({ url: '/items/1', headers: { 'x-user': `u-${mode}` } })
      await until(async () => (await hit()).headers.ratelimit !== undefined)
      expect((await hit()).statusCode).toBe(200)

      await redis.stop()
      const during = await Promise.all(Array.from({ length: 5 }, hit))
      if (mode === 'open') {
        expect(during.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200])
        expect(during.every((r) => r.headers.ratelimit === undefined)).toBe(true)
      } else {
        expect(during.map((r) => r.statusCode)).toEqual([503, 503, 503, 503, 503])
        expect(during[0]?.headers['retry-after']).toBe('5')
      }
      expect(await metricValue(app, 'rampart_ratelimit_store_errors_total')).toBe(5)
      expect(
        logs.lines().filter((l) => l.event === 'ratelimit.store_failed').length,
      ).toBeGreaterThan(0)

      await redis.start()
      await until(async () => (await hit()).headers.ratelimit !== undefined)
      // Counting resumed where Redis left it (a fresh server: an empty log).
      const after = await hit()
      expect(after.statusCode).toBe(200)
      expect(after.headers.ratelimit).toMatch(/^"t10";r=\d;t=\d+$/)
      expect(logs.lines().some((l) => l.event === 'ratelimit.store_recovered')).toBe(true)
    })
  }
})
