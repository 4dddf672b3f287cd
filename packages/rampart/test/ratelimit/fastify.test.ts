import Fastify from 'fastify'
import rampart from 'rampart/fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { metricValue, type TestApp, testApp } from './app.js'

describe('rate limiting on Fastify routes (memory store)', () => {
  const apps: TestApp[] = []
  const make = async (...args: Parameters<typeof testApp>) => {
    const t = await testApp(...args)
    apps.push(t)
    return t
  }
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((t) => t.app.close()))
  })

  it('lets exactly 10 of 100 concurrent requests from one principal through a 10/min policy', async () => {
    const { app } = await make()
    const res = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        app.inject({ url: `/items/${i}`, headers: { 'x-user': 'alice' } }),
      ),
    )
    const codes = res.map((r) => r.statusCode)
    expect(codes.filter((c) => c === 200)).toHaveLength(10)
    expect(codes.filter((c) => c === 429)).toHaveLength(90)
  })

  it('sends RateLimit-Policy and RateLimit, and a 429 with Retry-After not earlier than t and a readable body', async () => {
    const { app, logs } = await make()
    const first = await app.inject({ url: '/items/1', headers: { 'x-user': 'bob' } })
    expect(first.headers['ratelimit-policy']).toBe('"t10";q=10;w=60')
    expect(first.headers.ratelimit).toBe('"t10";r=9;t=60')
    for (let i = 0; i < 9; i++) await app.inject({ url: '/items/1', headers: { 'x-user': 'bob' } })
    const blocked = await app.inject({
      url: '/items/1',
      headers: { 'x-user': 'bob', accept: 'application/json' },
    })
    expect(blocked.statusCode).toBe(429)
    const m = /^"t10";r=0;t=(\d+)$/.exec(String(blocked.headers.ratelimit))
    expect(m).not.toBeNull()
    const t = Number(m?.[1])
    expect(t).toBeGreaterThan(0)
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(t)
    const body = blocked.json() as { message?: string; detail?: string }
    expect(body.detail ?? body.message).toMatch(
      /Too many requests.*10 per minute.*try again in \d+ second/,
    )
    expect(
      await metricValue(app, 'rampart_ratelimit_blocks_total{policy="t10",scope="principal"}'),
    ).toBe(1)
    const events = logs.lines().filter((l) => l.event === 'security.rate_limited')
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      level: 'warn',
      policy: 't10',
      scope: 'principal',
      route: '/items/:id',
    })
    // The bucket key is hashed; the raw principal appears only as the context's user_id.
    expect(JSON.stringify(events[0]).match(/bob/g)).toHaveLength(1)
  })

  it('leaves routes without a policy (absent or false) alone: no headers, no limit', async () => {
    const { app } = await make()
    for (const url of ['/open', '/off']) {
      for (let i = 0; i < 15; i++) {
        const r = await app.inject({ url, headers: { 'x-user': 'carol' } })
        expect(r.statusCode).toBe(200)
        expect(r.headers).not.toHaveProperty('ratelimit')
        expect(r.headers).not.toHaveProperty('ratelimit-policy')
      }
    }
  })

  it('gives two principals behind one IP their own budgets', async () => {
    const { app } = await make()
    const run = (user: string) =>
      Promise.all(
        Array.from({ length: 12 }, () =>
          app.inject({
            url: '/items/1',
            headers: { 'x-user': user },
            remoteAddress: '198.51.100.7',
          }),
        ),
      )
    const [a, b] = await Promise.all([run('dora'), run('erin')])
    expect(a?.filter((r) => r.statusCode === 200)).toHaveLength(10)
    expect(b?.filter((r) => r.statusCode === 200)).toHaveLength(10)
  })

  it('keys anonymous clients by IP: one IP shares a budget, another IP has its own', async () => {
    const { app, logs } = await make()
    const hit = (ip: string) => app.inject({ url: '/items/1', remoteAddress: ip })
    const codes: number[] = []
    for (let i = 0; i < 12; i++) codes.push((await hit('203.0.113.1')).statusCode)
    expect(codes.filter((c) => c === 200)).toHaveLength(10)
    expect((await hit('203.0.113.2')).statusCode).toBe(200)
    expect(logs.lines().find((l) => l.event === 'security.rate_limited')).toMatchObject({
      scope: 'ip',
    })
    expect(await metricValue(app, 'rampart_ratelimit_blocks_total{policy="t10",scope="ip"}')).toBe(
      2,
    )
  })

  it('mints no new bucket for a spoofed X-Forwarded-For without trusted proxies', async () => {
    const { app } = await make()
    const codes: number[] = []
    for (let i = 0; i < 12; i++) {
      const r = await app.inject({
        url: '/items/1',
        remoteAddress: '203.0.113.50',
        headers: { 'x-forwarded-for': `10.0.0.${i}` },
      })
      codes.push(r.statusCode)
    }
    expect(codes.filter((c) => c === 200)).toHaveLength(10)
  })

  it('puts two IPv6 addresses of one /64 in one bucket, and another /64 in another', async () => {
    const { app } = await make()
    const codes: number[] = []
    for (let i = 0; i < 12; i++) {
      const r = await app.inject({
        url: '/items/1',
        remoteAddress: `2001:db8:1:2::${(i + 1).toString(16)}`,
      })
      codes.push(r.statusCode)
    }
    expect(codes.filter((c) => c === 200)).toHaveLength(10)
    const r = await app.inject({ url: '/items/1', remoteAddress: '2001:db8:1:3::1' })
    expect(r.statusCode).toBe(200)
  })

  it('keys on the route template: other ids, trailing slash, case and HEAD share the bucket', async () => {
    const { app } = await make(
      {},
      { routerOptions: { caseSensitive: false, ignoreTrailingSlash: true } },
    )
    const urls = ['/items/1', '/items/2/', '/ITEMS/1', '/Items/3']
    const codes: number[] = []
    for (let i = 0; i < 12; i++) {
      const method = i % 2 ? 'HEAD' : 'GET'
      const r = await app.inject({
        method,
        url: urls[i % urls.length] as string,
        headers: { 'x-user': 'fay' },
      })
      codes.push(r.statusCode)
    }
    expect(codes.slice(0, 10).every((c) => c === 200)).toBe(true)
    expect(codes.slice(10)).toEqual([429, 429])
  })

  it('counts a HEAD request once (the HEAD twin of a GET route gets the limiter once)', async () => {
    const { app } = await make()
    const r = await app.inject({ method: 'HEAD', url: '/items/1', headers: { 'x-user': 'gus' } })
    expect(r.statusCode).toBe(200)
    expect(r.headers.ratelimit).toBe('"t10";r=9;t=60')
  })

  it('applies RATE_LIMIT_<POLICY>_PER_MINUTE overrides', async () => {
    const before = process.env.RATE_LIMIT_AUTH_PER_MINUTE
    process.env.RATE_LIMIT_AUTH_PER_MINUTE = '3'
    try {
      const { app } = await make()
      const codes: number[] = []
      for (let i = 0; i < 5; i++)
        codes.push((await app.inject({ method: 'POST', url: '/login' })).statusCode)
      expect(codes).toEqual([200, 200, 200, 429, 429])
    } finally {
      if (before === undefined) delete process.env.RATE_LIMIT_AUTH_PER_MINUTE
      else process.env.RATE_LIMIT_AUTH_PER_MINUTE = before
    }
  })

  it('fails at start-up when a route names an unknown policy', async () => {
    const app = Fastify()
    await app.register(rampart, {
      nodeEnv: 'test',
      logLevel: 'silent',
      rateLimit: { policies: { t10: { perMinute: 10 } } },
    })
    expect(() => app.get('/x', { config: { rateLimit: 'nope' } }, async () => ({}))).toThrow(
      /policy "nope"; known policies: .*t10/,
    )
    await app.close()
  })
})
