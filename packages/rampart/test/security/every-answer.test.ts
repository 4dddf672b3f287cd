import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import rampart, { frameworkErrors } from 'rampart/fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listeningAirlock } from '../support/airlock.js'
import { type LogCapture, logCapture } from '../support/log-capture.js'
import { type RawAnswer, rawExchange } from '../support/raw-http.js'

/**
 * No answer leaves without Rampart: what the HTTP parser, the router, the error handler, the
 * 100-continue logic and a closing server answer, read off raw sockets (no client normalising
 * the bytes), against airlock and a small app.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const PROBLEM_MEMBERS = ['type', 'title', 'status', 'detail', 'instance', 'request_id']

let airlock: Awaited<ReturnType<typeof listeningAirlock>>
let port: number

beforeAll(async () => {
  airlock = await listeningAirlock()
  port = (airlock.app.server.address() as { port: number }).port
}, 60_000)
afterAll(async () => {
  await airlock?.close()
})

function expectProblem(answer: RawAnswer | { body: string; headers: Record<string, unknown> }) {
  expect(String(answer.headers['content-type'])).toMatch(/^application\/problem\+json/)
  const problem = JSON.parse(answer.body) as Record<string, unknown>
  for (const member of PROBLEM_MEMBERS) expect(problem, member).toHaveProperty(member)
  expect(String(problem.detail)).toMatch(/^[A-Z].*\.$/)
  expect(String(problem.instance)).not.toContain('?')
  expect(problem.request_id).toBe(answer.headers['x-request-id'])
  return problem
}

const accessLine = (logs: LogCapture, requestId: string) =>
  logs.lines().filter((l) => l.request_id === requestId && typeof l.latency_ms === 'number')

async function metricsText(app: FastifyInstance): Promise<string> {
  return (await app.inject({ url: '/metrics' })).body
}

/** The sum of the series of `name` whose labels include `labels`. */
function counter(text: string, name: string, labels: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)
}

