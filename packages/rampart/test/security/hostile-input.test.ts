import { connect } from 'node:net'
import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import rampart, { frameworkErrors, HttpError } from 'rampart/fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'

/**
 * A bounded hostile-input suite: seeded random requests from categories (methods, paths,
 * headers, bodies) against a small realistic app. It must never get a 5xx, never crash, and
 * never see a raw injected value in an HTML page. Deterministic: one seed, a fixed count.
 */

const SEED = Number(process.env.HOSTILE_SEED ?? 0x5eed)
const CASES = 400
// Each contains markup that must never come back unescaped in a page.
const MARKERS = [
  '<script>alert(1)</script>',
  '"><svg onload=alert(1)>',
  "'><img src=x onerror=alert(1)>",
  '<x-hostile-marker>',
]

function prng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const rand = prng(SEED)
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T
const randomBytes = (n: number) =>
  Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)))
const marker = () => pick(MARKERS)

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

const paths: Array<() => string> = [
  () => '/',
  () => `/items/${encodeURIComponent(marker())}`,
  () => `/items/${'9'.repeat(400)}`,
  () => '/items/%ZZ%',
  () => '/items/%00',
  () => '/../../etc/passwd',
  () => '/%2e%2e/%2e%2e/etc/passwd',
  () => `/${'a/'.repeat(500)}`,
  () => `/search?q=${encodeURIComponent(marker())}`,
  () => `/search?${Array.from({ length: 300 }, (_, i) => `k${i}=v`).join('&')}`,
  () => '/search?q[__proto__][polluted]=1&__proto__=1&constructor[prototype][x]=1',
  () => `/echo?id=${encodeURIComponent(marker())}`,
  () => '/items/1?csrf_token=%00%00',
  () => '//double//slashes',
  () => `/${encodeURIComponent('ünïcødé/☃')}`,
  () => '/form',
  () => '/upload',
  () => '/zod',
  () => '/metrics',
  () => '/healthz',
  () => `/unknown/${encodeURIComponent(marker())}`,
]

const headerSets: Array<() => Record<string, string>> = [
  () => ({ accept: 'text/html' }),
  () => ({
    accept: pick([
      '*/*',
      'application/json',
      'text/html;q=0.5, application/json',
      ';;;q=x',
      'text/html;q=NaN',
      'x'.repeat(4000),
    ]),
  }),
  () => ({ cookie: `session=${marker()}; session=2; ${'c=1; '.repeat(200)}` }),
  () => ({
    cookie: 'session=abc',
    'x-csrf-token': pick(['', 'v1...', 'v1.'.padEnd(80, 'A'), marker()]),
  }),
  () => ({
    'x-forwarded-for': pick([
      '',
      ',,,',
      '999.999.1.1',
      marker(),
      Array(500).fill('1.2.3.4').join(','),
    ]),
  }),
  () => ({ 'x-request-id': pick(['ok-id', marker(), 'x'.repeat(500), '../../']) }),
  () => ({
    'content-type': pick([
      'application/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
      'multipart/form-data; boundary=',
      'text/plain',
      'application/json; charset=utf-999',
      ';',
      'a/b/c',
      'application/x-www-form-urlencoded; charset=utf-7',
    ]),
  }),
  () => ({
    authorization: pick(['Bearer', 'Bearer ', `Bearer ${marker()}`, 'Basic !!!', 'x'.repeat(2000)]),
  }),
  () => ({
    'sec-fetch-site': pick(['cross-site', 'same-origin', marker()]),
    origin: pick(['null', 'http://evil', marker(), 'http://localhost']),
  }),
  () => ({
    'x-http-method-override': 'DELETE',
    range: 'bytes=0-1,1-2,2-3',
    'if-none-match': marker(),
  }),
]

const bodies: Array<() => string | Buffer | undefined> = [
  () => undefined,
  () => '',
  () => randomBytes(Math.floor(rand() * 2048)),
  () => '{"a":',
  () => `{"title":${JSON.stringify(marker())},"size":"x"}`,
  () => '['.repeat(5000) + ']'.repeat(5000),
  () => '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
  () => `title=${encodeURIComponent(marker())}&direction=sideways&csrf_token=x&csrf_token=y`,
  () => '1e999999',
  () => `"${'\\u0000'.repeat(100)}"`,
  () =>
    `--x\r\nContent-Disposition: form-data; name="file"; filename="${marker()}"\r\n\r\ndata\r\n--x`,
  () => 'a=1&'.repeat(2000),
  () => JSON.stringify({ title: 'x'.repeat(70 * 1024) }),
]

/** Real routes with a plausible Content-Type, so hostile bodies reach parsers and handlers. */
const TARGETS: ReadonlyArray<
  readonly [(typeof METHODS)[number], () => string, string | undefined]
