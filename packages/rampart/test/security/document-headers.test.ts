import Fastify from 'fastify'
import rampart from 'rampart/fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { API_CSP } from '../../src/security/headers.js'
import { logCapture } from '../support/log-capture.js'

const apps: Array<ReturnType<typeof Fastify>> = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

async function make() {
  const app = Fastify()
  apps.push(app)
  await app.register(rampart, { logDestination: logCapture().stream })
  app.get('/page', async (_request, reply) => reply.type('text/html').send('<p>hi</p>'))
  app.get('/data', async () => ({ ok: true }))
  await app.ready()
  return app
}

describe('document headers on every answer, routed or not', () => {
  it('an HTML 404 for an unrouted path gets the page CSP and the document-only headers', async () => {
    const app = await make()
    const res = await app.inject({ url: '/nope', headers: { accept: 'text/html' } })
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'self'/)
    expect(res.headers['cross-origin-opener-policy']).toBe('same-origin')
  })

  it('a page gets them, a JSON answer keeps the API set only', async () => {
    const app = await make()
    const page = await app.inject({ url: '/page' })
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'self'/)
    expect(page.headers['cross-origin-opener-policy']).toBe('same-origin')
    const data = await app.inject({ url: '/data' })
    expect(data.headers['content-security-policy']).toBe(API_CSP)
    expect(data.headers['cross-origin-opener-policy']).toBeUndefined()
  })
})
