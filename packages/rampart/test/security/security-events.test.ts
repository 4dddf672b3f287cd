import Fastify, { type FastifyInstance } from 'fastify'
import rampart, { HttpError } from 'rampart/fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type LogCapture, logCapture } from '../support/log-capture.js'

let app: FastifyInstance
let logs: LogCapture

beforeEach(async () => {
  logs = logCapture()
  app = Fastify()
  await app.register(rampart, {
    logLevel: 'info',
    logFormat: 'json',
    logDestination: logs.stream,
    sensitivePaths: ['/login'],
    metrics: { token: 'metrics-token-0123456789' },
  })
  for (const status of [400, 401, 403, 404, 422, 429]) {
    app.get(`/status/${status}`, async () => {
      throw new HttpError(status)
    })
  }
  app.post('/login', async () => {
    throw new HttpError(400, { detail: 'Wrong username or password.' })
  })
  app.get('/admin/export', { config: { sensitive: true } }, async () => {
    throw new HttpError(404)
  })
})
afterEach(async () => {
  await app.close()
})

const events = () => logs.lines().filter((l) => String(l.event).startsWith('security.'))

describe('security events', () => {
  it('every 401, 403 and 429 is a warn line and a count; other 4xx on ordinary paths are not', async () => {
    for (const status of [400, 401, 403, 404, 422, 429]) {
      await app.inject({ url: `/status/${status}` })
    }
    expect(events().map((l) => [l.event, l.level, l.status])).toEqual([
      ['security.unauthorized', 'warn', 401],
      ['security.forbidden', 'warn', 403],
      ['security.rate_limited', 'warn', 429],
    ])
    expect(events()[0]).toMatchObject({ route: '/status/:status'.replace(':status', '401') })
    expect(typeof events()[0]?.request_id).toBe('string')
    const metrics = await app.inject({
      url: '/metrics',
      headers: { authorization: 'Bearer metrics-token-0123456789' },
    })
    expect(metrics.body).toContain('rampart_security_events_total{kind="unauthorized"} 1')
    expect(metrics.body).toContain('rampart_security_events_total{kind="forbidden"} 1')
    expect(metrics.body).toContain('rampart_security_events_total{kind="rate_limited"} 1')
    expect(metrics.body).not.toContain('kind="sensitive_client_error"')
  })

  it('any 4xx on a sensitive path or route is a security event', async () => {
    await app.inject({ method: 'POST', url: '/login', payload: {} })
    await app.inject({ url: '/login/../login?x=1' })
    await app.inject({ url: '/admin/export' })
    // Percent-encoded spellings of a sensitive path are the same path to the router.
    await app.inject({ method: 'POST', url: '/%6Cogin', payload: {} })
    await app.inject({ url: '/%6Cogin/unknown' })
    const kinds = events().map((l) => [l.event, l.status])
    expect(kinds).toEqual([
      ['security.sensitive_client_error', 400],
      ['security.sensitive_client_error', 404],
      ['security.sensitive_client_error', 404],
      ['security.sensitive_client_error', 400],
      ['security.sensitive_client_error', 404],
    ])
  })

  it('the /metrics token gate answers through the error renderer and counts as a 401 event', async () => {
    const res = await app.inject({ url: '/metrics', headers: { accept: 'text/html' } })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"')
    expect(res.headers['content-type']).toContain('text/html')
    expect(events().map((l) => l.event)).toEqual(['security.unauthorized'])
  })
})
