import { connect } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import rampart, { type RampartFastifyOptions } from 'rampart/fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { hangUp, heldHandler } from '../support/hang-up.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

async function build(options: RampartFastifyOptions = {}) {
  const app = Fastify()
  apps.push(app)
  await app.register(rampart, { logLevel: 'silent', logFormat: 'json', ...options })
  app.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }))
  app.post('/items', async (_request, reply) => reply.code(201).send({}))
  app.get('/fail', async () => {
    throw new Error('nope')
  })
  return app
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

function seriesCount(text: string, name: string): number {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`)).length
}

describe('RED metrics', () => {
  it('count exactly the requests sent, by route template, and in-flight is 0 at rest', async () => {
    const app = await build()
    for (let i = 0; i < 37; i++) await app.inject({ url: `/items/${i}` })
    for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/items', payload: {} })
    await app.inject({ url: '/fail' })
    await app.inject({ url: '/healthz' })
    // The router decodes these to /healthz and /metrics: still Rampart's own, still not counted.
    await app.inject({ url: '/%68ealthz' })
    await app.inject({ url: '/%6Detrics' })
    const res = await app.inject({ url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/plain')
    const text = res.body
    expect(sample(text, 'http_requests_total{method="GET",route="/items/:id",status="200"}')).toBe(
      37,
    )
    expect(
      sample(
        text,
        'http_request_duration_seconds_count{method="GET",route="/items/:id",status="200"}',
      ),
    ).toBe(37)
    expect(
      sample(
        text,
        'http_request_duration_seconds_bucket{le="10",method="GET",route="/items/:id",status="200"}',
      ),
    ).toBe(37)
    expect(sample(text, 'http_requests_total{method="POST",route="/items",status="201"}')).toBe(3)
    expect(sample(text, 'http_requests_total{method="GET",route="/fail",status="500"}')).toBe(1)
    expect(sample(text, 'http_requests_in_flight')).toBe(0)
    // Rampart's own endpoints are not request metrics.
    expect(text).not.toContain('route="/healthz"')
    expect(text).not.toContain('route="/metrics"')
    // Default process metrics are there.
    expect(text).toContain('process_cpu_user_seconds_total')
    expect(text).toContain('nodejs_eventloop_lag_seconds')
  })

  it('in-flight returns to 0 when clients go away mid-request, with or without having sent their body', async () => {
    const app = await build()
    const slow = heldHandler()
    app.post('/slow', slow.handler)
    app.get('/slow', slow.handler)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    // Hang up once the handler is running (the body, if any, was read in full).
    await hangUp(
      port,
      'POST /slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
      () => slow.entered === 1,
    )
    await hangUp(port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n', () => slow.entered === 2)
    slow.release()
    await new Promise((r) => setTimeout(r, 100))
    const text = (await app.inject({ url: '/metrics' })).body
    expect(slow.entered).toBe(2)
    expect(sample(text, 'http_requests_in_flight')).toBe(0)
  })

  it('hostile paths and methods add at most a fixed number of series', async () => {
    const app = await build()
    for (let i = 0; i < 10_000; i++) {
      await app.inject({ url: `/${Math.random().toString(36).slice(2)}/${i}?q=${i}` })
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    // Methods llhttp accepts but Fastify has no route for, and methods nobody has heard of.
    const known = [
      'PROPFIND',
      'MKCOL',
      'LOCK',
      'UNLOCK',
      'SEARCH',
      'PURGE',
      'REPORT',
      'MOVE',
      'COPY',
      'LINK',
    ]
    const methods = Array.from({ length: 1000 }, (_, i) =>
      i % 2 === 0 ? (known[i % known.length] as string) : `X${i.toString(36).toUpperCase()}METHOD`,
    )
    await new Promise<void>((resolve, reject) => {
      let pending = methods.length
      for (const m of methods) {
        const s = connect(port, '127.0.0.1', () =>
          s.end(`${m} /items/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
        )
        s.on('data', () => {})
        s.on('error', reject)
        s.on('close', () => {
          pending--
          if (pending === 0) resolve()
        })
      }
    })
    const text = (await app.inject({ url: '/metrics' })).body
    // unmatched × {GET} × {404}, OTHER × unmatched × {404} and the parser's refusals,
    // OTHER × unmatched × {400}: three series, however many paths and methods.
    expect(seriesCount(text, 'http_requests_total')).toBeLessThanOrEqual(3)
    expect(sample(text, 'http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(
      10_000,
    )
    expect(text).not.toMatch(/method="(PROPFIND|X[0-9A-Z]+METHOD)"/)
    // The 500 WebDAV-style requests reached the app and were counted under OTHER; the 500
    // invented ones were refused by Node's HTTP parser, answered by Rampart and counted as 400s.
    expect(sample(text, 'http_requests_total{method="OTHER",route="unmatched",status="404"}')).toBe(
      500,
    )
    expect(sample(text, 'http_requests_total{method="OTHER",route="unmatched",status="400"}')).toBe(
      500,
    )
    // The duration histogram holds the same label sets, not one per path or method.
    expect(seriesCount(text, 'http_request_duration_seconds_count')).toBeLessThanOrEqual(3)
  })
})

