import Fastify from 'fastify'
import rampart from 'rampart/fastify'
import { describe, expect, it } from 'vitest'

describe('/healthz and /readyz', () => {
  it('healthz is 200 ok; readyz is 200 when every check passes', async () => {
    const app = Fastify()
    await app.register(rampart, { logLevel: 'silent', logFormat: 'json' })
    app.rampart.health.addCheck({ name: 'database', check: async () => true })
    const live = await app.inject({ url: '/healthz' })
    expect(live.statusCode).toBe(200)
    expect(live.json()).toEqual({ status: 'ok' })
    const ready = await app.inject({ url: '/readyz' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toMatchObject({ status: 'ok', checks: { database: { status: 'ok' } } })
    await app.close()
  })

  it('readyz is 503 and names a check that throws or times out', async () => {
    const app = Fastify()
    await app.register(rampart, { logLevel: 'silent', logFormat: 'json' })
    app.rampart.health.addCheck({ name: 'database', check: async () => true })
    app.rampart.health.addCheck({
      name: 'cache',
      check: async () => {
        throw new Error('ECONNREFUSED 127.0.0.1:6379')
      },
    })
    app.rampart.health.addCheck({
      name: 'queue',
      check: () => new Promise(() => {}),
      timeoutMs: 50,
    })
    const res = await app.inject({ url: '/readyz' })
    expect(res.statusCode).toBe(503)
    const body = res.json()
    expect(body.status).toBe('unavailable')
    expect(body.failing.sort()).toEqual(['cache', 'queue'])
    expect(body.checks.queue.error).toContain('timed out after 50 ms')
    expect(body.checks.database.status).toBe('ok')
    await app.close()
  })

  it('readyz turns 503 while draining', async () => {
    const app = Fastify()
    await app.register(rampart, { logLevel: 'silent', logFormat: 'json' })
    app.rampart.health.startDraining()
    const res = await app.inject({ url: '/readyz' })
    expect(res.statusCode).toBe(503)
    expect(res.json().status).toBe('draining')
    await app.close()
  })
})
