import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import rampart, { frameworkErrors, HttpError } from 'rampart/fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultSecurityHeaders } from '../../src/security/headers.js'
import { type LogCapture, logCapture } from '../support/log-capture.js'
import { type RawAnswer, type RawExchange, rawExchange } from '../support/raw-http.js'

/**
 * Walks the "Every answer" table of docs/security.md: each row's answer is made on a live app
 * over a raw socket, and every column (status, request id, headers, body, access log level,
 * metric route, security event) is checked against what came back and what was logged and
 * counted. A row without a way to make it here, or a layer without a row, fails the test.
 */

const doc = readFileSync(new URL('../../../../docs/security.md', import.meta.url), 'utf8')

interface Row {
  answer: string
  status: number
  id: string
  headers: string
  body: string
  log: string
  metric: string
  event: string
}

function tableRows(): Row[] {
  const section = doc.slice(doc.indexOf('## Every answer'))
  const all = section.split('\n')
  const start = all.findIndex((l) => l.startsWith('| answer |'))
  const end = all.findIndex((l, i) => i > start && !l.startsWith('|'))
  const lines = all.slice(start, end).filter((l) => !l.startsWith('|---'))
  const [header, ...rows] = lines
  expect(header).toBe(
    '| answer | example | status | id | headers | body | log | metric route | security event |',
  )
  return rows.map((line) => {
    const cells = line
      .slice(2, -2)
      .split(' | ')
      .map((c) => c.trim())
    const [
      answer = '',
      ,
      status = '',
      id = '',
      headers = '',
      body = '',
      log = '',
      metric = '',
      event = '',
    ] = cells
    return { answer, status: Number(status), id, headers, body, log, metric, event }
  })
}

const SENT_ID = 'walk-request-0001'
const withId = `X-Request-Id: ${SENT_ID}\r\n`
const BODY_LIMIT_KB = 4
const UPLOAD_LIMIT_MB = 1

/** How to make each answer: the request, and the route it counts under. */
type Trigger = (port: number) => Promise<{ exchange: RawExchange; route: string }>

/** Stop reading after the first final answer (the server may keep the connection open). */
const ONE = { answers: 1 }

const get = (path: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: a\r\n${withId}${extra}Connection: close\r\n\r\n`

const TRIGGERS: Record<string, Trigger> = {
  'parser: malformed request': async (port) => ({
    exchange: await rawExchange(port, `get / HTTP/1.1\r\nHost: a\r\n${withId}\r\n`),
    route: 'unmatched',
  }),
  'parser: header overflow': async (port) => ({
    exchange: await rawExchange(port, get('/', `X-Big: ${'a'.repeat(20_000)}\r\n`)),
    route: 'unmatched',
  }),
  'router: malformed URL': async (port) => ({
    exchange: await rawExchange(port, get('/items/%ZZ'), ONE),
    route: 'unmatched',
  }),
  'not found': async (port) => ({
    exchange: await rawExchange(port, get('/nope'), ONE),
    route: 'unmatched',
  }),
  'framework: unsupported type': async (port) => ({
    exchange: await rawExchange(
      port,
      `POST /items HTTP/1.1\r\nHost: a\r\n${withId}Content-Type: text/x-unknown\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx`,
    ),
    route: '/items',
  }),
  'framework: body too large': async (port) => {
    const body = JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT_KB * 1024 + 10) })
    return {
      exchange: await rawExchange(
        port,
        `POST /items HTTP/1.1\r\nHost: a\r\n${withId}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      ),
      route: '/items',
    }
  },
  'handler: client error': async (port) => ({
    exchange: await rawExchange(port, get('/conflict'), ONE),
    route: '/conflict',
  }),
  'handler: fault': async (port) => ({
    exchange: await rawExchange(port, get('/boom'), ONE),
    route: '/boom',
  }),
  limiter: async (port) => {
    await rawExchange(port, get('/limited'), ONE)
    return { exchange: await rawExchange(port, get('/limited'), ONE), route: '/limited' }
  },
  CSRF: async (port) => ({
    exchange: await rawExchange(
      port,
      `POST /form HTTP/1.1\r\nHost: a\r\n${withId}Sec-Fetch-Site: cross-site\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=1`,
    ),
    route: '/form',
  }),
  'upload meter': async (port) => ({
    exchange: await rawExchange(
      port,
      `POST /upload HTTP/1.1\r\nHost: a\r\n${withId}Content-Type: multipart/form-data; boundary=b\r\nContent-Length: ${UPLOAD_LIMIT_MB * 2 ** 20 + 1}\r\n\r\n`,
      ONE,
    ),
    route: '/upload',
  }),
  '100-continue refusal': async (port) => ({
    exchange: await rawExchange(
      port,
      `POST /upload HTTP/1.1\r\nHost: a\r\n${withId}Content-Type: multipart/form-data; boundary=b\r\nContent-Length: ${600 * 2 ** 20}\r\nExpect: 100-continue\r\n\r\n`,
    ),
    route: '/upload',
  }),
  'failure after headers': async (port) => ({
    // Read until the server cuts the connection off.
    exchange: await rawExchange(port, get('/stream'), { closeAfterMs: 3000 }),
    route: '/stream',
  }),
  // Made last: it closes the app.
  shutdown: async () => {
    const exchange = rawExchange(
      closingPort,
      `GET /slow HTTP/1.1\r\nHost: a\r\n${withId.replace('0001', '0000')}\r\n`,
      { answers: 2, later: { afterMs: 250, bytes: get('/slow') } },
    )
    await new Promise((r) => setTimeout(r, 100))
    const closed = closingApp.close()
    const done = await exchange
    await closed
    return { exchange: { ...done, answers: done.answers.slice(1) }, route: 'unmatched' }
  },
}