describe('answers of the HTTP parser', () => {
  const cases: Array<[string, string, number]> = [
    ['invalid header bytes', 'GET / HTTP/1.1\r\nHost: a\r\nX-Bad\x01Name: 1\r\n\r\n', 400],
    ['a lower-case method', 'get / HTTP/1.1\r\nHost: a\r\n\r\n', 400],
    [
      'Content-Length with Transfer-Encoding',
      'POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
    ],
    [
      'a header block over 16 KiB',
      `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
    ],
  ]
  for (const [name, bytes, status] of cases) {
    it(`${name} → ${status} with a request id, the JSON header set, a problem, an access line, a metric and a security event`, async () => {
      const before = await metricsText(airlock.app)
      const { answers } = await rawExchange(port, bytes)
      expect(answers).toHaveLength(1)
      const answer = answers[0] as RawAnswer
      expect(answer.status).toBe(status)
      expect(answer.headers['x-request-id']).toMatch(UUID)
      expect(answer.headers['x-content-type-options']).toBe('nosniff')
      expect(answer.headers['x-frame-options']).toBe('DENY')
      expect(answer.headers['content-security-policy']).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      )
      expect(answer.headers['cache-control']).toBe('no-store')
      expectProblem(answer)
      const requestId = answer.headers['x-request-id'] as string
      const lines = accessLine(airlock.logs, requestId)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatchObject({ status, route: 'unmatched' })
      const after = await metricsText(airlock.app)
      const series = `route="unmatched",status="${status}"`
      expect(counter(after, 'http_requests_total', series)).toBe(
        counter(before, 'http_requests_total', series) + 1,
      )
      expect(
        airlock.logs
          .lines()
          .filter((l) => l.event === 'security.malformed_request' && l.request_id === requestId),
      ).toHaveLength(1)
    })
  }
})

describe('answers of the router and the error handler', () => {
  it('a malformed percent-encoding: our problem, header set, access line and metric, no echo', async () => {
    const before = await metricsText(airlock.app)
    const { answers } = await rawExchange(
      port,
      'GET /requests/%ZZ<b> HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    )
    const answer = answers[0] as RawAnswer
    expect(answer.status).toBe(400)
    expect(answer.headers['x-content-type-options']).toBe('nosniff')
    expect(answer.headers.vary).toBe('Accept')
    const problem = expectProblem(answer)
    expect(answer.body).not.toContain('%ZZ')
    expect(problem.instance).toBe(`urn:rampart:request:${problem.request_id}`)
    expect(accessLine(airlock.logs, String(problem.request_id))).toHaveLength(1)
    const series = 'route="unmatched",status="400"'
    expect(counter(await metricsText(airlock.app), 'http_requests_total', series)).toBe(
      counter(before, 'http_requests_total', series) + 1,
    )
  })

  it('framework (415) and handler (401) errors carry the six problem members; instance has no query', async () => {
    const framework = await airlock.app.inject({
      method: 'POST',
      url: '/api/v1/tokens?secret=1',
      headers: { 'content-type': 'text/x-unknown' },
      payload: 'x',
    })
    expect(framework.statusCode).toBe(415)
    expect(expectProblem(framework).instance).toBe('/api/v1/tokens')
    const handler = await airlock.app.inject({ url: '/api/v1/requests?cursor=2' })
    expect(handler.statusCode).toBe(401)
    expect(expectProblem(handler).instance).toBe('/api/v1/requests')
  })

  it('a missing frameworkErrors option is named once at start-up; airlock, which passes it, gets no such line', async () => {
    const logs = logCapture()
    const bare = Fastify()
    await bare.register(rampart, { logDestination: logs.stream, shutdown: { signals: false } })
    await bare.ready()
    await bare.close()
    expect(logs.lines().filter((l) => l.event === 'setup.framework_errors_unset')).toHaveLength(1)
    expect(airlock.logs.lines().some((l) => l.event === 'setup.framework_errors_unset')).toBe(false)
  })

  it('Vary: Accept on HTML and JSON 404s', async () => {
    const html = await airlock.app.inject({ url: '/nope', headers: { accept: 'text/html' } })
    expect(html.headers['content-type']).toMatch(/^text\/html/)
    expect(html.headers.vary).toBe('Accept')
    const json = await airlock.app.inject({ url: '/nope' })
    expect(json.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(json.headers.vary).toBe('Accept')
    // The not-found handler's error carries no detail of its own: the problem still has one.
    expect(expectProblem(json).detail).toBe('There is nothing at this address.')
  })

  it('an unrouted method on a known path is a 404, not a CSRF 403', async () => {
    const res = await airlock.app.inject({
      method: 'DELETE',
      url: '/login',
      headers: { cookie: 'airlock_session=x', 'sec-fetch-site': 'cross-site' },
    })
    expect(res.statusCode).toBe(404)
  })
})

describe('login CSRF and personalised answers', () => {
  const login = (headers: Record<string, string>) =>
    airlock.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: 'username=researcher&password=airlock-demo',
    })

  it('a cross-site login POST is refused and sets no cookie; a same-origin one signs in', async () => {
    const cross = await login({ 'sec-fetch-site': 'cross-site', origin: 'https://evil.test' })
    expect(cross.statusCode).toBe(403)
    expect(cross.headers['set-cookie']).toBeUndefined()
    const foreign = await login({ origin: 'https://evil.test', host: 'airlock.test' })
    expect(foreign.statusCode).toBe(403)
    const own = await login({ 'sec-fetch-site': 'same-origin' })
    expect(own.statusCode).toBe(303)
    expect(own.headers['set-cookie']).toBeDefined()
    expect(own.headers['cache-control']).toBe('no-store')
  })

  it('a bearer-only API call stays exempt', async () => {
    const token = await airlock.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { 'content-type': 'application/json', authorization: 'Basic eDp5' },
      payload: { username: 'researcher', password: 'airlock-demo' },
    })
    // Whatever the token endpoint says, it is not the CSRF protection refusing it.
    expect(token.statusCode).not.toBe(403)
  })

  it('a signed-in page is Cache-Control: no-store', async () => {
    const own = await login({ 'sec-fetch-site': 'same-origin' })
    const cookie = String(own.headers['set-cookie']).split(';')[0] as string
    const page = await airlock.app.inject({ url: '/requests', headers: { cookie } })
    expect(page.statusCode).toBe(200)
    expect(page.headers['cache-control']).toBe('no-store')
    // The sign-in page carries a CSRF token: not cached either.
    const anonymous = await airlock.app.inject({ url: '/login' })
    expect(anonymous.headers['cache-control']).toBe('no-store')
    // A route that opts out keeps its own caching, signed in or not.
    const css = await airlock.app.inject({ url: '/static/airlock.css', headers: { cookie } })
    expect(css.headers['cache-control']).toBe('public, max-age=3600')
  })
})

describe('Expect: 100-continue', () => {
  it('600 MiB declared on an upload → 413 and no 100 Continue', async () => {
    const { interim, answers } = await rawExchange(
      port,
      'POST /requests/x/files HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=b\r\n' +
        `Content-Length: ${600 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`,
    )
    expect(interim).toEqual([])
    expect(answers[0]?.status).toBe(413)
    expectProblem(answers[0] as RawAnswer)
  })

  it('a body within the limit gets its 100 Continue when it is read', async () => {
    const body = 'username=x&password=y'
    const { interim, answers } = await rawExchange(
      port,
      'POST /login HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
        `Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n${body}`,
    )
    expect(interim.map((a) => a.status)).toEqual([100])
    expect(answers[0]?.status).toBe(401)
  })
})

describe('failures after the headers were sent, and answers while closing', () => {
  let app: FastifyInstance
  let logs: LogCapture
  let appPort: number
  beforeAll(async () => {
    logs = logCapture()
    app = Fastify({ frameworkErrors })
    await app.register(rampart, {
      logDestination: logs.stream,
      logLevel: 'info',
      shutdown: { signals: false },
    })
    app.get('/stream', async (_request, reply) => {
      const body = new Readable({ read() {} })
      body.push('first chunk ')
      setTimeout(() => body.destroy(new Error('the source failed')), 100)
      return reply.type('text/plain').send(body)
    })
    app.get('/half', async (_request, reply) => {
      reply.raw.writeHead(200, { 'content-type': 'text/plain' })
      reply.raw.write('half a body')
      await new Promise((r) => setTimeout(r, 50))
      throw new Error('failed after writing')
    })
    app.get('/slow', async () => {
      await new Promise((r) => setTimeout(r, 400))
      return { ok: true }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    appPort = (app.server.address() as { port: number }).port
  })
  afterAll(async () => {
    await app.close().catch(() => {})
  })

  /** Reads `path` until the server cuts it off; its access line and RED count are a 500. */
  async function expectCountedAs500(path: string) {
    const { text } = await rawExchange(appPort, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`, {
      closeAfterMs: 3000,
    })
    expect(text).toContain('HTTP/1.1 200')
    await new Promise((r) => setTimeout(r, 50))
    const line = logs.lines().find((l) => l.route === path && typeof l.latency_ms === 'number')
    expect(line).toMatchObject({ status: 500, level: 'error' })
    const failed = logs.lines().find((l) => l.event === 'request.failed' && l.route === path)
    expect(failed?.level).toBe('error')
    const metrics = await metricsText(app)
    expect(counter(metrics, 'http_requests_total', `route="${path}",status="500"`)).toBe(1)
    expect(metrics).not.toContain('status="499"')
  }

  it('a stream that fails mid-body is an error line and a 500 in the metrics, never a 499', async () => {
    await expectCountedAs500('/stream')
  })

  it('a handler that throws after writing its headers: an error line and a 500, never a 499', async () => {
    await expectCountedAs500('/half')
    expect((await app.inject({ url: '/metrics' })).headers.vary).toBe('Accept')
  })

  it('a request arriving while the server closes gets our 503', async () => {
    const exchange = rawExchange(appPort, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n', {
      answers: 2,
      later: { afterMs: 250, bytes: 'GET /slow HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n\r\n' },
    })
    await new Promise((r) => setTimeout(r, 150))
    const closed = app.close()
    const { answers } = await exchange
    await closed
    expect(answers.map((a) => a.status)).toEqual([200, 503])
    const refused = answers[1] as RawAnswer
    expect(refused.headers['x-request-id']).toMatch(UUID)
    expect(refused.headers['content-type']).toMatch(/^text\/html/)
    expect(refused.headers['x-content-type-options']).toBe('nosniff')
    expect(refused.headers['cross-origin-opener-policy']).toBe('same-origin')
    expect(accessLine(logs, refused.headers['x-request-id'] as string)).toMatchObject([
      { status: 503, route: 'unmatched' },
    ])
  })
})

