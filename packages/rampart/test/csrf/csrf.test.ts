import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import rampart, { csrfField } from 'rampart/fastify'
import { createCsrfTokens } from 'rampart/internal'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type LogCapture, logCapture } from '../support/log-capture.js'

const SECRET = 's'.repeat(40)
const SESSION = 'abc123.signedvalue'
const COOKIE = `theme=dark; sid=${SESSION}`

let app: FastifyInstance
let logs: LogCapture
let handled: number

beforeEach(async () => {
  logs = logCapture()
  handled = 0
  app = Fastify()
  await app.register(rampart, {
    secretKey: SECRET,
    logLevel: 'info',
    logFormat: 'json',
    logDestination: logs.stream,
    csrf: { sessionCookie: 'sid', allowedOrigins: ['https://admin.example.com'] },
  })
  await app.register(formbody)
  await app.register(multipart, { limits: app.rampart.limits.multipart })
  app.get('/form', async (request, reply) =>
    reply.type('text/html').send(`<form method="post">${csrfField(request)}</form>`),
  )
  app.get('/token', async (request) => ({ token: request.csrfToken() }))
  const state = async () => {
    handled++
    return { ok: true }
  }
  app.post('/transfer', state)
  app.put('/transfer', state)
  app.patch('/transfer', state)
  app.delete('/transfer', state)
  app.get('/transfer', state)
  app.options('/transfer', state)
  app.post('/upload', async (request) => {
    for await (const part of request.parts()) {
      if (part.type === 'file') await part.toBuffer()
    }
    handled++
    return { ok: true }
  })
  app.post('/webhook', { config: { csrf: false } }, state)
})
afterEach(async () => {
  await app.close()
})

async function token(cookie = COOKIE): Promise<string> {
  const res = await app.inject({ url: '/token', headers: { cookie } })
  return res.json().token as string
}

function form(body: string, headers: Record<string, string> = {}): InjectOptions {
  return {
    method: 'POST',
    url: '/transfer',
    headers: {
      cookie: COOKIE,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      ...headers,
    },
    payload: body,
  }
}

