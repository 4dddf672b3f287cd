import Fastify from 'fastify'
import rampart, { bindUser, HttpError } from 'rampart/fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { hangUp, heldHandler } from '../support/hang-up.js'
import { logCapture } from '../support/log-capture.js'

describe('access log', () => {
  const apps: Array<{ close(): Promise<unknown> }> = []
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()))
  })

  /** Fastify with Rampart logging JSON at info into a capture. */
  async function build(options: { service?: string } = {}) {
    const logs = logCapture()
    const app = Fastify()
    apps.push(app)
    await app.register(rampart, {
      ...options,
      logFormat: 'json',
      logLevel: 'info',
      logDestination: logs.stream,
    })
    return { app, logs }
  }

  it('writes one request.completed line with every canonical field', async () => {
    const { app, logs } = await build({ service: 'test' })
    app.get('/items/:id', async () => ({ ok: true }))
    const res = await app.inject({ method: 'GET', url: '/items/7' })
    expect(res.statusCode).toBe(200)
    const access = logs.lines().filter((l) => l.event === 'request.completed')
    expect(access).toHaveLength(1)
    const line = access[0] ?? {}
    expect(line).toMatchObject({
      level: 'info',
      method: 'GET',
      route: '/items/:id',
      status: 200,
      service: 'test',
    })
    expect(typeof line.latency_ms).toBe('number')
    expect(line.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    expect(line.request_id).toBe(res.headers['x-request-id'])
    expect(line).not.toHaveProperty('user_id')
  })

  it('a request refused by a hook that runs before Rampart’s still gets one line and one count', async () => {
    const logs = logCapture()
    const app = Fastify()
    apps.push(app)
    // Registered before Rampart: it runs first, so Rampart's own hook never sees the request and
    // the error handler makes its exchange.
    app.addHook('onRequest', async (request) => {
      if (request.url.startsWith('/items')) throw new HttpError(401)
    })
    await app.register(rampart, {
      logFormat: 'json',
      logLevel: 'info',
      logDestination: logs.stream,
    })
    app.get('/items/:id', async () => ({ ok: true }))
    const res = await app.inject({ method: 'GET', url: '/items/7' })
    expect(res.statusCode).toBe(401)
    const access = logs.lines().filter((l) => l.event === 'request.completed')
    expect(access).toHaveLength(1)
    expect(access[0]).toMatchObject({ status: 401, route: '/items/:id' })
    expect(access[0]?.request_id).toBe(res.headers['x-request-id'])
    const metrics = (await app.inject({ url: '/metrics' })).body
    expect(metrics).toMatch(
      /^http_requests_total\{method="GET",route="\/items\/:id",status="401"\} 1$/m,
    )
  })

  it('a route template with quotes or backslashes still gives a valid JSON line', async () => {
    const { app, logs } = await build()
    app.get('/odd/"quoted"/back\\slash/:id', async () => ({ ok: true }))
    await app.inject({
      url: '/odd/%22quoted%22/back%5Cslash/1',
      headers: { 'x-request-id': 'r:1.a_b-c' },
    })
    const line = logs.lines().find((l) => l.event === 'request.completed')
    expect(line).toMatchObject({
      route: '/odd/"quoted"/back\\slash/:id',
      request_id: 'r:1.a_b-c',
      status: 200,
    })
  })

  it('a client that hangs up mid-request still gets its one line, with status 499', async () => {
    const { app, logs } = await build()
    const slow = heldHandler()
    app.post('/slow/:id', slow.handler)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    await hangUp(
      port,
      'POST /slow/1 HTTP/1.1\r\nHost: x\r\nX-Request-Id: gone-1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
      () => slow.entered === 1,
    )
    await new Promise((r) => setTimeout(r, 50))
    slow.release()
    await new Promise((r) => setTimeout(r, 50))
    const access = logs.lines().filter((l) => l.event === 'request.completed')
    expect(access).toEqual([
      expect.objectContaining({
        request_id: 'gone-1',
        method: 'POST',
        route: '/slow/:id',
        status: 499,
        level: 'info',
      }),
    ])
  })

  it('adds user_id only after bindUser', async () => {
    const { app, logs } = await build()
    app.get('/me', async (request) => {
      request.log.info({ event: 'before.bind' })
      await new Promise((r) => setTimeout(r, 1))
      bindUser('u-42')
      request.log.info({ event: 'after.bind' })
      return {}
    })
    await app.inject({ method: 'GET', url: '/me' })
    const byEvent = Object.fromEntries(logs.lines().map((l) => [l.event, l]))
    expect(byEvent['before.bind']).not.toHaveProperty('user_id')
    expect(byEvent['after.bind']).toMatchObject({ user_id: 'u-42' })
    expect(byEvent['request.completed']).toMatchObject({ user_id: 'u-42' })
  })
})
