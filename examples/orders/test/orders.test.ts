import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { logLines, type Service, start, stopAll, tempDir } from './service.js'

afterAll(stopAll)
/** A browser's same-origin form post. */
function formPost(service: Service, body: Record<string, string>, cookie?: string) {
  return fetch(`${service.url}/orders`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
      origin: service.url,
      'sec-fetch-site': 'same-origin',
      'sec-fetch-mode': 'navigate',
      ...(cookie ? { cookie } : {}),
    },
    body: new URLSearchParams(body).toString(),
  })
}

function postJson(service: Service, body: string, headers: Record<string, string> = {}) {
  return fetch(`${service.url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
}

/** The session cookie and the form's CSRF token, as a browser gets them from `GET /`. */
async function openForm(service: Service): Promise<{ cookie: string; token: string }> {
  const res = await fetch(`${service.url}/`, { headers: { accept: 'text/html' } })
  expect(res.status).toBe(200)
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('orders_session='))
  expect(setCookie).toBeDefined()
  const html = await res.text()
  const token = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1]
  expect(token).toBeDefined()
  return { cookie: (setCookie as string).split(';')[0] as string, token: token as string }
}

describe('orders (Express 5 + rampart/express)', () => {
  let svc: Service
  beforeAll(async () => {
    // An existing DATA_DIR, as a deployment mounts one (NODE_ENV=test writes no secret into it,
    // and the audit database is not created in a missing directory).
    const dataDir = tempDir('orders-data-')
    // MAX_BODY_KB=1: the 413 needs no megabyte of test data.
    svc = await start({ NODE_ENV: 'test', DATA_DIR: dataDir, MAX_BODY_KB: '1' })
  })

  it('GET /orders/:id answers 200 JSON for orders 1-3', async () => {
    for (const id of [1, 2, 3]) {
      const res = await fetch(`${svc.url}/orders/${id}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(res.headers.get('x-request-id')).toMatch(/.+/)
      // The `read` policy's IETF headers.
      expect(res.headers.get('ratelimit-policy')).toBe('"read";q=300;w=60')
      const body = (await res.json()) as { id: number; item: string; qty: number }
      expect(body).toMatchObject({ id, item: expect.any(String), qty: expect.any(Number) })
    }
  })

  it('GET /orders/:id of an unknown order is a 404 problem', async () => {
    for (const id of ['999', 'abc', '0']) {
      const res = await fetch(`${svc.url}/orders/${id}`)
      expect(res.status, id).toBe(404)
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      const problem = (await res.json()) as Record<string, unknown>
      expect(problem).toMatchObject({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: `There is no order ${id}.`,
        instance: `/orders/${id}`,
        request_id: res.headers.get('x-request-id'),
      })
    }
  })

  it('an unknown path is a 404 problem too, and a browser gets a page', async () => {
    const res = await fetch(`${svc.url}/nope`)
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(await res.json()).toMatchObject({ status: 404, title: 'Not Found' })
    const page = await fetch(`${svc.url}/orders/999`, { headers: { accept: 'text/html' } })
    expect(page.status).toBe(404)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await page.text()).not.toMatch(/at .*\.ts:\d+/)
  })

  it('POST /orders with a valid JSON order answers 201 with the order', async () => {
    const res = await postJson(svc, JSON.stringify({ item: 'sencha', qty: 3 }))
    expect(res.status).toBe(201)
    const order = (await res.json()) as { id: number; item: string; qty: number }
    expect(order).toEqual({ id: expect.any(Number), item: 'sencha', qty: 3 })
    expect(order.id).toBeGreaterThan(3)
    expect(res.headers.get('location')).toBe(`/orders/${order.id}`)
    expect(res.headers.get('ratelimit-policy')).toBe('"write";q=60;w=60')
  })

  it('POST /orders with malformed JSON is a 400 problem', async () => {
    const res = await postJson(svc, '{"item": "tea", "qty": ')
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    const problem = (await res.json()) as Record<string, unknown>
    expect(problem).toMatchObject({ status: 400, detail: 'The request body is not valid JSON.' })
    expect(JSON.stringify(problem)).not.toMatch(/SyntaxError|Unexpected|at /)
  })

  it('POST /orders with fields out of the schema is a 422 problem naming each field', async () => {
    const cases: [unknown, string[]][] = [
      [{ item: '', qty: 1 }, ['item']],
      [{ item: 'x'.repeat(101), qty: 1 }, ['item']],
      [{ item: 'tea', qty: 0 }, ['qty']],
      [{ item: 'tea', qty: 101 }, ['qty']],
      [{ item: 'tea', qty: 1.5 }, ['qty']],
      [{ item: 'tea', qty: '2' }, ['qty']],
      [{ qty: 2 }, ['item']],
      [{}, ['item', 'qty']],
      [[1, 2], ['(body)']],
    ]
    for (const [body, fields] of cases) {
      const res = await postJson(svc, JSON.stringify(body))
      expect(res.status, JSON.stringify(body)).toBe(422)
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      const problem = (await res.json()) as {
        status: number
        errors: { field: string; message: string }[]
      }
      expect(problem.status).toBe(422)
      expect(problem.errors.map((e) => e.field).sort(), JSON.stringify(body)).toEqual(fields)
      for (const e of problem.errors) expect(e.message).toMatch(/.+/)
    }
  })

  it('POST /orders over MAX_BODY_KB is a 413 problem', async () => {
    const res = await postJson(svc, JSON.stringify({ item: 'x'.repeat(2048), qty: 1 }))
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(await res.json()).toMatchObject({ status: 413 })
  })

  it('POST /orders with another body type is a 415 problem', async () => {
    const res = await fetch(`${svc.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'tea x2',
    })
    expect(res.status).toBe(415)
    expect(await res.json()).toMatchObject({ status: 415 })
  })

  it('GET / sets an HttpOnly, SameSite=Lax orders_session cookie once and renders the form', async () => {
    const res = await fetch(`${svc.url}/`, { headers: { accept: 'text/html' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const cookies = res.headers.getSetCookie()
    expect(cookies).toHaveLength(1)
    const cookie = cookies[0] as string
    expect(cookie).toMatch(/^orders_session=[\w-]{20,};/)
    expect(cookie).toMatch(/; HttpOnly/i)
    expect(cookie).toMatch(/; SameSite=Lax/i)
    expect(cookie).not.toMatch(/; Secure/i) // not in production
    // A page that sets a cookie is not cached by anyone.
    expect(res.headers.get('cache-control')).toMatch(/no-store/)
    const html = await res.text()
    expect(html).toMatch(/<form method="post" action="\/orders">/)
    expect(html).toMatch(/name="csrf_token" value="[^"]+"/)
    // A second visit keeps its session: no new cookie.
    const again = await fetch(`${svc.url}/`, {
      headers: { accept: 'text/html', cookie: cookie.split(';')[0] as string },
    })
    expect(again.status).toBe(200)
    expect(again.headers.getSetCookie()).toEqual([])
    expect(await again.text()).toMatch(/name="csrf_token" value="[^"]+"/)
  })

  it('the form posts with its CSRF token: 201 page; without or with a wrong token: 403', async () => {
    const { cookie, token } = await openForm(svc)
    const ok = await formPost(svc, { csrf_token: token, item: 'matcha <b>', qty: '4' }, cookie)
    expect(ok.status).toBe(201)
    expect(ok.headers.get('content-type')).toMatch(/^text\/html/)
    const page = await ok.text()
    expect(page).toMatch(/Order \d+ placed/)
    expect(page).toContain('4 × matcha &lt;b&gt;')

    const missing = await formPost(svc, { item: 'matcha', qty: '4' }, cookie)
    expect(missing.status).toBe(403)
    const wrong = await formPost(
      svc,
      { csrf_token: `${token.slice(0, -2)}xx`, item: 'matcha', qty: '4' },
      cookie,
    )
    expect(wrong.status).toBe(403)
    // Another visitor's token does not fit this session.
    const other = await openForm(svc)
    const foreign = await formPost(
      svc,
      { csrf_token: other.token, item: 'matcha', qty: '4' },
      cookie,
    )
    expect(foreign.status).toBe(403)
    // A cross-site post is refused before the token is even read.
    const cross = await fetch(`${svc.url}/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'sec-fetch-site': 'cross-site',
        origin: 'https://evil.example',
        cookie,
      },
      body: new URLSearchParams({ csrf_token: token, item: 'matcha', qty: '4' }).toString(),
    })
    expect(cross.status).toBe(403)
    // Each refusal is a security event naming its reason; none of them created an order.
    const reasonOf = (res: Response) => () =>
      logLines(svc).find(
        (l) =>
          l.event === 'security.csrf_blocked' && l.request_id === res.headers.get('x-request-id'),
      )?.reason
    await expect.poll(reasonOf(missing)).toBe('missing')
    await expect.poll(reasonOf(wrong)).toMatch(/^(malformed|invalid)$/)
    await expect.poll(reasonOf(foreign)).toBe('invalid')
    await expect.poll(reasonOf(cross)).toBe('cross_site')
    // A browser's form post gets a page; a client without Accept gets a problem.
    for (const res of [missing, wrong, foreign])
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(cross.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  })

  it('a form with a bad quantity is a 422 naming qty (the form sends strings)', async () => {
    const { cookie, token } = await openForm(svc)
    for (const qty of ['0', '101', 'two', '']) {
      const res = await formPost(svc, { csrf_token: token, item: 'matcha', qty }, cookie)
      expect(res.status, qty).toBe(422)
    }
    const res = await fetch(`${svc.url}/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie,
        'x-csrf-token': token,
      },
      body: 'item=matcha&qty=0',
    })
    expect(res.status).toBe(422)
    expect(await res.json()).toMatchObject({ errors: [{ field: 'qty' }] })
  })

  it('every order placed is audited: an attempted row, and a failed row when refused', async () => {
    const auditRows = (requestId: string | null) => {
      const db = new Database(join(svc.dataDir, 'audit.db'), { readonly: true })
      try {
        return db
          .prepare(
            'select action, target, outcome, details from event_log where request_id = ? order by id',
          )
          .all(requestId) as { action: string; target: string; outcome: string; details: string }[]
      } finally {
        db.close()
      }
    }
    // Written before the handler runs; a success is an attempted row without a failed row.
    const ok = await postJson(svc, JSON.stringify({ item: 'hojicha', qty: 7 }))
    expect(ok.status).toBe(201)
    expect(auditRows(ok.headers.get('x-request-id'))).toMatchObject([
      { action: 'order.create', target: '/orders', outcome: 'attempted' },
    ])
    // A refused order: the failed row follows the answer, with its status.
    const bad = await postJson(svc, JSON.stringify({ item: 'hojicha', qty: 0 }))
    expect(bad.status).toBe(422)
    await expect
      .poll(() => auditRows(bad.headers.get('x-request-id')).map((r) => r.outcome))
      .toEqual(['attempted', 'failed'])
    const failed = auditRows(bad.headers.get('x-request-id'))[1] as { details: string }
    expect(JSON.parse(failed.details)).toMatchObject({ status: 422 })
    // Reads are not audited.
    const read = await fetch(`${svc.url}/orders/1`)
    expect(auditRows(read.headers.get('x-request-id'))).toEqual([])
  })

  it('/metrics counts the requests by route template', async () => {
    const before = await fetch(`${svc.url}/metrics`).then((r) => r.text())
    const count = (text: string, status: string) =>
      Number(
        new RegExp(
          `^http_requests_total\\{(?=[^}]*method="GET")(?=[^}]*route="/orders/:id")(?=[^}]*status="${status}")[^}]*\\} (\\d+)`,
          'm',
        ).exec(text)?.[1] ?? 0,
      )
    await fetch(`${svc.url}/orders/2`)
    await fetch(`${svc.url}/orders/424242`)
    const after = await fetch(`${svc.url}/metrics`).then((r) => r.text())
    expect(count(after, '200')).toBe(count(before, '200') + 1)
    expect(count(after, '404')).toBe(count(before, '404') + 1)
    // Raw paths never become labels.
    expect(after).not.toMatch(/route="\/orders\/\d+"/)
  })

  it('writes one access line per request with the route template', async () => {
    const res = await fetch(`${svc.url}/orders/3`)
    const id = res.headers.get('x-request-id')
    await expect
      .poll(() => logLines(svc).find((l) => l.event === 'request.completed' && l.request_id === id))
      .toMatchObject({ route: '/orders/:id', method: 'GET', status: 200 })
  })
})

describe('orders rate limits', () => {
  it('GET /orders/:id answers 429 past RATE_LIMIT_READ_PER_MINUTE', async () => {
    const svc = await start({ NODE_ENV: 'test', RATE_LIMIT_READ_PER_MINUTE: '3' })
    for (let i = 0; i < 3; i++) expect((await fetch(`${svc.url}/orders/1`)).status).toBe(200)
    const res = await fetch(`${svc.url}/orders/1`)
    expect(res.status).toBe(429)
    expect(res.headers.get('ratelimit-policy')).toBe('"read";q=3;w=60')
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await res.json()).toMatchObject({ status: 429 })
    // `/` names no policy: never limited.
    expect((await fetch(`${svc.url}/`)).status).toBe(200)
  })
})

describe('orders process', () => {
  it('starts with no environment at all (development: secret generated in ./data) and stops on SIGTERM', async () => {
    const svc = await start({})
    expect(existsSync(join(svc.dataDir, '.secret'))).toBe(true)
    expect((await fetch(`${svc.url}/orders/1`)).status).toBe(200)
    expect(await svc.stop()).toBe(0)
  })

  it('NODE_ENV=production without SECRET_KEY exits 1 with one line naming SECRET_KEY', async () => {
    // The whole output, stdout and stderr: that one line.
    await expect(start({ NODE_ENV: 'production' })).rejects.toThrow(
      /^orders exited 1:\norders: SECRET_KEY: not set[^\n]*\n$/,
    )
  })

  it('in production the session cookie is Secure', async () => {
    const svc = await start({
      NODE_ENV: 'production',
      SECRET_KEY: randomBytes(32).toString('hex'),
      SHUTDOWN_DELAY_S: '0',
    })
    const res = await fetch(`${svc.url}/`)
    expect(res.status).toBe(200)
    expect(res.headers.getSetCookie()[0]).toMatch(/^orders_session=[^;]+;.*; Secure/i)
  })
})