function multipartBody(fields: Record<string, string>): { body: string; type: string } {
  const boundary = '----rampart-test-boundary'
  let body = ''
  for (const [name, value] of Object.entries(fields)) {
    body += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  }
  body += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--${boundary}--\r\n`
  return { body, type: `multipart/form-data; boundary=${boundary}` }
}

async function metric(name: string): Promise<string> {
  return (await app.inject({ url: '/metrics' })).body
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n')
}

describe('CSRF', () => {
  it('a form POST with the session cookie and no token is a 403, counted and logged', async () => {
    const res = await app.inject(form('amount=10'))
    expect(res.statusCode).toBe(403)
    expect(res.headers['content-type']).toContain('application/problem+json')
    expect(handled).toBe(0)
    const line = logs.lines().find((l) => l.event === 'security.csrf_blocked')
    expect(line).toMatchObject({
      level: 'warn',
      reason: 'missing',
      route: '/transfer',
      method: 'POST',
      request_id: res.headers['x-request-id'],
    })
    expect(JSON.stringify(line)).not.toContain(SESSION)
    expect(await metric('rampart_csrf_blocks_total')).toContain(
      'rampart_csrf_blocks_total{reason="missing"} 1',
    )
    expect(await metric('rampart_security_events_total')).toContain(
      'rampart_security_events_total{kind="csrf_blocked"} 1',
    )
    // The block is reported once, not again as a generic 403.
    expect(logs.lines().filter((l) => String(l.event).startsWith('security.'))).toHaveLength(1)
  })

  it('the HTML form of a block is a 403 page', async () => {
    const res = await app.inject(form('amount=10', { accept: 'text/html' }))
    expect(res.statusCode).toBe(403)
    expect(res.headers['content-type']).toContain('text/html')
  })

  it('a valid token passes: in the form field, in X-CSRF-Token, in a JSON body', async () => {
    const html = (await app.inject({ url: '/form', headers: { cookie: COOKIE } })).body
    const fromField = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1] ?? ''
    expect((await app.inject(form(`amount=10&csrf_token=${fromField}`))).statusCode).toBe(200)
    const t = await token()
    expect((await app.inject(form('amount=10', { 'x-csrf-token': t }))).statusCode).toBe(200)
    const json = await app.inject({
      method: 'POST',
      url: '/transfer',
      headers: { cookie: COOKIE },
      payload: { amount: 10, csrf_token: t },
    })
    expect(json.statusCode).toBe(200)
    expect(handled).toBe(3)
  })

  it('every PUT, PATCH and DELETE is checked too', async () => {
    const t = await token()
    for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
      const headers = { cookie: COOKIE }
      expect((await app.inject({ method, url: '/transfer', headers })).statusCode).toBe(403)
      const ok = await app.inject({
        method,
        url: '/transfer',
        headers: { ...headers, 'x-csrf-token': t },
      })
      expect(ok.statusCode).toBe(200)
    }
  })

  it('refuses another session’s, expired, tampered, wrong-length, empty and repeated tokens with 403', async () => {
    const other = await token('sid=someone-else')
    const expired = createCsrfTokens(Buffer.from(SECRET), 3600).issue(
      SESSION,
      Date.now() - 2 * 3600_000,
    )
    const good = await token()
    const last = good.at(-1) === 'A' ? 'B' : 'A'
    const tampered = `${good.slice(0, -1)}${last}`
    const cases: Array<[string, string, string]> = [
      ['another session', `csrf_token=${other}`, 'invalid'],
      ['expired', `csrf_token=${expired}`, 'expired'],
      ['tampered', `csrf_token=${tampered}`, 'invalid'],
      ['too long', `csrf_token=${good}A`, 'malformed'],
      ['too short', `csrf_token=${good.slice(0, -1)}`, 'malformed'],
      ['garbage', 'csrf_token=%00%ff%fe', 'malformed'],
      ['empty', 'csrf_token=', 'missing'],
      ['repeated', `csrf_token=${good}&csrf_token=${good}`, 'malformed'],
    ]
    for (const [name, body, reason] of cases) {
      const res = await app.inject(form(`amount=1&${body}`))
      expect(res.statusCode, name).toBe(403)
      expect(logs.lines().at(-2)?.reason ?? logs.lines().at(-1)?.reason, name).toBe(reason)
    }
    const headerCases = [`${good}, ${good}`, `${good}x`, '']
    for (const value of headerCases) {
      const res = await app.inject(form('amount=1', { 'x-csrf-token': value }))
      expect(res.statusCode).toBe(403)
    }
    expect(handled).toBe(0)
    const blocks = await metric('rampart_csrf_blocks_total')
    expect(blocks).toContain('reason="expired"} 1')
    expect(blocks).toContain('reason="invalid"} 2')
  })

  it('Sec-Fetch-Site cross-site or same-site, or a foreign Origin, is refused even with a valid token', async () => {
    const t = await token()
    for (const headers of [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site', origin: 'http://localhost:80' },
    ]) {
      const res = await app.inject(form(`csrf_token=${t}`, headers))
      expect(res.statusCode, JSON.stringify(headers)).toBe(403)
    }
    for (const headers of [
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
      { origin: 'http://localhost' },
      { origin: 'https://admin.example.com' },
    ]) {
      const res = await app.inject(form(`csrf_token=${t}`, headers))
      expect(res.statusCode, JSON.stringify(headers)).toBe(200)
    }
    const blocks = await metric('rampart_csrf_blocks_total')
    expect(blocks).toContain('reason="cross_site"} 3')
    expect(blocks).toContain('reason="foreign_origin"} 2')
  })

  it('holds whatever the Content-Type', async () => {
    const types = [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON',
      'application/vnd.api+json',
      'application/x-www-form-urlencoded;charset=UTF-8',
      'APPLICATION/X-WWW-FORM-URLENCODED',
      'multipart/form-data; boundary=x',
      'Multipart/Form-Data; boundary="x"',
      'application/octet-stream',
      'text/html',
      'application/x-www-form-urlencoded, text/plain',
      ';;;',
    ]
    for (const type of types) {
      const res = await app.inject({
        method: 'POST',
        url: '/transfer',
        headers: { cookie: COOKIE, 'content-type': type },
        payload: type.toLowerCase().includes('json') ? '{"amount":1}' : 'amount=1',
      })
      expect(res.statusCode, `${type} ${res.body}`).toBe(403)
    }
    // No Content-Type at all, with a body.
    const none = await app.inject({
      method: 'POST',
      url: '/transfer',
      headers: { cookie: COOKIE },
      payload: Buffer.from('amount=1'),
    })
    expect(none.statusCode).toBe(403)
    expect(handled).toBe(0)
  })

  it('multipart uploads carry the token in the query; a token in the body is not read', async () => {
    const t = await token()
    const inBody = multipartBody({ csrf_token: t })
    const refused = await app.inject({
      method: 'POST',
      url: '/upload',
      headers: { cookie: COOKIE, 'content-type': inBody.type },
      payload: inBody.body,
    })
    expect(refused.statusCode).toBe(403)
    const ok = await app.inject({
      method: 'POST',
      url: `/upload?csrf_token=${encodeURIComponent(t)}`,
      headers: { cookie: COOKIE, 'content-type': inBody.type },
      payload: inBody.body,
    })
    expect(ok.statusCode).toBe(200)
    // The query parameter is for multipart only.
    expect((await app.inject(form('amount=1', {}))).statusCode).toBe(403)
    const viaQuery = await app.inject({ ...form('amount=1'), url: `/transfer?csrf_token=${t}` })
    expect(viaQuery.statusCode).toBe(403)
  })

  it('a bearer-only API call needs no token; bearer plus the session cookie does', async () => {
    const bearer = await app.inject({
      method: 'POST',
      url: '/transfer',
      headers: { authorization: 'Bearer api-token-1', 'content-type': 'application/json' },
      payload: '{"amount":1}',
    })
    expect(bearer.statusCode).toBe(200)
    const both = await app.inject({
      method: 'POST',
      url: '/transfer',
      headers: {
        authorization: 'Bearer api-token-1',
        cookie: COOKIE,
        'content-type': 'application/json',
      },
      payload: '{"amount":1}',
    })
    expect(both.statusCode).toBe(403)
  })

  it('GET, HEAD and OPTIONS are never blocked', async () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS'] as const) {
      const res = await app.inject({
        method,
        url: '/transfer',
        headers: { cookie: COOKIE, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      })
      // Each reaches its handler: 200, never a 403 (nor a 404 that would hide one).
      expect(res.statusCode, method).toBe(200)
    }
  })

  it('method overrides do not turn a POST into an exempt method', async () => {
    for (const headers of [
      { 'x-http-method-override': 'GET' },
      { 'x-http-method': 'GET' },
      { 'x-method-override': 'HEAD' },
    ]) {
      expect((await app.inject(form('amount=1', headers))).statusCode).toBe(403)
    }
    expect((await app.inject(form('amount=1&_method=GET'))).statusCode).toBe(403)
    expect(
      (await app.inject({ ...form('amount=1'), url: '/transfer?_method=GET' })).statusCode,
    ).toBe(403)
    expect(handled).toBe(0)
  })

  it('a route with config csrf: false opts out', async () => {
    const res = await app.inject({ ...form('amount=1'), url: '/webhook' })
    expect(res.statusCode).toBe(200)
  })

  it('a new session gets tokens the old session’s do not satisfy', async () => {
    const before = await token('sid=before-login')
    const res = await app.inject(form(`csrf_token=${before}`, { cookie: 'sid=after-login' }))
    expect(res.statusCode).toBe(403)
  })
})

describe('a route added before Rampart', () => {
  it('refuses a form post it cannot read a token from, and names the cause once', async () => {
    const early = Fastify()
    const capture = logCapture()
    let changed = 0
    // Added before the plugin: it gets none of Rampart's per-route hooks, so a token in its
    // body can never be checked. The post is refused rather than let through unchecked.
    await early.register(formbody)
    early.post('/early', async () => {
      changed++
      return { ok: true }
    })
    await early.register(rampart, {
      secretKey: SECRET,
      logLevel: 'info',
      logFormat: 'json',
      logDestination: capture.stream,
      csrf: { sessionCookie: 'sid' },
    })
    await early.ready()
    try {
      const good = createCsrfTokens(Buffer.from(SECRET), 3600).issue(SESSION)
      const post = (headers: Record<string, string>) =>
        early.inject({
          method: 'POST',
          url: '/early',
          headers: {
            cookie: COOKIE,
            'content-type': 'application/x-www-form-urlencoded',
            ...headers,
          },
          payload: `amount=1&csrf_token=${good}`,
        })
      expect((await post({})).statusCode).toBe(403)
      expect((await post({})).statusCode).toBe(403)
      // The header form of the token is checked before any body is read: it still works.
      expect((await post({ 'x-csrf-token': good })).statusCode).toBe(200)
      expect(changed).toBe(1)
      const warnings = capture.lines().filter((l) => l.event === 'csrf.route_unchecked')
      expect(warnings).toHaveLength(1)
      expect(warnings[0]?.route).toBe('/early')
      const blocked = capture.lines().filter((l) => l.event === 'security.csrf_blocked')
      expect(blocked.map((l) => l.reason)).toEqual(['unchecked_route', 'unchecked_route'])
    } finally {
      await early.close()
    }
  })
})
