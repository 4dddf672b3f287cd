import Fastify, { type FastifyInstance } from 'fastify'
import rampart, { HttpError, type RampartFastifyOptions } from 'rampart/fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { logCapture } from '../support/log-capture.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

const SECRET_MESSAGE = 'db password rejected at /srv/app/src/orders/repository.ts:42'
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
const JSON_ACCEPT = 'application/json'

async function build(options: RampartFastifyOptions = {}) {
  const app = Fastify()
  apps.push(app)
  await app.register(rampart, { logLevel: 'silent', logFormat: 'json', maxBodyKb: 1, ...options })
  app.get('/forbidden', async () => {
    throw new HttpError(403, { detail: 'Only the owner may do this.' })
  })
  app.get('/limited', async () => {
    throw new HttpError(429, { headers: { 'retry-after': '42' } })
  })
  app.get('/boom', async () => {
    throw new Error(SECRET_MESSAGE)
  })
  app.post('/items', async (request) => request.body)
  app.post(
    '/schema',
    {
      schema: {
        body: {
          type: 'object',
          required: ['title'],
          properties: { title: { type: 'string' }, size: { type: 'integer' } },
        },
      },
    },
    async () => ({ ok: true }),
  )
  const Item = z.object({ title: z.string().min(1), direction: z.enum(['egress', 'ingress']) })
  app.post('/zod', async (request) => Item.parse(request.body))
  return app
}

/** Sends the request that produces `status`. */
function requestFor(status: number, accept: string) {
  const headers = { accept }
  switch (status) {
    case 403:
      return { url: '/forbidden', headers }
    case 404:
      return { url: '/no/such/page', headers }
    case 413:
      return {
        method: 'POST' as const,
        url: '/items',
        headers: { ...headers, 'content-type': 'application/json' },
        payload: JSON.stringify({ text: 'x'.repeat(2000) }),
      }
    case 422:
      return {
        method: 'POST' as const,
        url: '/schema',
        headers: { ...headers, 'content-type': 'application/json' },
        payload: JSON.stringify({ size: 'big' }),
      }
    case 429:
      return { url: '/limited', headers }
    default:
      return { url: '/boom', headers }
  }
}

