import { mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { defineConfig } from '../../src/slo/options.js'
import { hangUp } from '../support/hang-up.js'
import { type RawAnswer, rawExchange } from '../support/raw-http.js'
import { adapters, type ConformanceOptions, type Running } from './adapters.js'
import { conformanceApp, SECRET_KEY, SECRET_MESSAGE, SESSION, SESSION_COOKIE } from './app.js'

/**
 * One suite, every capability at the HTTP level, run on each adapter against the same app
 * (`app.ts`). A capability that holds on one framework and not the other fails here.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const PROBLEM_MEMBERS = ['type', 'title', 'status', 'detail', 'instance', 'request_id']
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
const COOKIE = `theme=dark; ${SESSION_COOKIE}=${SESSION}`
const METRICS_TOKEN = 'metrics-token-0123456789'
const CONSOLE_TOKEN = 'console-token-0123456789'
const AUDIT_KEY = 'k'.repeat(40)
const MiB = 1024 * 1024

const tmp = mkdtempSync(join(tmpdir(), 'rampart-conformance-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let dbs = 0

/** What the suite's apps run with, unless a test says otherwise. */
function defaults(): ConformanceOptions & { auditFile: string } {
  const auditFile = join(tmp, `audit-${dbs++}.db`)
  return {
    auditFile,
    secretKey: SECRET_KEY,
    dataDir: tmp,
    maxBodyKb: 8,
    maxUploadMb: 1,
    console: { enabled: true },
    csrf: { sessionCookie: SESSION_COOKIE, allowedOrigins: ['https://admin.example.com'] },
    audit: { db: `sqlite:${auditFile}`, key: AUDIT_KEY, busyTimeoutMs: 50 },
  }
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const headersOf = (res: Response): Record<string, string> => Object.fromEntries(res.headers)

async function expectProblem(res: Response, status: number): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  expect(res.headers.get('vary')).toMatch(/Accept/)
  const problem = (await res.json()) as Record<string, unknown>
  for (const member of PROBLEM_MEMBERS) expect(problem, member).toHaveProperty(member)
  expect(problem.status).toBe(status)
  // A 500's detail outside production is the error's message (checked in its own test).
  if (status !== 500) expect(String(problem.detail)).toMatch(/^[A-Z].*\.$/)
  expect(String(problem.instance)).not.toContain('?')
  expect(problem.request_id).toBe(res.headers.get('x-request-id'))
  return problem
}

/** Sends a request with exactly these headers and body (node:http: no header of its own but Host). */
function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = ''
      res.on('data', (d) => {
        body += d
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(init.body)
  })
}

