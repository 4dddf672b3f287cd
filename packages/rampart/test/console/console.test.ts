import Fastify, { type FastifyInstance } from 'fastify'
import { defineConfig } from 'rampart'
import rampart, { HttpError, type RampartFastifyOptions } from 'rampart/fastify'
import { afterEach, describe, expect, it } from 'vitest'
import type { ConsoleSnapshot } from '../../src/console/snapshot.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

const TOKEN = 'console-token-0123456789'

async function build(options: RampartFastifyOptions = {}) {
  const app = Fastify()
  apps.push(app)
  await app.register(rampart, {
    service: 'orders',
    logLevel: 'silent',
    rateLimit: { policies: { tiny: { perMinute: 2 } } },
    slo: defineConfig({
      service: 'orders',
      slos: [
        { name: 'availability', kind: 'availability', objective: 99 },
        {
          name: 'item-latency',
          kind: 'latency',
          route: 'GET /items/:id',
          thresholdSeconds: 0.5,
          objective: 95,
        },
      ],
    }),
    ...options,
  })
  app.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }))
  app.get('/boom', async () => {
    throw new Error('database on fire')
  })
  app.get('/limited', { config: { rateLimit: 'tiny' } }, async () => ({ ok: true }))
  app.get('/private', async () => {
    throw new HttpError(403)
  })
  return app
}

describe('the ops console (/_rampart)', () => {
  it('summarises this process: requests, 5xx, routes, SLOs, security events and blocks', async () => {
    const app = await build()
    for (let i = 0; i < 7; i++) await app.inject({ url: `/items/${i}` })
    for (let i = 0; i < 3; i++) await app.inject({ url: '/boom' })
    for (let i = 0; i < 3; i++) await app.inject({ url: '/limited' })
    await app.inject({ url: '/private' })
    await app.inject({ url: '/metrics' })
    const res = await app.inject({ url: '/_rampart/api/summary' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    const s = res.json() as ConsoleSnapshot
    expect(s.service).toBe('orders')
    // Rampart's own paths (/metrics, the console) are not counted.
    expect(s.requests).toMatchObject({ total: 14, errors: 3, in_flight: 0 })
    const route = (r: string) => s.requests.routes.find((x) => x.route === r)
    expect(route('/items/:id')).toMatchObject({ method: 'GET', requests: 7, errors: 0 })
    expect(route('/items/:id')?.p95_ms_at_most).toBeGreaterThan(0)
    expect(route('/boom')).toMatchObject({ requests: 3, errors: 3 })
    expect(route('/limited')).toMatchObject({ requests: 3, errors: 0 })
    expect(s.requests.routes[0]?.route).toBe('/items/:id') // busiest first
    expect(s.rate_limit_blocks).toEqual([{ policy: 'tiny', scope: expect.any(String), count: 1 }])
    expect(s.security_events).toEqual(
      expect.arrayContaining([
        { kind: 'rate_limited', count: 1 },
        { kind: 'forbidden', count: 1 },
      ]),
    )
    expect(s.slos).toEqual([
      {
        name: 'availability',
        kind: 'availability',
        objective_percent: 99,
        route: null,
        requests: 14,
        bad: 3,
        compliance_percent: 78.57,
        meets_objective: false,
      },
      {
        name: 'item-latency',
        kind: 'latency',
        objective_percent: 95,
        route: 'GET /items/:id',
        requests: 7,
        bad: 0,
        compliance_percent: 100,
        meets_objective: true,
      },
    ])
    expect(s.readiness).toEqual({ ready: true, draining: false, checks: [] })
  })

  it('renders the same as a page with its own stylesheet, every value escaped', async () => {
    const app = await build({ slo: undefined })
    // Readiness check names and errors are the service's text: shown escaped, never as markup.
    app.rampart.health.addCheck({
      name: '<img src=x onerror=alert(1)>',
      check: () => {
        throw new Error('<script>alert(2)</script>')
      },
    })
    await app.inject({ url: '/items/1' })
    const page = await app.inject({ url: '/_rampart' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.body).toContain('<h1>orders</h1>')
    expect(page.body).toContain('&#60;img src=x onerror=alert(1)&#62;')
    expect(page.body).toContain('&#60;script&#62;alert(2)&#60;/script&#62;')
    expect(page.body).not.toMatch(/<img|<script/)
    expect(page.body).toContain('not ready')
    expect(page.body).toContain('<link rel="stylesheet" href="/_rampart/console.css">')
    expect(page.body).not.toMatch(/<style| style=/)
    expect(page.body).toContain('<code>/items/:id</code>')
    // A page, so it carries the document security headers and the page CSP.
    expect(page.headers['content-security-policy']).toContain("style-src 'self'")
    const css = await app.inject({ url: '/_rampart/console.css' })
    expect(css.statusCode).toBe(200)
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8')
  })

  it('is off with console.enabled false (404), and production refuses to turn it on without a token', async () => {
    const off = await build({ console: { enabled: false } })
    for (const url of ['/_rampart', '/_rampart/api/summary', '/_rampart/console.css'])
      expect((await off.inject({ url })).statusCode, url).toBe(404)
    await expect(
      build({ nodeEnv: 'production', secretKey: 's'.repeat(40), console: { enabled: true } }),
    ).rejects.toThrow(/RAMPART_CONSOLE_TOKEN: not set/)
  })

  it('with a token: 401 without it or with a wrong one (counted as a security event), 200 with it', async () => {
    const app = await build({ console: { token: TOKEN } })
    for (const url of ['/_rampart', '/_rampart/api/summary']) {
      const none = await app.inject({ url, headers: { accept: 'application/json' } })
      expect(none.statusCode, url).toBe(401)
      expect(none.headers['www-authenticate']).toBe('Bearer realm="rampart console"')
      expect(none.headers['content-type']).toMatch(/^application\/problem\+json/)
      const wrong = await app.inject({ url, headers: { authorization: `Bearer ${TOKEN}x` } })
      expect(wrong.statusCode, url).toBe(401)
      const right = await app.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } })
      expect(right.statusCode, url).toBe(200)
    }
    const summary = (
      await app.inject({
        url: '/_rampart/api/summary',
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).json() as ConsoleSnapshot
    expect(summary.security_events).toEqual([{ kind: 'unauthorized', count: 4 }])
    // The stylesheet is public: a browser sends no bearer token for it.
    expect((await app.inject({ url: '/_rampart/console.css' })).statusCode).toBe(200)
    // The scheme is case-insensitive, the token is not.
    const lower = { authorization: `bearer ${TOKEN}` }
    expect((await app.inject({ url: '/_rampart/api/summary', headers: lower })).statusCode).toBe(
      200,
    )
    expect(summary.requests.total).toBe(0)
  })
})
