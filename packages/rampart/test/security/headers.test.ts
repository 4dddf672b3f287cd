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

const DOCUMENT_ONLY = [
  'cross-origin-opener-policy',
  'origin-agent-cluster',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
]

/** What every response carries, JSON or not. */
function expectAny(headers: Record<string, unknown>) {
  expect(headers['x-content-type-options']).toBe('nosniff')
  expect(headers['x-frame-options']).toBe('DENY')
  expect(headers['referrer-policy']).toBe('no-referrer')
  expect(headers['cross-origin-resource-policy']).toBe('same-origin')
}

/** A page (or any body that is not JSON): the page CSP and the document headers. */
function expectPage(headers: Record<string, unknown>) {
  expectAny(headers)
  const csp = String(headers['content-security-policy'])
  expect(csp).toContain("default-src 'self'")
  expect(csp).toContain("frame-ancestors 'none'")
  expect(csp).toContain("object-src 'none'")
  expect(csp).toMatch(/script-src 'self'(;|$)/)
  expect(csp).not.toContain('unsafe-inline')
  for (const name of DOCUMENT_ONLY) expect(headers[name], name).toBeDefined()
}

/** A JSON body: the strictest CSP and none of the headers only a rendered document needs. */
function expectJson(headers: Record<string, unknown>) {
  expectAny(headers)
  expect(headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'")
  for (const name of DOCUMENT_ONLY) expect(headers[name], name).toBeUndefined()
}

describe('security headers', () => {
  it('are on HTML and JSON responses, on errors and on 404s', async () => {
    const app = await build()
    for (const [req, expected] of [
      [{ url: '/page' }, expectPage],
      [{ url: '/data' }, expectJson],
      [{ url: '/denied', headers: { accept: 'text/html' } }, expectPage],
      [{ url: '/denied', headers: { accept: 'application/json' } }, expectJson],
      [{ url: '/nowhere', headers: { accept: 'text/html' } }, expectPage],
      [{ url: '/nowhere' }, expectJson],
      [{ url: '/healthz' }, expectJson],
      [{ url: '/metrics' }, expectPage],
    ] as const) {
      const res = await app.inject(req)
      expected(res.headers)
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
    expectJson((await app.inject({ url: '/data' })).headers)
    expectPage((await app.inject({ url: '/page' })).headers)
  })

  it('keeps a header the handler set itself, on pages and JSON alike', async () => {
    const app = await build()
    app.get('/own-csp', async (_r, reply) =>
      reply
        .header('content-security-policy', "default-src 'self' https://cdn.example")
        .type('text/html')
        .send('<p>x</p>'),
    )
    app.get('/own-frame', async (_r, reply) =>
      reply.header('x-frame-options', 'SAMEORIGIN').send({ ok: true }),
    )
    app.get('/own-coop', async (_r, reply) =>
      reply.header('cross-origin-opener-policy', 'unsafe-none').type('text/html').send('<p>x</p>'),
    )
    const csp = await app.inject({ url: '/own-csp' })
    expect(csp.headers['content-security-policy']).toBe("default-src 'self' https://cdn.example")
    expect((await app.inject({ url: '/own-frame' })).headers['x-frame-options']).toBe('SAMEORIGIN')
    const coop = await app.inject({ url: '/own-coop' })
    expect(coop.headers['cross-origin-opener-policy']).toBe('unsafe-none')
    expect(coop.headers['x-download-options']).toBe('noopen')
  })

  it('HSTS in production', async () => {
    const app = await build({
      nodeEnv: 'production',
      secretKey: 'k'.repeat(32),
      console: { enabled: false },
    })
    const res = await app.inject({ url: '/data' })
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains')
    expectJson(res.headers)
    const page = await app.inject({ url: '/page' })
    expect(page.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains')
    expectPage(page.headers)
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