> = [
  ['GET', () => `/items/${pick(['1', marker(), '%ZZ'])}`, undefined],
  ['GET', () => `/echo?id=${encodeURIComponent(marker())}`, undefined],
  ['POST', () => '/items', 'application/json'],
  ['POST', () => '/zod', 'application/json'],
  ['POST', () => '/form', 'application/x-www-form-urlencoded'],
  ['POST', () => '/upload', 'multipart/form-data; boundary=x'],
  ['POST', () => '/upload', 'multipart/form-data'],
]

let app: FastifyInstance

beforeAll(async () => {
  app = Fastify({ frameworkErrors })
  await app.register(rampart, { logLevel: 'silent', maxBodyKb: 64, secretKey: 'h'.repeat(32) })
  await app.register(formbody)
  await app.register(multipart, { limits: app.rampart.limits.multipart })
  app.get('/', async () => ({ ok: true }))
  app.get('/items/:id', async (request) => {
    const { id } = request.params as { id: string }
    if (!/^\d{1,9}$/.test(id)) throw new HttpError(404, { detail: `No item ${id}` })
    return { id: Number(id) }
  })
  app.get('/search', async (request) => ({ count: Object.keys(request.query as object).length }))
  app.get('/echo', async (request) => {
    throw new HttpError(400, { detail: `Bad id: ${(request.query as { id?: string }).id}` })
  })
  app.post(
    '/items',
    {
      schema: {
        body: {
          type: 'object',
          required: ['title'],
          properties: { title: { type: 'string', maxLength: 100 }, size: { type: 'integer' } },
        },
      },
    },
    async () => ({ created: true }),
  )
  app.post('/form', async (request) => ({
    fields: Object.keys((request.body as object) ?? {}).length,
  }))
  const Item = z.object({ title: z.string(), direction: z.enum(['egress', 'ingress']) })
  app.post('/zod', async (request) => Item.parse(request.body))
  app.post('/upload', async (request) => {
    let files = 0
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        await part.toBuffer()
        files++
      }
    }
    return { files }
  })
})
afterAll(async () => {
  await app.close()
})

function assertSafe(
  label: string,
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
) {
  expect(res.statusCode, label).toBeLessThan(500)
  const type = String(res.headers['content-type'] ?? '')
  if (type.includes('html')) {
    for (const m of MARKERS)
      expect(res.body.includes(m), `${label}: raw marker in page`).toBe(false)
    // Markup from the input appears only escaped: no tag it could open.
    expect(res.body, label).not.toMatch(/<(script|svg|img|x-hostile)/i)
  }
  expect(res.body, label).not.toMatch(/\n\s+at .+:\d+:\d+|node_modules|FST_ERR/)
}

describe('hostile input', () => {
  it(`${CASES} seeded random requests: never a 5xx, never a raw value in a page`, async () => {
    const statuses = new Map<number, number>()
    for (let i = 0; i < CASES; i++) {
      const targeted = rand() < 0.6
      const [method, url, type] = targeted
        ? (() => {
            const [m, u, t] = pick(TARGETS)
            return [m, u(), t] as const
          })()
        : ([pick(METHODS), pick(paths)(), undefined] as const)
      const headers = { ...pick(headerSets)(), ...(rand() < 0.5 ? pick(headerSets)() : {}) }
      if (type !== undefined && rand() < 0.8) headers['content-type'] = type
      if (rand() < 0.5) headers.accept = 'text/html,application/xhtml+xml,*/*;q=0.8'
      const body = method === 'GET' || method === 'HEAD' ? undefined : pick(bodies)()
      const options: InjectOptions = {
        method,
        url,
        headers,
        ...(body === undefined ? {} : { payload: body }),
      }
      const label = `#${i} ${method} ${String(options.url).slice(0, 80)} ${JSON.stringify(headers).slice(0, 120)}`
      const res = await app.inject(options)
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      assertSafe(label, res)
    }
    // The suite exercised refusals, not only happy paths.
    const refused = [...statuses].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0)
    expect(refused).toBeGreaterThan(CASES / 4)
    expect(Object.prototype).not.toHaveProperty('polluted')
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200)
  })

  it('raw malformed HTTP on a real socket never takes the server down', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = new URL(address)
    const raw = [
      'GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\n\r\n',
      'GET /\u0001 HTTP/1.1\r\nHost: x\r\n\r\n',
      'POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcde',
      'POST /form HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
      'POST /form HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
      `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(3000)}\r\n`,
      'FOO / HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
      'POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":1}',
    ]
    for (const text of raw) {
      const answer = await new Promise<string>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1')
        let got = ''
        socket.setTimeout(1000, () => socket.destroy())
        socket.on('data', (d) => {
          got += d
        })
        socket.on('close', () => resolve(got))
        socket.on('error', () => resolve(got))
        socket.write(text)
        socket.end()
      })
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)
      expect(status, JSON.stringify(text.slice(0, 60))).toBeLessThan(500)
    }
    const res = await fetch(`${address}/`)
    expect(res.status).toBe(200)
  })
})