/** The layers the table must cover (issue: parser, router, framework, handler, limiter, CSRF, upload meter, shutdown). */
const LAYERS = [
  'parser',
  'router',
  'framework',
  'handler',
  'limiter',
  'CSRF',
  'upload meter',
  'shutdown',
]

async function buildApp(logs: LogCapture): Promise<FastifyInstance> {
  const app = Fastify({ frameworkErrors })
  await app.register(rampart, {
    logDestination: logs.stream,
    logLevel: 'info',
    maxBodyKb: BODY_LIMIT_KB,
    maxUploadMb: UPLOAD_LIMIT_MB,
    rateLimit: { policies: { once: { perMinute: 1 } } },
    shutdown: { signals: false },
  })
  app.post('/items', async () => ({ ok: true }))
  app.get('/conflict', async () => {
    throw new HttpError(409)
  })
  app.get('/boom', async () => {
    throw new Error('the database is on fire')
  })
  app.get('/limited', { config: { rateLimit: 'once' } }, async () => ({ ok: true }))
  app.post('/form', async () => ({ ok: true }))
  app.post('/upload', async () => ({ ok: true }))
  app.get('/stream', async (_request, reply) => {
    const body = new Readable({ read() {} })
    body.push('first chunk ')
    setTimeout(() => body.destroy(new Error('the source failed')), 100)
    return reply.type('text/plain').send(body)
  })
  app.get('/slow', async () => {
    await new Promise((r) => setTimeout(r, 400))
    return { ok: true }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

let app: FastifyInstance
let logs: LogCapture
let closingApp: FastifyInstance
let closingLogs: LogCapture
let closingPort: number

beforeAll(async () => {
  logs = logCapture()
  app = await buildApp(logs)
  closingLogs = logCapture()
  closingApp = await buildApp(closingLogs)
  closingPort = (closingApp.server.address() as { port: number }).port
})
afterAll(async () => {
  await app?.close()
  await closingApp?.close().catch(() => {})
})

function requestsTotal(text: string, route: string, status: number): number {
  return text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('http_requests_total{') && l.includes(`route="${route}",status="${status}"`),
    )
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)
}

const JSON_SET = defaultSecurityHeaders(false).api
// The page-only headers (the page CSP is the JSON one's replacement, checked above).
const DOCUMENT_ONLY = defaultSecurityHeaders(false)
  .documentOnly.map(([name]) => name)
  .filter((name) => name !== 'content-security-policy')

function checkHeaders(row: Row, answer: RawAnswer) {
  if (row.headers === 'as sent') return
  expect(row.headers.startsWith('JSON set'), `${row.answer}: headers`).toBe(true)
  for (const [name, value] of Object.entries(JSON_SET))
    expect(answer.headers[name], `${row.answer}: ${name}`).toBe(value)
  for (const name of DOCUMENT_ONLY)
    expect(answer.headers[name], `${row.answer}: ${name}`).toBeUndefined()
  // Further headers the row names, e.g. `Connection: close`, `Retry-After`.
  for (const [, named] of row.headers.matchAll(/`([A-Za-z-]+)(?::[^`]*)?`/g)) {
    const name = (named as string).toLowerCase()
    expect(answer.headers[name], `${row.answer}: ${name}`).toBeDefined()
  }
  expect(answer.headers['cache-control'], `${row.answer}: cache-control`).toBe('no-store')
}

function checkBody(row: Row, answer: RawAnswer) {
  if (row.body === 'cut off') return
  expect(['problem', 'negotiated'], `${row.answer}: body`).toContain(row.body)
  if (row.body === 'negotiated') expect(answer.headers.vary, `${row.answer}: vary`).toBe('Accept')
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
  const problem = JSON.parse(answer.body) as Record<string, unknown>
  for (const member of ['type', 'title', 'status', 'detail', 'instance', 'request_id'])
    expect(problem, `${row.answer}: ${member}`).toHaveProperty(member)
  expect(problem.status).toBe(row.status)
  expect(problem.request_id).toBe(answer.headers['x-request-id'])
}

describe('docs/security.md "Every answer" table', () => {
  const rows = tableRows()

  it('has a row for every layer, and every row can be made here', () => {
    for (const layer of LAYERS)
      expect(
        rows.some((r) => r.answer.startsWith(layer)),
        layer,
      ).toBe(true)
    for (const row of rows) expect(Object.keys(TRIGGERS), row.answer).toContain(row.answer)
  })

  for (const row of rows) {
    it(`${row.answer}: ${row.status}, id ${row.id}, ${row.body}, ${row.log} line, route ${row.metric}, event ${row.event}`, async () => {
      const trigger = TRIGGERS[row.answer]
      if (trigger === undefined) throw new Error(`no trigger for "${row.answer}"`)
      const port = (app.server.address() as { port: number }).port
      const isShutdown = row.answer === 'shutdown'
      const target = isShutdown ? closingApp : app
      const capture = isShutdown ? closingLogs : logs
      const before = isShutdown ? '' : (await app.inject({ url: '/metrics' })).body
      const { exchange, route } = await trigger(port)
      const answer = exchange.answers[0] as RawAnswer
      expect(answer, `${row.answer}: an answer`).toBeDefined()
      expect(exchange.interim, `${row.answer}: no interim answer`).toEqual([])

      // The request id, on the wire and in the logs.
      const requestId = answer.headers['x-request-id'] as string
      if (row.id === 'kept') expect(requestId).toBe(SENT_ID)
      else {
        expect(row.id).toBe('minted')
        expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
      }
      if (row.body === 'cut off') expect(answer.status).toBe(200)
      else expect(answer.status).toBe(row.status)
      checkHeaders(row, answer)
      checkBody(row, answer)

      await new Promise((r) => setTimeout(r, 50))
      // The ids sent are reused across rows: the newest access line with this id is this answer.
      const access = capture
        .lines()
        .filter((l) => l.request_id === requestId && typeof l.latency_ms === 'number')
        .at(-1)
      const expectedRoute = row.metric === 'the route' ? route : row.metric.replaceAll('`', '')
      expect(access, `${row.answer}: access line`).toMatchObject({
        status: row.status,
        level: row.log,
        route: expectedRoute,
      })
      if (!isShutdown) {
        const after = (await app.inject({ url: '/metrics' })).body
        expect(requestsTotal(after, expectedRoute, row.status), `${row.answer}: metric`).toBe(
          requestsTotal(before, expectedRoute, row.status) + 1,
        )
      }
      const events = capture
        .lines()
        .filter((l) => String(l.event).startsWith('security.') && l.request_id === requestId)
      if (row.event === '—')
        // The ids sent are reused: only an event of this status could be this answer's.
        expect(
          events.filter((l) => l.status === row.status),
          `${row.answer}: no security event`,
        ).toEqual([])
      else expect(events.map((l) => l.event)).toContain(`security.${row.event.replaceAll('`', '')}`)
      expect(target).toBeDefined()
    })
  }
})
