import { createHash } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import rampart, { HttpError, type RampartFastifyOptions } from 'rampart/fastify'
import { afterEach, describe, expect, it } from 'vitest'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

async function build(options: RampartFastifyOptions = {}) {
  const app = Fastify()
  apps.push(app)
  await app.register(rampart, { logLevel: 'silent', ...options })
  app.get('/page', async (_r, reply) => reply.type('text/html').send('<!doctype html><p>hi</p>'))
  app.get('/data', async () => ({ ok: true }))
  app.get('/denied', async () => {
    throw new HttpError(403)
  })
  return app
}

function expectCommon(headers: Record<string, unknown>) {
  expect(headers['x-content-type-options']).toBe('nosniff')
  expect(headers['x-frame-options']).toBe('DENY')
  expect(headers['referrer-policy']).toBe('no-referrer')
  const csp = String(headers['content-security-policy'])
  expect(csp).toContain("default-src 'self'")
  expect(csp).toContain("frame-ancestors 'none'")
  expect(csp).toContain("object-src 'none'")
  expect(csp).toMatch(/script-src 'self'(;|$)/)
  expect(csp).not.toContain('unsafe-inline')
}

describe('security headers', () => {
  it('are on HTML and JSON responses, on errors and on 404s', async () => {
    const app = await build()
    for (const req of [
      { url: '/page' },
      { url: '/data' },
      { url: '/denied', headers: { accept: 'text/html' } },
      { url: '/denied', headers: { accept: 'application/json' } },
      { url: '/nowhere', headers: { accept: 'text/html' } },
      { url: '/nowhere' },
      { url: '/healthz' },
    ]) {
      const res = await app.inject(req)
      expectCommon(res.headers)
      expect(res.headers['strict-transport-security'], 'no HSTS outside production').toBeUndefined()
    }
  })

  it('a route adjusts them with the helmet option, in either naming style, or drops them', async () => {
    const app = await build()
    app.get('/embed', { helmet: { frameguard: false } }, async () => 'embeddable')
    app.get('/framed', { helmet: { xFrameOptions: { action: 'sameorigin' } } }, async () => 'x')
    app.get('/raw', { helmet: false }, async () => 'raw')
    const embed = await app.inject({ url: '/embed' })
    expect(embed.headers['x-frame-options']).toBeUndefined()
    expect(embed.headers['x-content-type-options']).toBe('nosniff')
    expect((await app.inject({ url: '/framed' })).headers['x-frame-options']).toBe('SAMEORIGIN')
    const raw = await app.inject({ url: '/raw' })
    expect(raw.headers['content-security-policy']).toBeUndefined()
    expect(raw.headers['x-request-id']).toBeDefined()
    // Other routes keep the full set.
    expectCommon((await app.inject({ url: '/data' })).headers)
  })

  it('HSTS in production', async () => {
    const app = await build({ nodeEnv: 'production', secretKey: 'k'.repeat(32), console: false })
    const res = await app.inject({ url: '/data' })
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains')
    expectCommon(res.headers)
  })

  it('the error page satisfies the CSP: its only style is allowed by hash, it has no script', async () => {
    const app = await build()
    const res = await app.inject({ url: '/nowhere', headers: { accept: 'text/html' } })
    const styles = [...res.body.matchAll(/<style>([^<]*)<\/style>/g)].map((m) => m[1] ?? '')
    expect(styles).toHaveLength(1)
    const hash = createHash('sha256')
      .update(styles[0] ?? '')
      .digest('base64')
    const styleSrc = /style-src ([^;]+)/.exec(String(res.headers['content-security-policy']))?.[1]
    expect(styleSrc?.split(' ')).toContain(`'sha256-${hash}'`)
    expect(res.body).not.toMatch(/<script|\son\w+=|style="/i)
  })
})