describe('error pages', () => {
  for (const status of [403, 404, 413, 422, 429, 500]) {
    it(`${status} as an HTML page when Accept prefers text/html`, async () => {
      const app = await build()
      const res = await app.inject(requestFor(status, HTML))
      expect(res.statusCode).toBe(status)
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(res.body.startsWith('<!doctype html>')).toBe(true)
      expect(res.body).toContain(`Error ${status}`)
      expect(res.body).toContain(String(res.headers['x-request-id']))
      // Self-contained: no script, no external asset.
      expect(res.body).not.toMatch(/<script|<link|src=|href=/i)
      if (status === 422) expect(res.body).toContain('<code>title</code>')
      if (status === 429) {
        expect(res.headers['retry-after']).toBe('42')
        expect(res.body).toContain('42 seconds')
      }
    })

    it(`${status} as application/problem+json otherwise`, async () => {
      const app = await build()
      const res = await app.inject(requestFor(status, JSON_ACCEPT))
      expect(res.statusCode).toBe(status)
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
      const body = res.json()
      expect(body).toMatchObject({
        type: 'about:blank',
        status,
        request_id: res.headers['x-request-id'],
      })
      expect(typeof body.title).toBe('string')
      if (status === 403) expect(body.detail).toBe('Only the owner may do this.')
      if (status === 404) expect(body.instance).toBe('/no/such/page')
      if (status === 422) {
        expect(body.errors).toEqual(
          // Fastify's ajv stops at the first error by default.
          expect.arrayContaining([
            { field: 'title', message: "must have required property 'title'" },
          ]),
        )
      }
      if (status === 429) expect(res.headers['retry-after']).toBe('42')
    })
  }

  it('a curl-style Accept (*/*) or none gets problem+json', async () => {
    const app = await build()
    for (const accept of ['*/*', '']) {
      const res = await app.inject({ url: '/missing', headers: { accept } })
      expect(res.headers['content-type']).toContain('application/problem+json')
    }
  })

  it('a ZodError thrown by a handler is a 422 with field errors', async () => {
    const app = await build()
    const res = await app.inject({
      method: 'POST',
      url: '/zod',
      headers: { accept: JSON_ACCEPT },
      payload: { title: '', direction: 'sideways' },
    })
    expect(res.statusCode).toBe(422)
    const fields = (res.json().errors as Array<{ field: string }>).map((e) => e.field).sort()
    expect(fields).toEqual(['direction', 'title'])
  })

  it('malformed JSON is a 400 and an unknown Content-Type a 415, without library text', async () => {
    const app = await build()
    const bad = await app.inject({
      method: 'POST',
      url: '/items',
      headers: { 'content-type': 'application/json' },
      payload: '{"a": ',
    })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().detail).toBe('The request body is not valid JSON.')
    const odd = await app.inject({
      method: 'POST',
      url: '/items',
      headers: { 'content-type': 'application/x-weird' },
      payload: 'hello',
    })
    expect(odd.statusCode).toBe(415)
    expect(odd.body).not.toContain('FST_')
  })

  it('in production a thrown error shows no stack or message; its request_id finds the logged error', async () => {
    const logs = logCapture()
    const app = await build({
      nodeEnv: 'production',
      secretKey: 'k'.repeat(32),
      console: { enabled: false },
      logLevel: 'info',
      logDestination: logs.stream,
    })
    for (const accept of [HTML, JSON_ACCEPT]) {
      const res = await app.inject({ url: '/boom', headers: { accept } })
      expect(res.statusCode).toBe(500)
      expect(res.body).not.toContain('db password')
      expect(res.body).not.toContain('repository.ts')
      expect(res.body).not.toMatch(/\bat \S+ \(|node_modules|\/srv\//)
      const requestId = String(res.headers['x-request-id'])
      expect(res.body).toContain(requestId)
      const logged = logs
        .lines()
        .find((l) => l.event === 'request.failed' && l.request_id === requestId)
      expect(logged).toBeDefined()
      expect(logged?.level).toBe('error')
      const err = logged?.err as { message: string; stack: string }
      expect(err.message).toContain('rejected at /srv/app/src/orders/repository.ts:42')
      expect(err.stack).toContain('error-pages.test.ts')
    }
  })

  it('in development the 500 detail carries the message (never the stack)', async () => {
    const app = await build({ nodeEnv: 'development', secretKey: 'k'.repeat(32) })
    const res = await app.inject({ url: '/boom', headers: { accept: JSON_ACCEPT } })
    expect(res.json().detail).toContain('rejected at')
    expect(res.body).not.toContain('error-pages.test.ts')
  })

  it('an error page escapes a detail carrying markup', async () => {
    const app = await build()
    app.get('/echo', async (request) => {
      throw new HttpError(404, { detail: `No item ${(request.query as { id: string }).id}` })
    })
    const res = await app.inject({
      url: '/echo?id=%3Cscript%3Ealert(1)%3C%2Fscript%3E',
      headers: { accept: HTML },
    })
    expect(res.statusCode).toBe(404)
    expect(res.body).not.toContain('<script>')
    expect(res.body).toContain('&#60;script&#62;')
  })
})

describe('frameworkErrors', () => {
  it('a malformed URL Fastify rejects before any hook gets our problem, headers and no echo', async () => {
    const { frameworkErrors } = await import('rampart/fastify')
    const app = Fastify({ frameworkErrors })
    apps.push(app)
    await app.register(rampart, { logLevel: 'silent' })
    app.get('/items/:id', async () => ({}))
    const res = await app.inject({ url: '/items/%ZZ%3Cb%3E' })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toContain('application/problem+json')
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['x-request-id']).toBeDefined()
    expect(res.json()).toMatchObject({ status: 400, detail: 'The request URL is malformed.' })
    expect(res.body).not.toContain('%ZZ')
    expect(res.body).not.toContain('FST_')
    const page = await app.inject({ url: '/items/%ZZ', headers: { accept: HTML } })
    expect(page.headers['content-type']).toContain('text/html')
    expect(page.headers['content-security-policy']).toContain("default-src 'self'")
  })
})
