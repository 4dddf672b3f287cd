import Fastify, { type FastifyInstance } from 'fastify'
import type { Decision, RampartOptions, RateLimitKeyRequest, Store, WindowSpec } from 'rampart'
import rampart, { bindUser } from 'rampart/fastify'
import { afterEach, describe, expect, it } from 'vitest'

/**
 * A store of a user's own: an exact sliding-window log in a Map, recording every call so the
 * test can see it is the store the limiter consults.
 */
class CountingStore implements Store {
  readonly increments: string[] = []
  readonly resets: string[] = []
  shutdowns = 0
  readonly #hits = new Map<string, number[]>()

  increment(key: string, { limit, windowMs }: WindowSpec): Decision {
    this.increments.push(key)
    const now = Date.now()
    const hits = (this.#hits.get(key) ?? []).filter((t) => t > now - windowMs)
    const allowed = hits.length < limit
    if (allowed) hits.push(now)
    this.#hits.set(key, hits)
    const oldest = hits[0] ?? now
    return { allowed, remaining: limit - hits.length, resetMs: oldest + windowMs - now }
  }

  reset(key: string): void {
    this.resets.push(key)
    this.#hits.delete(key)
  }

  shutdown(): void {
    this.shutdowns++
  }
}

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

/** Routes `/things/:id` (policy `two`, 2/min) and `/t/:tenant/items` (policy `tenant`, 1/min). */
async function build(rateLimit: RampartOptions['rateLimit'] = {}): Promise<FastifyInstance> {
  const app = Fastify()
  apps.push(app)
  await app.register(rampart, {
    service: 'options-test',
    nodeEnv: 'test',
    logLevel: 'silent',
    rateLimit: {
      ...rateLimit,
      policies: { two: { perMinute: 2 }, tenant: { perMinute: 1 }, ...rateLimit.policies },
    },
  })
  // Authentication stand-in: the principal named in `x-user`.
  app.addHook('onRequest', (request, _reply, done) => {
    const user = request.headers['x-user']
    if (typeof user === 'string') bindUser(user)
    done()
  })
  app.get('/things/:id', { config: { rateLimit: 'two' } }, async () => ({ ok: true }))
  app.get('/t/:tenant/items', { config: { rateLimit: 'tenant' } }, async () => ({ ok: true }))
  await app.ready()
  return app
}

describe('rate-limit options through the Fastify plugin', () => {
  it('consults the Store passed as rateLimit.store: its decisions give the headers and the 429, and it is shut down at close', async () => {
    const store = new CountingStore()
    const app = await build({ store })
    expect(app.rampart.rateLimiter?.store).toBe(store)

    const hit = () => app.inject({ url: '/things/1', headers: { 'x-user': 'alice' } })
    const first = await hit()
    expect(first.statusCode).toBe(200)
    expect(first.headers['ratelimit-policy']).toBe('"two";q=2;w=60')
    expect(first.headers.ratelimit).toBe('"two";r=1;t=60')
    expect((await hit()).statusCode).toBe(200)
    const blocked = await hit()
    expect(blocked.statusCode).toBe(429)
    expect(blocked.headers.ratelimit).toMatch(/^"two";r=0;t=(59|60)$/)
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(59)
    expect(blocked.json()).toMatchObject({
      status: 429,
      detail: expect.stringMatching(/^Too many requests\. This limit allows 2 per minute/),
    })

    // Every decision went to this store, under the policy and the route template.
    expect(store.increments).toHaveLength(3)
    expect(new Set(store.increments).size).toBe(1)
    expect(store.increments[0]).toMatch(/^two:\/things\/:id:p:/)
    // A route without a policy never reaches it.
    await app.inject({ url: '/nothing-here' })
    expect(store.increments).toHaveLength(3)

    await app.close()
    expect(store.shutdowns).toBe(1)
  })

  it("a store's own answer is the user's answer: a store that refuses gives a 429 on the first request", async () => {
    const refusing: Store = {
      increment: (_key, spec) => ({ allowed: false, remaining: 0, resetMs: spec.windowMs / 2 }),
      reset() {},
    }
    const app = await build({ store: refusing })
    const res = await app.inject({ url: '/things/1' })
    expect(res.statusCode).toBe(429)
    expect(res.headers.ratelimit).toBe('"two";r=0;t=30')
    expect(res.headers['retry-after']).toBe('30')
  })

  it('a per-policy key function decides whom a request counts against, with the bound user, address and route params', async () => {
    const seen: RateLimitKeyRequest[] = []
    const app = await build({
      policies: {
        tenant: {
          perMinute: 1,
          key: (r) => {
            seen.push(r)
            return r.params.tenant ?? '-'
          },
        },
      },
    })
    const hit = (tenant: string, user: string, ip: string) =>
      app.inject({ url: `/t/${tenant}/items`, headers: { 'x-user': user }, remoteAddress: ip })
    // Two users from two addresses share tenant a's budget; tenant b has its own.
    expect((await hit('a', 'alice', '192.0.2.1')).statusCode).toBe(200)
    const second = await hit('a', 'bob', '192.0.2.2')
    expect(second.statusCode).toBe(429)
    expect(second.headers['ratelimit-policy']).toBe('"tenant";q=1;w=60')
    expect((await hit('b', 'alice', '192.0.2.1')).statusCode).toBe(200)
    expect(seen[0]).toEqual({ userId: 'alice', clientIp: '192.0.2.1', params: { tenant: 'a' } })
    expect(seen[1]).toMatchObject({ userId: 'bob', clientIp: '192.0.2.2' })
  })

  it('refuses at start-up an object that is not a Store, naming the option', async () => {
    const notAStore = { increment: 'yes' } as unknown as Store
    await expect(build({ store: notAStore })).rejects.toThrow(
      /^rateLimit\.store: got an object without increment\(\) and reset\(\)/,
    )
  })
})