describe.each(adapters)('conformance on $name', ({ build }) => {
  let app: Running | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  let auditFile = ''
  async function begin(options: ConformanceOptions = {}): Promise<Running> {
    const { auditFile: file, ...base } = defaults()
    auditFile = file
    app = await build(conformanceApp, { ...base, ...options })
    return app
  }
  const url = (path: string) => `${app?.url}${path}`
  const metrics = async (headers: Record<string, string> = {}) =>
    (await fetch(url('/metrics'), { headers })).text()
  const access = (t: Running) => t.logs.lines().filter((l) => l.event === 'request.completed')

  // ---- request context and the access line -------------------------------------------------

  describe('request id and access line', () => {
    it('one request.completed line per request with every canonical field and the response’s request id', async () => {
      const t = await begin()
      const res = await fetch(url('/items/7'))
      expect(res.status).toBe(200)
      expect(res.headers.get('x-request-id')).toMatch(UUID)
      const lines = access(t)
      expect(lines).toHaveLength(1)
      const line = lines[0] ?? {}
      expect(line).toMatchObject({
        level: 'info',
        method: 'GET',
        route: '/items/:id',
        status: 200,
        service: 'conformance',
        request_id: res.headers.get('x-request-id'),
      })
      expect(typeof line.latency_ms).toBe('number')
      expect(line.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
      expect(line).not.toHaveProperty('user_id')
    })

    it('a well-formed incoming X-Request-Id is kept; a hostile one is replaced', async () => {
      const t = await begin()
      const kept = await fetch(url('/items/1'), { headers: { 'x-request-id': 'r:1.a_b-c' } })
      expect(kept.headers.get('x-request-id')).toBe('r:1.a_b-c')
      const hostile = await fetch(url('/items/2'), { headers: { 'x-request-id': 'a b<script>' } })
      expect(hostile.headers.get('x-request-id')).toMatch(UUID)
      expect(access(t).map((l) => l.request_id)).toEqual([
        'r:1.a_b-c',
        hostile.headers.get('x-request-id'),
      ])
    })

    it('bindUser in a handler puts user_id on the access line', async () => {
      const t = await begin()
      expect((await fetch(url('/me'))).status).toBe(200)
      expect(access(t)[0]).toMatchObject({ route: '/me', user_id: 'u-42' })
    })

    it('a client that hangs up mid-request still gets its one line, with status 499', async () => {
      const t = await begin()
      await hangUp(
        t.port,
        'POST /held/1 HTTP/1.1\r\nHost: x\r\nX-Request-Id: gone-1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
        () => t.state.entered === 1,
      )
      await new Promise((r) => setTimeout(r, 50))
      t.state.release()
      await new Promise((r) => setTimeout(r, 100))
      expect(access(t)).toEqual([
        expect.objectContaining({
          request_id: 'gone-1',
          method: 'POST',
          route: '/held/:id',
          status: 499,
        }),
      ])
      expect(sample(await metrics(), 'http_requests_in_flight')).toBe(0)
    })

    it('a handler failing after its headers went out: an error line and a 500 in the metrics, never a 499', async () => {
      const t = await begin()
      const { text } = await rawExchange(t.port, 'GET /half HTTP/1.1\r\nHost: a\r\n\r\n', {
        closeAfterMs: 3000,
      })
      expect(text).toContain('HTTP/1.1 200')
      await new Promise((r) => setTimeout(r, 50))
      expect(access(t)).toEqual([
        expect.objectContaining({ route: '/half', status: 500, level: 'error' }),
      ])
      const failed = t.logs.lines().find((l) => l.event === 'request.failed' && l.route === '/half')
      expect(failed?.level).toBe('error')
      const text2 = await metrics()
      expect(sample(text2, 'http_requests_total{method="GET",route="/half",status="500"}')).toBe(1)
      expect(text2).not.toContain('status="499"')
    })
  })

  // ---- RED metrics --------------------------------------------------------------------------

  describe('RED metrics', () => {
    it('count exactly the requests sent, by route template; unmatched is one route; internal paths are not counted', async () => {
      await begin()
      for (let i = 0; i < 7; i++) expect((await fetch(url(`/items/${i}?q=${i}`))).status).toBe(200)
      for (let i = 0; i < 3; i++) {
        const res = await fetch(url('/items'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"a":1}',
        })
        expect(res.status).toBe(201)
      }
      expect((await fetch(url('/boom'))).status).toBe(500)
      for (const path of ['/nowhere/1', '/nowhere/2', '/x'])
        expect((await fetch(url(path))).status).toBe(404)
      await fetch(url('/healthz'))
      await fetch(url('/readyz'))
      await fetch(url('/%68ealthz'))
      await fetch(url('/_rampart/api/summary'))
      await fetch(url('/metrics'))
      // A method nobody routes is one label, not one series per method.
      for (const method of ['PROPFIND', 'PURGE'])
        expect((await send(url('/items/1'), { method })).status).toBe(404)
      const text = await metrics()
      expect(
        sample(text, 'http_requests_total{method="GET",route="/items/:id",status="200"}'),
      ).toBe(7)
      expect(
        sample(text, 'http_requests_total{method="OTHER",route="unmatched",status="404"}'),
      ).toBe(2)
      expect(
        sample(
          text,
          'http_request_duration_seconds_count{method="GET",route="/items/:id",status="200"}',
        ),
      ).toBe(7)
      expect(
        sample(
          text,
          'http_request_duration_seconds_bucket{le="10",method="GET",route="/items/:id",status="200"}',
        ),
      ).toBe(7)
      expect(sample(text, 'http_requests_total{method="POST",route="/items",status="201"}')).toBe(3)
      expect(sample(text, 'http_requests_total{method="GET",route="/boom",status="500"}')).toBe(1)
      expect(sample(text, 'http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(
        3,
      )
      expect(sample(text, 'http_requests_in_flight')).toBe(0)
      // Exactly these five series: nothing for /healthz, /readyz, /metrics or the console.
      expect(text.split('\n').filter((l) => l.startsWith('http_requests_total{'))).toHaveLength(5)
      expect(text).not.toMatch(/route="\/(healthz|readyz|metrics|_rampart)/)
      expect(text).toContain('process_cpu_user_seconds_total')
    })

    it('/metrics with a token: 401 with WWW-Authenticate Bearer without or with a wrong one, 200 with it', async () => {
      await begin({ metrics: { token: METRICS_TOKEN } })
      const none = await fetch(url('/metrics'))
      expect(none.status).toBe(401)
      expect(none.headers.get('www-authenticate')).toContain('Bearer')
      expect(await none.text()).not.toContain('http_requests_total')
      for (const authorization of [
        'Bearer wrong',
        `Bearer ${METRICS_TOKEN}x`,
        `Basic ${METRICS_TOKEN}`,
      ])
        expect((await fetch(url('/metrics'), { headers: { authorization } })).status).toBe(401)
      const ok = await fetch(url('/metrics'), {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      })
      expect(ok.status).toBe(200)
      expect(await ok.text()).toContain('http_requests_in_flight')
    })

    it('answers OpenMetrics when the scraper asks for it', async () => {
      await begin()
      await fetch(url('/items/1'))
      const res = await fetch(url('/metrics'), {
        headers: {
          accept: 'application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5',
        },
      })
      expect(res.headers.get('content-type')).toContain('application/openmetrics-text')
      expect((await res.text()).trimEnd().endsWith('# EOF')).toBe(true)
    })
  })

  // ---- CSRF ---------------------------------------------------------------------------------

  describe('CSRF', () => {
    const form = (body: string, headers: Record<string, string> = {}, path = '/transfer') =>
      send(url(path), {
        method: 'POST',
        headers: {
          cookie: COOKIE,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          ...headers,
        },
        body,
      })
    const token = async (cookie = COOKIE) =>
      ((await (await fetch(url('/token'), { headers: { cookie } })).json()) as { token: string })
        .token

    it('a form POST with the session cookie and no token is a 403 problem, logged once and counted', async () => {
      const t = await begin()
      const res = await form('amount=10')
      expect(res.status).toBe(403)
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(t.state.handled).toBe(0)
      const line = t.logs.lines().find((l) => l.event === 'security.csrf_blocked')
      expect(line).toMatchObject({
        level: 'warn',
        reason: 'missing',
        route: '/transfer',
        method: 'POST',
        request_id: res.headers['x-request-id'],
      })
      expect(JSON.stringify(line)).not.toContain(SESSION)
      const text = await metrics()
      expect(text).toContain('rampart_csrf_blocks_total{reason="missing"} 1')
      expect(text).toContain('rampart_security_events_total{kind="csrf_blocked"} 1')
      expect(t.logs.lines().filter((l) => String(l.event).startsWith('security.'))).toHaveLength(1)
      const page = await form('amount=10', { accept: 'text/html' })
      expect(page.status).toBe(403)
      expect(page.headers['content-type']).toMatch(/^text\/html/)
    })

    it('a valid token passes: in the form field, in X-CSRF-Token, in a JSON body', async () => {
      const t = await begin()
      const html = await (await fetch(url('/form'), { headers: { cookie: COOKIE } })).text()
      const field = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1] ?? ''
      expect((await form(`amount=10&csrf_token=${encodeURIComponent(field)}`)).status).toBe(200)
      const good = await token()
      expect((await form('amount=10', { 'x-csrf-token': good })).status).toBe(200)
      const json = await send(url('/transfer'), {
        method: 'POST',
        headers: { cookie: COOKIE, 'content-type': 'application/json' },
        body: JSON.stringify({ amount: 10, csrf_token: good }),
      })
      expect(json.status).toBe(200)
      expect(t.state.handled).toBe(3)
    })

    it('PUT, PATCH and DELETE are checked too', async () => {
      await begin()
      const good = await token()
      for (const method of ['PUT', 'PATCH', 'DELETE']) {
        expect(
          (await send(url('/transfer'), { method, headers: { cookie: COOKIE } })).status,
          method,
        ).toBe(403)
        const ok = await send(url('/transfer'), {
          method,
          headers: { cookie: COOKIE, 'x-csrf-token': good },
        })
        expect(ok.status, method).toBe(200)
      }
    })

    it('another session’s, tampered, too long, empty and repeated tokens are 403s with their reason', async () => {
      const t = await begin()
      const other = await token(`${SESSION_COOKIE}=someone-else`)
      const good = await token()
      const tampered = `${good.slice(0, -1)}${good.at(-1) === 'A' ? 'B' : 'A'}`
      const cases: Array<[string, string, string]> = [
        ['another session', `csrf_token=${other}`, 'invalid'],
        ['tampered', `csrf_token=${tampered}`, 'invalid'],
        ['too long', `csrf_token=${good}A`, 'malformed'],
        ['empty', 'csrf_token=', 'missing'],
        ['repeated', `csrf_token=${good}&csrf_token=${good}`, 'malformed'],
      ]
      for (const [name, body] of cases)
        expect((await form(`amount=1&${body}`)).status, name).toBe(403)
      expect(
        t.logs
          .lines()
          .filter((l) => l.event === 'security.csrf_blocked')
          .map((l) => l.reason),
      ).toEqual(cases.map((c) => c[2]))
      expect(t.state.handled).toBe(0)
      // A token issued before sign-in does not satisfy the new session.
      const before = await token(`${SESSION_COOKIE}=before-login`)
      expect(
        (await form(`csrf_token=${before}`, { cookie: `${SESSION_COOKIE}=after-login` })).status,
      ).toBe(403)
    })

    it('Sec-Fetch-Site cross-site or same-site, or a foreign Origin, is refused even with a valid token', async () => {
      const t = await begin()
      const good = await token()
      for (const headers of <Array<Record<string, string>>>[
        { 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site' },
        { origin: 'https://evil.example' },
        { origin: 'null' },
      ])
        expect((await form(`csrf_token=${good}`, headers)).status, JSON.stringify(headers)).toBe(
          403,
        )
      for (const headers of <Array<Record<string, string>>>[
        { 'sec-fetch-site': 'same-origin' },
        { 'sec-fetch-site': 'none' },
        { origin: t.url },
        { origin: 'https://admin.example.com' },
      ])
        expect((await form(`csrf_token=${good}`, headers)).status, JSON.stringify(headers)).toBe(
          200,
        )
      const text = await metrics()
      expect(text).toContain('rampart_csrf_blocks_total{reason="cross_site"} 2')
      expect(text).toContain('rampart_csrf_blocks_total{reason="foreign_origin"} 2')
    })

    it('holds whatever the Content-Type, and with none', async () => {
      const t = await begin()
      for (const type of [
        'text/plain',
        'application/json',
        'Application/JSON; charset=utf-8',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
      ]) {
        const body = type.toLowerCase().includes('json') ? '{"amount":1}' : 'amount=1'
        const res = await send(url('/transfer'), {
          method: 'POST',
          headers: { cookie: COOKIE, 'content-type': type },
          body,
        })
        expect(res.status, type).toBe(403)
      }
      const none = await send(url('/transfer'), {
        method: 'POST',
        headers: { cookie: COOKIE },
        body: 'amount=1',
      })
      expect(none.status).toBe(403)
      expect(t.state.handled).toBe(0)
    })

    it('a bearer-only API call needs no token; bearer plus the session cookie does', async () => {
      await begin()
      const headers = { authorization: 'Bearer api-token-1', 'content-type': 'application/json' }
      expect(
        (await send(url('/transfer'), { method: 'POST', headers, body: '{"amount":1}' })).status,
      ).toBe(200)
      const both = await send(url('/transfer'), {
        method: 'POST',
        headers: { ...headers, cookie: COOKIE },
        body: '{"amount":1}',
      })
      expect(both.status).toBe(403)
    })

    it('GET, HEAD and OPTIONS are never blocked; method overrides do not exempt a POST', async () => {
      const t = await begin()
      const hostile = {
        cookie: COOKIE,
        'sec-fetch-site': 'cross-site',
        origin: 'https://evil.example',
      }
      for (const method of ['GET', 'HEAD', 'OPTIONS'])
        expect((await send(url('/transfer'), { method, headers: hostile })).status, method).toBe(
          200,
        )
      const handled = t.state.handled
      for (const headers of <Array<Record<string, string>>>[
        { 'x-http-method-override': 'GET' },
        { 'x-http-method': 'GET' },
      ])
        expect((await form('amount=1', headers)).status).toBe(403)
      expect((await form('amount=1&_method=GET')).status).toBe(403)
      expect((await form('amount=1', {}, '/transfer?_method=GET')).status).toBe(403)
      expect(t.state.handled).toBe(handled)
    })

    it('a route with csrf: false opts out', async () => {
      const t = await begin()
      expect((await form('amount=1', {}, '/webhook')).status).toBe(200)
      expect(t.state.handled).toBe(1)
    })

    it('login CSRF: a cross-site sign-in is refused and sets no cookie; a same-origin one signs in, not cached', async () => {
      const t = await begin()
      const login = (headers: Record<string, string>) =>
        send(url('/login'), {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
            ...headers,
          },
          body: 'username=a&password=right',
        })
      const cross = await login({ 'sec-fetch-site': 'cross-site', origin: 'https://evil.test' })
      expect(cross.status).toBe(403)
      expect(cross.headers['set-cookie']).toBeUndefined()
      expect((await login({ origin: 'https://evil.test' })).status).toBe(403)
      expect(t.state.handled).toBe(0)
      const own = await login({ 'sec-fetch-site': 'same-origin' })
      expect(own.status).toBe(200)
      expect(String(own.headers['set-cookie'])).toContain(`${SESSION_COOKIE}=new-session`)
      expect(own.headers['cache-control']).toBe('no-store')
    })

    it('multipart uploads carry the token in the query; the query is read for multipart only', async () => {
      const t = await begin()
      const good = await token()
      const boundary = '----conformance'
      const body = `--${boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n${good}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--${boundary}--\r\n`
      const headers = {
        cookie: COOKIE,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      }
      expect((await send(url('/upload'), { method: 'POST', headers, body })).status).toBe(403)
      const ok = await send(url(`/upload?csrf_token=${encodeURIComponent(good)}`), {
        method: 'POST',
        headers,
        body,
      })
      expect(ok.status).toBe(200)
      expect(t.state.handled).toBe(1)
      expect(
        (await form('amount=1', {}, `/transfer?csrf_token=${encodeURIComponent(good)}`)).status,
      ).toBe(403)
    })
  })

  // ---- rate limits --------------------------------------------------------------------------

  describe('rate limits', () => {
    it('RateLimit-Policy and RateLimit on every answer; the 11th is a 429 problem with Retry-After, logged and counted', async () => {
      const t = await begin()
      const hit = (user: string, accept = 'application/json') =>
        fetch(url('/limited/1'), { headers: { 'x-user': user, accept } })
      const first = await hit('bob')
      expect(first.headers.get('ratelimit-policy')).toBe('"t10";q=10;w=60')
      expect(first.headers.get('ratelimit')).toBe('"t10";r=9;t=60')
      for (let i = 0; i < 9; i++) expect((await hit('bob')).status).toBe(200)
      const blocked = await hit('bob')
      const problem = await expectProblem(blocked, 429)
      const m = /^"t10";r=0;t=(\d+)$/.exec(String(blocked.headers.get('ratelimit')))
      expect(m).not.toBeNull()
      expect(Number(m?.[1])).toBeGreaterThan(0)
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(Number(m?.[1]))
      expect(problem.detail).toMatch(/Too many requests.*10 per minute.*try again in \d+ second/)
      // Another principal has its own budget; the HTML form of the refusal is a page.
      expect((await hit('carol')).status).toBe(200)
      const page = await hit('bob', HTML)
      expect(page.status).toBe(429)
      expect(page.headers.get('content-type')).toMatch(/^text\/html/)
      expect(page.headers.get('retry-after')).toMatch(/^\d+$/)
      const text = await metrics()
      expect(sample(text, 'rampart_ratelimit_blocks_total{policy="t10",scope="principal"}')).toBe(2)
      const events = t.logs.lines().filter((l) => l.event === 'security.rate_limited')
      expect(events).toHaveLength(2)
      expect(events[0]).toMatchObject({
        level: 'warn',
        policy: 't10',
        scope: 'principal',
        route: '/limited/:id',
      })
    })

    it('anonymous clients are keyed by IP; routes without a policy (absent or false) get no headers and no limit', async () => {
      await begin()
      const codes: number[] = []
      for (let i = 0; i < 12; i++) codes.push((await fetch(url(`/limited/${i}`))).status)
      expect(codes.filter((c) => c === 200)).toHaveLength(10)
      expect(
        sample(await metrics(), 'rampart_ratelimit_blocks_total{policy="t10",scope="ip"}'),
      ).toBe(2)
      for (const path of ['/items/1', '/unlimited'])
        for (let i = 0; i < 12; i++) {
          const res = await fetch(url(path))
          expect(res.status).toBe(200)
          expect(res.headers.has('ratelimit')).toBe(false)
          expect(res.headers.has('ratelimit-policy')).toBe(false)
        }
    })
  })

  // ---- error answers and limits ---------------------------------------------------------------

  describe('problem answers and limits', () => {
    it('a thrown HttpError, a 404 and a thrown Error are problems with all six members, Vary: Accept, no query in instance', async () => {
      await begin()
      const forbidden = await expectProblem(await fetch(url('/forbidden?x=1')), 403)
      expect(forbidden).toMatchObject({
        type: 'about:blank',
        detail: 'Only the owner may do this.',
        instance: '/forbidden',
      })
      const missing = await expectProblem(await fetch(url('/no/such/page?secret=1')), 404)
      expect(missing.instance).toBe('/no/such/page')
      const boom = await fetch(url('/boom'))
      const text = await boom.clone().text()
      await expectProblem(boom, 500)
      expect(text).not.toMatch(/\bat \S+ \(|node_modules|conformance\.test/)
    })

    it('browsers get an HTML page for 403, 404 and 500, self-contained, with the request id', async () => {
      await begin()
      for (const [path, status] of [
        ['/forbidden', 403],
        ['/nowhere', 404],
        ['/boom', 500],
      ] as const) {
        const res = await fetch(url(path), { headers: { accept: HTML } })
        expect(res.status).toBe(status)
        expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
        expect(res.headers.get('vary')).toMatch(/Accept/)
        const body = await res.text()
        expect(body.startsWith('<!doctype html>')).toBe(true)
        expect(body).toContain(`Error ${status}`)
        expect(body).toContain(String(res.headers.get('x-request-id')))
        expect(body).not.toMatch(/<script|<link|src=|href=/i)
      }
    })

    it('in production a 500 shows no message or stack; its request id finds the logged error', async () => {
      const t = await begin({ nodeEnv: 'production', console: { enabled: false } })
      for (const accept of [HTML, 'application/json']) {
        const res = await fetch(url('/boom'), { headers: { accept } })
        expect(res.status).toBe(500)
        const body = await res.text()
        expect(body).not.toContain('db password')
        expect(body).not.toContain('repository.ts')
        const requestId = String(res.headers.get('x-request-id'))
        expect(body).toContain(requestId)
        const logged = t.logs
          .lines()
          .find((l) => l.event === 'request.failed' && l.request_id === requestId)
        expect(logged?.level).toBe('error')
        expect((logged?.err as { message?: string } | undefined)?.message).toBe(SECRET_MESSAGE)
      }
    })

    it('malformed JSON is a 400 problem; JSON nested too deeply is a 400; __proto__ payloads are refused', async () => {
      const t = await begin()
      const post = (body: string) =>
        fetch(url('/items'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
      const bad = await expectProblem(await post('{"a": '), 400)
      expect(bad.detail).toBe('The request body is not valid JSON.')
      const deep = await expectProblem(await post(`${'['.repeat(1000)}${']'.repeat(1000)}`), 400)
      expect(deep.detail).toBe('The JSON body is nested too deeply.')
      expect((await post('{"__proto__":{"polluted":"yes"}}')).status).toBe(400)
      expect(Object.prototype).not.toHaveProperty('polluted')
      expect(t.state.handled).toBe(0)
      expect((await post(JSON.stringify({ text: '['.repeat(1000) }))).status).toBe(201)
    })

    it('a body over MAX_BODY_KB is a 413 problem, with or without Content-Length; a form too', async () => {
      const t = await begin()
      const big = JSON.stringify({ text: 'x'.repeat(9 * 1024) })
      await expectProblem(
        await fetch(url('/items'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: big,
        }),
        413,
      )
      const chunked = await send(url('/items'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        body: big,
      })
      expect(chunked.status).toBe(413)
      const form = await send(url('/items'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `text=${'x'.repeat(9 * 1024)}`,
      })
      expect(form.status).toBe(413)
      expect(t.state.handled).toBe(0)
      // A form within the limit is parsed for the handler.
      const small = await send(url('/items'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1&b=two',
      })
      expect(small.status).toBe(201)
      expect(JSON.parse(small.body)).toEqual({ created: { a: '1', b: 'two' } })
    })

    it('a ZodError thrown by a handler is a 422 with field errors', async () => {
      await begin()
      const res = await fetch(url('/zod'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ title: '', direction: 'sideways' }),
      })
      const problem = await expectProblem(res, 422)
      expect((problem.errors as Array<{ field: string }>).map((e) => e.field).sort()).toEqual([
        'direction',
        'title',
      ])
    })

    it('an upload over MAX_UPLOAD_MB is a 413 problem, streamed or declared; one under it is read', async () => {
      const t = await begin()
      const boundary = '----conformance-upload'
      const part = (bytes: number) =>
        Buffer.concat([
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
          ),
          Buffer.alloc(bytes, 0x61),
          Buffer.from(`\r\n--${boundary}--\r\n`),
        ])
      const type = `multipart/form-data; boundary=${boundary}`
      const small = await send(url('/upload'), {
        method: 'POST',
        headers: { 'content-type': type },
        body: part(1024),
      })
      expect(small.status).toBe(200)
      expect(JSON.parse(small.body).bytes).toBeGreaterThanOrEqual(1024)
      for (const chunked of [false, true]) {
        const res = await send(url('/upload'), {
          method: 'POST',
          headers: {
            'content-type': type,
            accept: 'application/json',
            ...(chunked ? { 'transfer-encoding': 'chunked' } : {}),
          },
          body: part(2 * MiB),
        }).catch((err: unknown) => ({ status: 0, headers: {}, body: String(err) }))
        expect(res.status, chunked ? 'chunked' : 'with a length').toBe(413)
        expect(JSON.parse(res.body)).toMatchObject({ status: 413 })
      }
      expect(t.state.handled).toBe(1)
    })

    it('a malformed request line is answered by Rampart: 400 problem, request id, headers, access line, unmatched metric', async () => {
      const t = await begin()
      const { answers } = await rawExchange(
        t.port,
        'GET / HTTP/1.1\r\nHost: a\r\nX-Bad\x01Name: 1\r\n\r\n',
      )
      expect(answers).toHaveLength(1)
      const answer = answers[0] as RawAnswer
      expect(answer.status).toBe(400)
      expect(answer.headers['x-request-id']).toMatch(UUID)
      expect(answer.headers['x-content-type-options']).toBe('nosniff')
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(JSON.parse(answer.body)).toMatchObject({
        status: 400,
        request_id: answer.headers['x-request-id'],
      })
      expect(access(t)).toEqual([expect.objectContaining({ status: 400, route: 'unmatched' })])
      expect(
        sample(
          await metrics(),
          'http_requests_total{method="OTHER",route="unmatched",status="400"}',
        ) ??
          sample(
            await metrics(),
            'http_requests_total{method="GET",route="unmatched",status="400"}',
          ),
      ).toBe(1)
      expect(t.logs.lines().filter((l) => l.event === 'security.malformed_request')).toHaveLength(1)
    })

    it('4xx answers on a sensitive route are security events', async () => {
      const t = await begin()
      const res = await send(url('/login'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'password=wrong',
      })
      expect(res.status).toBe(401)
      const events = t.logs.lines().filter((l) => String(l.event).startsWith('security.'))
      expect(events.map((l) => [l.event, l.status, l.route])).toEqual([
        ['security.unauthorized', 401, '/login'],
      ])
      expect(await metrics()).toContain('rampart_security_events_total{kind="unauthorized"} 1')
    })
  })

  // ---- security headers and caching ---------------------------------------------------------

  describe('security headers and no-store', () => {
    const DOCUMENT_ONLY = [
      'cross-origin-opener-policy',
      'origin-agent-cluster',
      'x-dns-prefetch-control',
      'x-download-options',
      'x-permitted-cross-domain-policies',
      'x-xss-protection',
    ]
    const expectAny = (h: Record<string, string>) => {
      expect(h['x-content-type-options']).toBe('nosniff')
      expect(h['x-frame-options']).toBe('DENY')
      expect(h['referrer-policy']).toBe('no-referrer')
      expect(h['cross-origin-resource-policy']).toBe('same-origin')
      expect(h['strict-transport-security']).toBeUndefined()
      // No framework banner (the smoke check refuses one).
      expect(h['x-powered-by']).toBeUndefined()
    }
    const expectPage = (h: Record<string, string>, what: string) => {
      expectAny(h)
      const csp = String(h['content-security-policy'])
      expect(csp, what).toContain("default-src 'self'")
      expect(csp).toContain("frame-ancestors 'none'")
      expect(csp).not.toContain('unsafe-inline')
      for (const name of DOCUMENT_ONLY) expect(h[name], `${what}: ${name}`).toBeDefined()
    }
    const expectJson = (h: Record<string, string>, what: string) => {
      expectAny(h)
      expect(h['content-security-policy'], what).toBe("default-src 'none'; frame-ancestors 'none'")
      for (const name of DOCUMENT_ONLY) expect(h[name], `${what}: ${name}`).toBeUndefined()
    }

    it('JSON answers get the API set, pages the document set: handlers, errors, 404s and Rampart’s own', async () => {
      await begin()
      for (const [path, accept, expected] of [
        ['/page', undefined, expectPage],
        ['/items/1', undefined, expectJson],
        ['/forbidden', HTML, expectPage],
        ['/forbidden', 'application/json', expectJson],
        ['/nowhere', HTML, expectPage],
        ['/nowhere', undefined, expectJson],
        ['/healthz', undefined, expectJson],
        ['/metrics', undefined, expectPage],
      ] as const) {
        const res = await fetch(url(path), { headers: accept ? { accept } : {} })
        expected(headersOf(res), `${path} ${accept ?? ''}`)
      }
    })

    it('a route’s helmet config adjusts them; a header the handler set is kept', async () => {
      await begin()
      const embed = headersOf(await fetch(url('/embed')))
      expect(embed['x-frame-options']).toBeUndefined()
      expect(embed['x-content-type-options']).toBe('nosniff')
      expect((await fetch(url('/own-frame'))).headers.get('x-frame-options')).toBe('SAMEORIGIN')
      expect((await fetch(url('/items/1'))).headers.get('x-frame-options')).toBe('DENY')
    })

    it('HSTS in production', async () => {
      await begin({ nodeEnv: 'production', console: { enabled: false } })
      for (const path of ['/items/1', '/page'])
        expect((await fetch(url(path))).headers.get('strict-transport-security')).toBe(
          'max-age=31536000; includeSubDomains',
        )
    })

    it('no-store on signed-in answers, answers setting a cookie and pages with a CSRF token; noStore: false keeps its own', async () => {
      await begin()
      const cc = async (path: string, headers: Record<string, string> = {}) =>
        (await fetch(url(path), { headers })).headers.get('cache-control')
      expect(await cc('/items/1', { cookie: COOKIE })).toBe('no-store')
      expect(await cc('/items/1', { authorization: 'Bearer x' })).toBe('no-store')
      expect(await cc('/form')).toBe('no-store')
      expect(await cc('/items/1')).not.toBe('no-store')
      expect(await cc('/style.css', { cookie: COOKIE })).toBe('public, max-age=3600')
      const login = await send(url('/login'), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'sec-fetch-site': 'same-origin',
        },
        body: 'password=right',
      })
      expect(login.headers['cache-control']).toBe('no-store')
    })
  })

  // ---- audit --------------------------------------------------------------------------------

  describe('audit', () => {
    const rows = () => {
      const d = new Database(auditFile, { readonly: true })
      try {
        return d
          .prepare('select action, target, outcome, request_id, details from event_log order by id')
          .all() as Array<Record<string, string>>
      } finally {
        d.close()
      }
    }

    it('an audited route writes an attempted row per request, named by method and template, target without the query', async () => {
      const t = await begin()
      const ids: string[] = []
      for (let i = 0; i < 3; i++) {
        const res = await fetch(url(`/docs/${i}/approve?x=1`), { method: 'POST' })
        expect(res.status).toBe(200)
        ids.push(String(res.headers.get('x-request-id')))
      }
      expect(t.state.handled).toBe(3)
      await fetch(url('/items/1'))
      expect(rows()).toEqual(
        [0, 1, 2].map((i) =>
          expect.objectContaining({
            action: 'POST /docs/:id/approve',
            target: `/docs/${i}/approve`,
            outcome: 'attempted',
            request_id: ids[i],
          }),
        ),
      )
      expect(await metrics()).toContain(
        'rampart_audit_events_total{action="POST /docs/:id/approve"} 3',
      )
    })

    it('a failed audited request adds a failed row', async () => {
      await begin()
      expect((await fetch(url('/conflict'), { method: 'POST' })).status).toBe(409)
      await new Promise((r) => setTimeout(r, 50))
      expect(rows().map((r) => [r.action, r.outcome, r.details])).toEqual([
        ['x.done', 'attempted', '{"method":"POST"}'],
        ['x.done', 'failed', '{"method":"POST","status":409}'],
      ])
    })

    it('with the audit database locked, an audited route answers 503 and its handler does not run; others serve', async () => {
      const t = await begin()
      expect((await fetch(url('/docs/1/approve'), { method: 'POST' })).status).toBe(200)
      const locker = new Database(auditFile)
      locker.exec('begin exclusive')
      try {
        const res = await fetch(url('/docs/2/approve'), {
          method: 'POST',
          headers: { accept: 'application/json' },
        })
        await expectProblem(res, 503)
        expect(t.state.handled).toBe(1)
        expect((await fetch(url('/items/1'))).status).toBe(200)
      } finally {
        locker.exec('rollback')
        locker.close()
      }
      expect((await fetch(url('/docs/3/approve'), { method: 'POST' })).status).toBe(200)
      expect(t.state.handled).toBe(2)
    })
  })

  // ---- health, readiness and shutdown ---------------------------------------------------------

  describe('health and shutdown', () => {
    it('/healthz is 200 ok; /readyz is 200, then 503 naming a failing check', async () => {
      const t = await begin()
      const live = await fetch(url('/healthz'))
      expect(live.status).toBe(200)
      expect(await live.json()).toEqual({ status: 'ok' })
      const ready = await fetch(url('/readyz'))
      expect(ready.status).toBe(200)
      expect(await ready.json()).toMatchObject({ status: 'ok' })
      t.core.health.addCheck({
        name: 'cache',
        check: async () => {
          throw new Error('ECONNREFUSED 127.0.0.1:6379')
        },
      })
      const failing = await fetch(url('/readyz'))
      expect(failing.status).toBe(503)
      expect(await failing.json()).toMatchObject({ status: 'unavailable', failing: ['cache'] })
      // Probes are not logged at info, nor counted.
      expect(access(t)).toEqual([])
    })

    it('on a signal: /readyz 503 draining while the app still serves, in-flight requests finish, then new connections are refused', async () => {
      const t = await begin({
        shutdown: { signals: ['SIGUSR2'], exit: false, preStopDelayMs: 600, drainTimeoutMs: 5000 },
      })
      expect((await fetch(url('/readyz'))).status).toBe(200)
      const inFlight = Promise.all(Array.from({ length: 5 }, () => send(url('/slow'))))
      await new Promise((r) => setTimeout(r, 100))
      process.emit('SIGUSR2', 'SIGUSR2')
      await new Promise((r) => setTimeout(r, 100))
      const draining = await send(url('/readyz'))
      expect(draining.status).toBe(503)
      expect(JSON.parse(draining.body)).toMatchObject({ status: 'draining' })
      expect((await send(url('/items/1'))).status).toBe(200)
      const results = await inFlight
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
      await new Promise((r) => setTimeout(r, 700))
      await expect(send(url('/items/1'), { headers: { connection: 'close' } })).rejects.toThrow(
        /ECONNREFUSED|ECONNRESET|socket hang up/,
      )
      expect(t.logs.lines().some((l) => l.event === 'service.stopping')).toBe(true)
    })
  })

  describe('answers outside the handlers', () => {
    it('an upload declaring more than MAX_UPLOAD_MB with Expect: 100-continue is a 413 problem, and no 100 Continue', async () => {
      const t = await begin()
      const { interim, answers } = await rawExchange(
        t.port,
        'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=b\r\n' +
          `Content-Length: ${600 * MiB}\r\nExpect: 100-continue\r\n\r\n`,
      )
      expect(interim).toEqual([])
      expect(answers[0]?.status).toBe(413)
      expect(answers[0]?.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(t.state.handled).toBe(0)
    })

    it('a request arriving on a kept-alive connection while in-flight requests drain gets Rampart’s 503 problem and an access line', async () => {
      const t = await begin({
        shutdown: { signals: ['SIGUSR2'], exit: false, preStopDelayMs: 0, drainTimeoutMs: 5000 },
      })
      const exchange = rawExchange(t.port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n', {
        answers: 2,
        later: { afterMs: 250, bytes: 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n' },
      })
      await new Promise((r) => setTimeout(r, 150))
      process.emit('SIGUSR2', 'SIGUSR2')
      const { answers } = await exchange
      expect(answers.map((a) => a.status)).toEqual([200, 503])
      const refused = answers[1] as RawAnswer
      expect(refused.headers['x-request-id']).toMatch(UUID)
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(refused.headers['x-content-type-options']).toBe('nosniff')
      await new Promise((r) => setTimeout(r, 100))
      expect(
        t.logs
          .lines()
          .filter(
            (l) =>
              l.request_id === refused.headers['x-request-id'] && l.event === 'request.completed',
          ),
      ).toMatchObject([{ status: 503, route: 'unmatched' }])
      expect(t.logs.lines().filter((l) => l.event === 'request.failed')).toEqual([])
    })
  })

  describe('SLOs', () => {
    const slo = (route: string) =>
      defineConfig({
        service: 'conformance',
        slos: [
          { name: 'availability', kind: 'availability', objective: 99 },
          { name: 'item-latency', kind: 'latency', route, thresholdSeconds: 0.5, objective: 95 },
        ],
      })

    it('an SLO route’s series exist at 0 before its first request, and the console reports the SLOs', async () => {
      await begin({ slo: slo('GET /items/:id') })
      const text = await metrics()
      expect(
        sample(text, 'http_requests_total{method="GET",route="/items/:id",status="200"}'),
      ).toBe(0)
      expect(
        sample(text, 'http_requests_total{method="GET",route="/items/:id",status="500"}'),
      ).toBe(0)
      for (let i = 0; i < 3; i++) await fetch(url(`/items/${i}`))
      await fetch(url('/boom'))
      const summary = (await (await fetch(url('/_rampart/api/summary'))).json()) as {
        slos: Array<{ name: string; requests: number; bad: number }>
      }
      expect(summary.slos.map((s) => [s.name, s.requests, s.bad])).toEqual([
        ['availability', 4, 1],
        ['item-latency', 3, 0],
      ])
    })

    it('an SLO on a route the app does not have fails start-up, naming it', async () => {
      await expect(begin({ slo: slo('GET /no/such/route') })).rejects.toThrow(
        /item-latency.*is not a route of conformance/,
      )
    })
  })

  describe('server timeouts', () => {
    it('KEEP_ALIVE_TIMEOUT_S applies to the server: an idle keep-alive connection is closed after it', async () => {
      const t = await begin({ timeouts: { keepAliveS: 1 } })
      const opened = Date.now()
      const { answers } = await rawExchange(t.port, 'GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n', {
        closeAfterMs: 4500,
      })
      const closedAfter = Date.now() - opened
      expect(answers.map((a) => a.status)).toEqual([200])
      expect(answers[0]?.headers['keep-alive']).toBe('timeout=1')
      // Node's own default is 5 s, Fastify's 72 s: only Rampart's value closes it this soon.
      expect(closedAfter).toBeGreaterThanOrEqual(800)
      expect(closedAfter).toBeLessThan(3000)
    })
  })

  // ---- console ------------------------------------------------------------------------------

  describe('ops console', () => {
    it('/_rampart is a page and /_rampart/api/summary counts this app’s requests (not Rampart’s own)', async () => {
      await begin()
      for (let i = 0; i < 4; i++) await fetch(url(`/items/${i}`))
      await fetch(url('/boom'))
      await fetch(url('/metrics'))
      const res = await fetch(url('/_rampart/api/summary'))
      expect(res.status).toBe(200)
      expect(res.headers.get('cache-control')).toBe('no-store')
      const s = (await res.json()) as {
        service: string
        requests: {
          total: number
          errors: number
          routes: Array<{ route: string; requests: number }>
        }
      }
      expect(s.service).toBe('conformance')
      expect(s.requests).toMatchObject({ total: 5, errors: 1 })
      expect(s.requests.routes.find((r) => r.route === '/items/:id')).toMatchObject({ requests: 4 })
      const page = await fetch(url('/_rampart'))
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(await page.text()).toContain('<h1>conformance</h1>')
      const css = await fetch(url('/_rampart/console.css'))
      expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    })

    it('with a token: 401 without it, 200 with it; off is a 404', async () => {
      await begin({ console: { enabled: true, token: CONSOLE_TOKEN } })
      const none = await fetch(url('/_rampart/api/summary'), {
        headers: { accept: 'application/json' },
      })
      expect(none.status).toBe(401)
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="rampart console"')
      const ok = await fetch(url('/_rampart/api/summary'), {
        headers: { authorization: `Bearer ${CONSOLE_TOKEN}` },
      })
      expect(ok.status).toBe(200)
      await app?.close()
      app = undefined
      await begin({ console: { enabled: false } })
      expect((await fetch(url('/_rampart'))).status).toBe(404)
    })
  })
})