describe('/metrics access', () => {
  it('METRICS_ENABLED=false makes it a 404', async () => {
    const app = await build({ metrics: { enabled: false } })
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(404)
  })

  it('with a token: 401 without or with a wrong one, 200 with the right one', async () => {
    const token = 'metrics-token-0123456789'
    const app = await build({ metrics: { token } })
    const none = await app.inject({ url: '/metrics' })
    expect(none.statusCode).toBe(401)
    expect(none.headers['www-authenticate']).toContain('Bearer')
    expect(none.body).not.toContain('http_requests_total')
    expect(
      (await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } }))
        .statusCode,
    ).toBe(401)
    expect(
      (await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}x` } }))
        .statusCode,
    ).toBe(401)
    expect(
      (await app.inject({ url: '/metrics', headers: { authorization: `Basic ${token}` } }))
        .statusCode,
    ).toBe(401)
    const ok = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })
    expect(ok.statusCode).toBe(200)
    expect(ok.body).toContain('http_requests_in_flight')
  })

  it('answers OpenMetrics when the scraper asks for it', async () => {
    const app = await build()
    await app.inject({ url: '/items/1' })
    const res = await app.inject({
      url: '/metrics',
      headers: {
        accept: 'application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5',
      },
    })
    expect(res.headers['content-type']).toContain('application/openmetrics-text')
    expect(res.body.trimEnd().endsWith('# EOF')).toBe(true)
  })
})

describe('exemplars', () => {
  it('carry trace_id on the duration histogram for OpenMetrics scrapers only', async () => {
    const app = await build()
    const traceId = '0af7651916cd43dd8448eb211c80319c'
    // What the tracing capability does for a traced request.
    app.addHook('onRequest', (request, _reply, done) => {
      if (request.url.startsWith('/items/')) request.rampartContext.traceId = traceId
      done()
    })
    await app.inject({ url: '/items/1' })
    const om = await app.inject({
      url: '/metrics',
      headers: { accept: 'application/openmetrics-text' },
    })
    // The exemplar sits on the bucket the observation fell into.
    const withExemplar = om.body
      .split('\n')
      .filter(
        (l) =>
          l.startsWith('http_request_duration_seconds_bucket{') &&
          l.includes('route="/items/:id"') &&
          l.includes(' # {'),
      )
    expect(withExemplar).toHaveLength(1)
    expect(withExemplar[0]).toMatch(new RegExp(`# \\{trace_id="${traceId}"\\} [0-9.e-]+ [0-9.]+$`))
    const text = await app.inject({ url: '/metrics' })
    expect(text.body).not.toContain('trace_id')
    expect(text.body).toContain(
      'http_request_duration_seconds_count{method="GET",route="/items/:id",status="200"} 1',
    )
  })
})