describe('answers during the drain that follows a signal', () => {
  it('a request arriving while in-flight requests drain gets our 503, not Fastify’s bare one', async () => {
    const logs = logCapture()
    const app = Fastify({ frameworkErrors })
    await app.register(rampart, {
      logDestination: logs.stream,
      logLevel: 'info',
      // SIGUSR2 stands in for SIGTERM; the drain waits for /slow while the next request comes.
      shutdown: { signals: ['SIGUSR2'], exit: false, preStopDelayMs: 0, drainTimeoutMs: 5000 },
    })
    app.get('/slow', async () => {
      await new Promise((r) => setTimeout(r, 400))
      return { ok: true }
    })
    let markClosed: () => void = () => {}
    const closed = new Promise<void>((resolve) => {
      markClosed = resolve
    })
    app.addHook('onClose', (_instance, done) => {
      markClosed()
      done()
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const port = (app.server.address() as { port: number }).port
    const exchange = rawExchange(port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n', {
      answers: 2,
      later: { afterMs: 250, bytes: 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n' },
    })
    await new Promise((r) => setTimeout(r, 150))
    process.emit('SIGUSR2', 'SIGUSR2')
    const { answers } = await exchange
    await closed
    expect(answers.map((a) => a.status)).toEqual([200, 503])
    const refused = answers[1] as RawAnswer
    expect(refused.headers['x-request-id']).toMatch(UUID)
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(refused.headers['x-content-type-options']).toBe('nosniff')
    expect(accessLine(logs, refused.headers['x-request-id'] as string)).toMatchObject([
      { status: 503, route: 'unmatched' },
    ])
    // Refusals while closing are not failures of the request: no error line each.
    expect(logs.lines().filter((l) => l.event === 'request.failed')).toEqual([])
  })
})
