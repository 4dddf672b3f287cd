import Fastify from 'fastify'
import rampart from 'rampart/fastify'
import { requestIdFrom } from 'rampart/internal'
import { describe, expect, it } from 'vitest'
import { logCapture } from '../support/log-capture.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe('X-Request-Id', () => {
  it.each([
    ['abc-123', true],
    ['a.b_c:d-E9', true],
    ['x'.repeat(128), true],
    ['x'.repeat(129), false],
    ['', false],
    ['abc\r\nX-Injected: 1', false],
    ['abc\ndef', false],
    ['\u001b[31mred\u001b[0m', false],
    ['has space', false],
    ['quote"', false],
    ['<script>', false],
    ['ünïcode', false],
  ])('%j reused: %s', (value, reused) => {
    const id = requestIdFrom(value)
    if (reused) expect(id).toBe(value)
    else expect(id).toMatch(UUID)
  })

  it('a repeated header is not trusted', () => {
    expect(requestIdFrom(['a', 'b'])).toMatch(UUID)
  })

  it('is echoed on every response, reused when valid and replaced otherwise', async () => {
    const logs = logCapture()
    const app = Fastify()
    await app.register(rampart, {
      logFormat: 'json',
      logLevel: 'info',
      logDestination: logs.stream,
    })
    app.get('/ok', async () => ({ ok: true }))
    app.get('/boom', async () => {
      throw new Error('boom')
    })

    const reused = await app.inject({ url: '/ok', headers: { 'x-request-id': 'client-id-1' } })
    expect(reused.headers['x-request-id']).toBe('client-id-1')

    const minted = await app.inject({ url: '/ok', headers: { 'x-request-id': 'x'.repeat(200) } })
    expect(minted.headers['x-request-id']).toMatch(UUID)

    const ansi = await app.inject({ url: '/ok', headers: { 'x-request-id': '\u001b[2Jcleared' } })
    expect(ansi.headers['x-request-id']).toMatch(UUID)

    const none = await app.inject({ url: '/ok' })
    expect(none.headers['x-request-id']).toMatch(UUID)

    const notFound = await app.inject({ url: '/nope', headers: { 'x-request-id': 'nf-1' } })
    expect(notFound.statusCode).toBe(404)
    expect(notFound.headers['x-request-id']).toBe('nf-1')

    const failed = await app.inject({ url: '/boom', headers: { 'x-request-id': 'err-1' } })
    expect(failed.statusCode).toBe(500)
    expect(failed.headers['x-request-id']).toBe('err-1')
    await app.close()

    const ids = logs
      .lines()
      .filter((l) => l.event === 'request.completed')
      .map((l) => l.request_id)
    expect(ids).toContain('client-id-1')
    expect(ids).not.toContain('x'.repeat(200))
    expect(ids).toContain('err-1')
  })
})
