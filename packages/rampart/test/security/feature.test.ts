import { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { createRampart, type Rampart } from '../../src/core/rampart.js'
import { HttpError } from '../../src/errors/http-error.js'
import type { RouteHooks } from '../../src/pipeline/feature.js'
import { securityFeature } from '../../src/security/feature.js'
import { API_CSP } from '../../src/security/headers.js'
import { TestExchange } from '../support/exchange.js'
import { type LogCapture, logCapture } from '../support/log-capture.js'

let core: Rampart
let logs: LogCapture
const make = (options: Parameters<typeof createRampart>[0] = {}) => {
  logs = logCapture()
  core = createRampart(
    { service: 't', logFormat: 'json', logLevel: 'info', logDestination: logs.stream, ...options },
    {},
  )
  return securityFeature(core)
}
afterEach(async () => {
  await core?.close()
})

async function drain(stream: Readable): Promise<string> {
  let out = ''
  for await (const chunk of stream) out += String(chunk)
  return out
}

describe('security feature, framework-free', () => {
  it('resolves the client IP once through trusted proxies and sets the API header block', () => {
    const feature = make({ trustedProxies: ['10.0.0.0/8'] })
    const ex = new TestExchange({
      remoteAddress: '10.1.2.3',
      headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.7' },
    })
    feature.start?.(ex)
    expect(ex.context.clientIp).toBe('203.0.113.9')
    expect(ex.getHeader('content-security-policy')).toBe(API_CSP)
    expect(ex.getHeader('x-frame-options')).toBe('DENY')
    expect(ex.hasHeader('cross-origin-opener-policy')).toBe(false)
  })

  it('adds the document headers to a non-JSON answer, keeping a CSP the handler set', () => {
    const feature = make()
    const page = new TestExchange()
    feature.start?.(page)
    page.setHeader('content-type', 'text/html; charset=utf-8')
    feature.beforeSend?.(page)
    expect(page.getHeader('content-security-policy')).toMatch(/^default-src 'self'/)
    expect(page.hasHeader('cross-origin-opener-policy')).toBe(true)

    const own = new TestExchange()
    feature.start?.(own)
    own.setHeader('content-type', 'text/html')
    own.setHeader('content-security-policy', "default-src 'none'")
    feature.beforeSend?.(own)
    expect(own.getHeader('content-security-policy')).toBe("default-src 'none'")

    const json = new TestExchange()
    feature.start?.(json)
    json.setHeader('content-type', 'application/problem+json')
    feature.beforeSend?.(json)
    expect(json.getHeader('content-security-policy')).toBe(API_CSP)
    expect(json.hasHeader('cross-origin-opener-policy')).toBe(false)
  })

  it('takes a route helmet option (false: no security headers), and refuses a bad one at registration', () => {
    const feature = make()
    const config = { helmet: false as const }
    feature.forRoute?.({ methods: ['GET'], url: '/raw', config })
    const ex = new TestExchange({ route: '/raw', config })
    feature.start?.(ex)
    expect(ex.answer.size).toBe(0)
    const framed = { helmet: { xFrameOptions: { action: 'sameorigin' as const } } }
    feature.forRoute?.({ methods: ['GET'], url: '/framed', config: framed })
    const f = new TestExchange({ route: '/framed', config: framed })
    feature.start?.(f)
    expect(f.getHeader('x-frame-options')).toBe('SAMEORIGIN')
    expect(() =>
      feature.forRoute?.({ methods: ['GET'], url: '/bad', config: { helmet: 'no' as never } }),
    ).toThrow('route /bad: helmet must be false or helmet options')
  })

  it('marks personalised answers no-store unless the route opts out', () => {
    const feature = make()
    const hooks = feature.forRoute?.({ methods: ['GET'], url: '/me', config: {} }) as RouteHooks
    const cases = [
      { headers: { cookie: 'a=1; session=abc' } },
      { headers: { authorization: 'Bearer x' } },
    ]
    for (const init of cases) {
      const ex = new TestExchange(init)
      hooks.beforeSend?.(ex)
      expect(ex.getHeader('cache-control')).toBe('no-store')
    }
    const issued = new TestExchange()
    issued.csrfIssued = true
    hooks.beforeSend?.(issued)
    expect(issued.getHeader('cache-control')).toBe('no-store')
    const setsCookie = new TestExchange()
    setsCookie.setHeader('set-cookie', 'session=1')
    hooks.beforeSend?.(setsCookie)
    expect(setsCookie.getHeader('cache-control')).toBe('no-store')
    const anonymous = new TestExchange({ headers: { cookie: 'theme=dark' } })
    hooks.beforeSend?.(anonymous)
    expect(anonymous.hasHeader('cache-control')).toBe(false)
    const optOut = feature.forRoute?.({
      methods: ['GET'],
      url: '/s.css',
      config: { noStore: false },
    })
    expect(optOut).toBeUndefined()
  })

  it('guards JSON depth and strict forms on routes with a body, and nothing on GET routes', async () => {
    const feature = make()
    expect(feature.forRoute?.({ methods: ['GET', 'HEAD'], url: '/x', config: {} })?.body).toBe(
      undefined,
    )
    const hooks = feature.forRoute?.({ methods: ['POST'], url: '/x', config: {} }) as RouteHooks
    const deep = `${'['.repeat(200)}${']'.repeat(200)}`
    const ex = new TestExchange({ method: 'POST', headers: { 'content-type': 'application/json' } })
    await expect(drain(hooks.body?.(ex, Readable.from([deep])) as Readable)).rejects.toThrow()
    const ok = new TestExchange({ method: 'POST', headers: { 'content-type': 'application/json' } })
    expect(await drain(hooks.body?.(ok, Readable.from(['{"a":[1]}'])) as Readable)).toBe(
      '{"a":[1]}',
    )
    const text = new TestExchange({ method: 'POST', headers: { 'content-type': 'text/plain' } })
    const plain = Readable.from([deep])
    expect(hooks.body?.(text, plain)).toBe(plain)
  })

  it('refuses a declared upload over MAX_UPLOAD_MB, and a chunked one once it passes the limit', () => {
    const feature = make({ maxUploadMb: 1 })
    const big = new TestExchange({
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=b', 'content-length': '2000000' },
    })
    const refused = feature.guard?.(big)
    expect(refused).toBeInstanceOf(HttpError)
    expect((refused as HttpError).status).toBe(413)
    const chunked = new TestExchange({
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
    })
    expect(feature.guard?.(chunked)).toBeUndefined()
    chunked.incoming.push(Buffer.alloc(1024 * 1024 + 1, 0x2d))
    expect(chunked.uploadRefusal?.message).toMatch(/upload/i)
    expect((chunked.uploadRefusal as HttpError).status).toBe(413)
  })

  it('reports 401/403/429 and 4xx on sensitive paths once, as a warn line and a count', async () => {
    const feature = make({ sensitivePaths: ['/login'] })
    const ex = new TestExchange({ url: '/%6Cogin?x=1' })
    feature.end?.(ex, 400, 0.01)
    const reported = new TestExchange({ url: '/a', route: '/a' })
    core.securityEvents.report(reported, 'forbidden', { reason: 'not_owner' })
    feature.end?.(reported, 403, 0.01)
    feature.end?.(new TestExchange({ url: '/ok' }), 404, 0.01)
    const lines = logs.lines().filter((l) => String(l.event).startsWith('security.'))
    expect(lines.map((l) => [l.event, l.status ?? l.reason])).toEqual([
      ['security.sensitive_client_error', 400],
      ['security.forbidden', 'not_owner'],
    ])
    const text = await core.metrics.registry.metrics()
    expect(text).toMatch(/rampart_security_events_total\{kind="sensitive_client_error"\} 1/)
    expect(text).toMatch(/rampart_security_events_total\{kind="forbidden"\} 1/)
  })
})
