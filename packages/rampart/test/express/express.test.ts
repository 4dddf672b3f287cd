import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type Express } from 'express'
import { bindUser, currentContext, HttpError, type RampartExpress, rampart } from 'rampart/express'
import { afterEach, describe, expect, it } from 'vitest'
import { type LogCapture, logCapture } from '../support/log-capture.js'
import { rawExchange } from '../support/raw-http.js'

/**
 * The Express adapter as a service sees it: `rampart(app)` first, `rp.route()` on routes,
 * `rp.listen()` (or `rp.serve()` for a server of its own) last. What is specific to Express:
 * where the route hooks run, the body Rampart parses, routes in routers, the error middleware.
 */

const SECRET = 's'.repeat(40)
const open: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close()
})

interface Built {
  app: Express
  rp: RampartExpress
  logs: LogCapture
}

async function build(options: Parameters<typeof rampart>[1] = {}): Promise<Built> {
  const logs = logCapture()
  const app = express()
  const rp = await rampart(app, {
    service: 'shop',
    secretKey: SECRET,
    logLevel: 'info',
    logFormat: 'json',
    logDestination: logs.stream,
    shutdown: { signals: false },
    ...options,
  })
  return { app, rp, logs }
}

async function listen(b: Built): Promise<string> {
  const server = await b.rp.listen({ port: 0, host: '127.0.0.1' })
  open.push(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await b.rp.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const access = (logs: LogCapture) => logs.lines().filter((l) => l.event === 'request.completed')

async function metricValue(url: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.split(' ').at(-1))
}

describe('rampart/express', () => {
  it('gives every request an id, a context the handler sees after awaits, and one access line', async () => {
    const b = await build()
    b.app.use((req, _res, next) => {
      if (req.headers['x-user'] !== undefined) bindUser(String(req.headers['x-user']))
      next()
    })
    b.app.get('/orders/:id', async (req, res) => {
      await new Promise((r) => setTimeout(r, 5))
      res.json({ id: req.params.id, requestId: currentContext()?.requestId })
    })
    const url = await listen(b)
    const res = await fetch(`${url}/orders/7?x=1`, { headers: { 'x-user': 'u1' } })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { id: string; requestId: string }
    expect(body.id).toBe('7')
    expect(body.requestId).toBe(res.headers.get('x-request-id'))
    await new Promise((r) => setTimeout(r, 20))
    const lines = access(b.logs)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      method: 'GET',
      route: '/orders/:id',
      status: 200,
      request_id: body.requestId,
      user_id: 'u1',
      service: 'shop',
    })
    expect(res.headers.get('x-powered-by')).toBeNull()
  })

  it('counts RED metrics by route template, routers included', async () => {
    const b = await build()
    b.app.get('/items/:id', (_req, res) => {
      res.json({ ok: true })
    })
    const router = express.Router()
    router.get('/things/:thing', (_req, res) => {
      res.json({ ok: true })
    })
    b.app.use('/api', router)
    const url = await listen(b)
    for (const id of ['1', '2', '3']) await (await fetch(`${url}/items/${id}`)).text()
    await (await fetch(`${url}/api/things/a`)).text()
    await (await fetch(`${url}/nowhere`)).text()
    expect(
      await metricValue(url, 'http_requests_total{method="GET",route="/items/:id",status="200"}'),
    ).toBe(3)
    expect(
      await metricValue(
        url,
        'http_requests_total{method="GET",route="/api/things/:thing",status="200"}',
      ),
    ).toBe(1)
    expect(
      await metricValue(url, 'http_requests_total{method="GET",route="unmatched",status="404"}'),
    ).toBe(1)
  })

  it('answers errors as negotiated problems, never with a stack trace', async () => {
    const b = await build({ nodeEnv: 'production', console: { enabled: false } })
    b.app.get('/forbidden', () => {
      throw new HttpError(403, { detail: 'Only the owner may do this.' })
    })
    b.app.get('/boom', async () => {
      throw new Error('secret at /srv/app/db.ts:42')
    })
    const url = await listen(b)
    const forbidden = await fetch(`${url}/forbidden`)
    expect(forbidden.status).toBe(403)
    expect(forbidden.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
    expect(forbidden.headers.get('vary')).toBe('Accept')
    const problem = (await forbidden.json()) as Record<string, unknown>
    expect(problem).toMatchObject({
      status: 403,
      title: 'Forbidden',
      detail: 'Only the owner may do this.',
      instance: '/forbidden',
      request_id: forbidden.headers.get('x-request-id'),
    })
    const boom = await fetch(`${url}/boom`)
    expect(boom.status).toBe(500)
    const text = await boom.text()
    expect(text).not.toContain('secret')
    expect(text).not.toContain('db.ts')
    const page = await fetch(`${url}/nowhere`, { headers: { accept: 'text/html' } })
    expect(page.status).toBe(404)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    await new Promise((r) => setTimeout(r, 20))
    const failed = b.logs.lines().find((l) => l.event === 'request.failed')
    expect(failed).toMatchObject({ status: 500, route: '/boom' })
  })

  it('parses JSON and forms itself: 400 malformed, 400 too deep, 413 over MAX_BODY_KB', async () => {
    const b = await build({ maxBodyKb: 1 })
    b.app.post('/echo', (req, res) => {
      res.json({ body: req.body as unknown })
    })
    // A later express.json() finds the body read and leaves it.
    b.app.post('/twice', express.json(), (req, res) => {
      res.json({ body: req.body as unknown })
    })
    const url = await listen(b)
    const post = (path: string, body: string, type = 'application/json') =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': type }, body })
    const ok = await post('/echo', '{"a":[1,2]}')
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ body: { a: [1, 2] } })
    expect(await (await post('/twice', '{"b":1}')).json()).toEqual({ body: { b: 1 } })
    const form = await post('/echo', 'a=1&b=x&a=2', 'application/x-www-form-urlencoded')
    expect(await form.json()).toEqual({ body: { a: ['1', '2'], b: 'x' } })
    const bad = await post('/echo', '{"a":')
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { detail: string }).detail).toBe(
      'The request body is not valid JSON.',
    )
    const deep = await post('/echo', `${'['.repeat(200)}${']'.repeat(200)}`.slice(0, 1000))
    expect(deep.status).toBe(400)
    const large = await post('/echo', JSON.stringify({ pad: 'x'.repeat(2000) }))
    expect(large.status).toBe(413)
    expect(large.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
  })

  it('runs the route hooks where rp.route() stands: the rate limit sees the user bound before it', async () => {
    const b = await build({ rateLimit: { policies: { tight: { perMinute: 2 } } } })
    const auth = (req: express.Request, _res: express.Response, next: express.NextFunction) => {
      bindUser(String(req.headers['x-user'] ?? 'anon'))
      next()
    }
    b.app.get('/limited', auth, b.rp.route({ rateLimit: 'tight' }), (_req, res) => {
      res.json({ ok: true })
    })
    const url = await listen(b)
    const as = (user: string) => fetch(`${url}/limited`, { headers: { 'x-user': user } })
    const first = await as('a')
    expect(first.status).toBe(200)
    expect(first.headers.get('ratelimit-policy')).toBeTruthy()
    expect((await as('a')).status).toBe(200)
    const third = await as('a')
    expect(third.status).toBe(429)
    expect(third.headers.get('retry-after')).toBeTruthy()
    expect(((await third.json()) as { status: number }).status).toBe(429)
    // Another principal has its own bucket.
    expect((await as('b')).status).toBe(200)
  })

  it('refuses a cross-site post and checks session-bound tokens; csrf: false opts a route out', async () => {
    const b = await build({ csrf: { sessionCookie: 'sid' } })
    // App-wide middleware (authentication, logging) answers nothing: unrouted stays a 404.
    b.app.use((_req, _res, next) => next())
    b.app.get('/token', (req, res) => {
      res.json({ token: req.csrfToken() })
    })
    b.app.post('/transfer', (_req, res) => {
      res.json({ ok: true })
    })
    b.app.post('/hook', b.rp.route({ csrf: false }), (_req, res) => {
      res.json({ ok: true })
    })
    // A router's routes are not seen registered: checked with the defaults (fails closed).
    const router = express.Router()
    router.post('/pay', (_req, res) => {
      res.json({ ok: true })
    })
    b.app.use('/api', router)
    const url = await listen(b)
    const cookie = 'sid=abc123'
    const cross = await fetch(`${url}/transfer`, {
      method: 'POST',
      headers: { cookie, 'sec-fetch-site': 'cross-site' },
    })
    expect(cross.status).toBe(403)
    const noToken = await fetch(`${url}/transfer`, { method: 'POST', headers: { cookie } })
    expect(noToken.status).toBe(403)
    const tokenRes = await fetch(`${url}/token`, { headers: { cookie } })
    expect(tokenRes.headers.get('cache-control')).toBe('no-store')
    const { token } = (await tokenRes.json()) as { token: string }
    const withHeader = await fetch(`${url}/transfer`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': token },
    })
    expect(withHeader.status).toBe(200)
    const inBody = await fetch(`${url}/transfer`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: `csrf_token=${encodeURIComponent(token)}`,
    })
    expect(inBody.status).toBe(200)
    const hook = await fetch(`${url}/hook`, {
      method: 'POST',
      headers: { cookie, 'sec-fetch-site': 'cross-site' },
    })
    expect(hook.status).toBe(200)
    // An unrouted path is a 404, not a CSRF refusal.
    const nowhere = await fetch(`${url}/nowhere`, {
      method: 'POST',
      headers: { cookie, 'sec-fetch-site': 'cross-site' },
    })
    expect(nowhere.status).toBe(404)
    const routed = await fetch(`${url}/api/pay`, {
      method: 'POST',
      headers: { cookie, 'sec-fetch-site': 'cross-site' },
    })
    expect(routed.status).toBe(403)
  })

  it('sets the security headers on every answer, the document ones on pages', async () => {
    const b = await build()
    b.app.get('/api', (_req, res) => {
      res.json({ ok: true })
    })
    b.app.get('/page', (_req, res) => {
      res.type('html').send('<!doctype html><p>hi</p>')
    })
    const url = await listen(b)
    const api = await fetch(`${url}/api`)
    expect(api.headers.get('x-content-type-options')).toBe('nosniff')
    expect(api.headers.get('content-security-policy')).toContain("default-src 'none'")
    const page = await fetch(`${url}/page`)
    expect(page.headers.get('content-security-policy')).not.toBe(
      api.headers.get('content-security-policy'),
    )
    const missing = await fetch(`${url}/nowhere`)
    expect(missing.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('serves /healthz, /readyz and /metrics, left out of the request metrics', async () => {
    const b = await build()
    const url = await listen(b)
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    const ready = await fetch(`${url}/readyz`)
    expect(ready.status).toBe(200)
    expect(((await ready.json()) as { status: string }).status).toBe('ok')
    b.rp.core.health.startDraining()
    expect((await fetch(`${url}/readyz`)).status).toBe(503)
    const text = await (await fetch(`${url}/metrics`)).text()
    expect(text).not.toContain('route="/healthz"')
    expect(text).toContain('http_requests_in_flight')
  })

  it('answers what the HTTP parser rejects, with an id and a problem', async () => {
    const b = await build()
    const url = await listen(b)
    const port = Number(new URL(url).port)
    const out = await rawExchange(port, 'GET /x HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n')
    expect(out.answers[0]?.status).toBe(400)
    expect(out.answers[0]?.headers['x-request-id']).toBeTruthy()
    expect(out.answers[0]?.headers['content-type']).toBe('application/problem+json; charset=utf-8')
  })

  it('serves a server the app made itself (rp.serve) with the handlers mounted by hand', async () => {
    const b = await build()
    b.app.get('/own', (_req, res) => {
      res.json({ ok: true })
    })
    b.app.use(b.rp.notFound, b.rp.errorHandler)
    const server: Server = createServer(b.app)
    await b.rp.serve(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    open.push(async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await b.rp.close()
    })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    expect(server.requestTimeout).toBe(30_000)
    expect((await fetch(`${url}/own`)).status).toBe(200)
    const missing = await fetch(`${url}/nope`)
    expect(missing.status).toBe(404)
    expect(missing.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
  })
})
