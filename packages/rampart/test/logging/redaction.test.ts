import Fastify from 'fastify'
import { createRedactor } from 'rampart'
import rampart from 'rampart/fastify'
import { describe, expect, it } from 'vitest'
import { logCapture } from '../support/log-capture.js'

const CANARY_PASSWORD = 'canary-pw-7f3a9c'
const CANARY_COOKIE = 'canary-cookie-1b2d4e'
const CANARY_TOKEN = 'canary-token-5e6f7a8b'

describe('redaction in logs', () => {
  it('no canary password, cookie or Authorization value reaches any log line, at any level', async () => {
    const logs = logCapture()
    const app = Fastify()
    await app.register(rampart, {
      logFormat: 'json',
      logLevel: 'trace',
      logDestination: logs.stream,
    })
    // CSRF off: this request carries the session cookie as a canary, not as a browser session.
    app.post('/echo', { config: { csrf: false } }, async (request) => {
      // A careless service logs everything it has, at every level.
      request.log.trace({ headers: request.headers }, 'headers')
      request.log.debug({ query: request.query, body: request.body, url: request.url }, 'input')
      request.log.info(`user logged in with password=${CANARY_PASSWORD} via ${request.url}`)
      request.log.warn({ attempt: { nested: { deeper: { Password: CANARY_PASSWORD } } } })
      request.log.error(
        new Error(`login failed for alice: password=${CANARY_PASSWORD}; Bearer ${CANARY_TOKEN}`),
      )
      request.log.error(
        { err: new Error(`upstream said {"password":"${CANARY_PASSWORD}"}`) },
        'upstream failed',
      )
      request.log.info('printf style %s', `authorization: Bearer ${CANARY_TOKEN}`)
      return { ok: true }
    })
    const res = await app.inject({
      method: 'POST',
      url: `/echo?password=${CANARY_PASSWORD}&api_key=${CANARY_TOKEN}&page=2`,
      headers: {
        authorization: `Bearer ${CANARY_TOKEN}`,
        cookie: `session=${CANARY_COOKIE}`,
        'x-api-key': CANARY_TOKEN,
        'content-type': 'application/json',
      },
      payload: {
        username: 'alice',
        password: CANARY_PASSWORD,
        profile: { settings: { credentials: { secret: CANARY_TOKEN } } },
        list: [{ token: CANARY_TOKEN }],
      },
    })
    expect(res.statusCode).toBe(200)
    await app.close()
    const text = logs.text()
    expect(logs.lines().length).toBeGreaterThanOrEqual(8)
    for (const canary of [CANARY_PASSWORD, CANARY_COOKIE, CANARY_TOKEN]) {
      expect(text).not.toContain(canary)
    }
    // What is not secret stays readable.
    expect(text).toContain('alice')
    expect(text).toContain('page')
    expect(text).toContain('[REDACTED]')
  })
})

describe('createRedactor', () => {
  const r = createRedactor(['ssn'])

  it('matches key names case-insensitively at any depth, ignoring - and _', () => {
    const out = r.redact({
      a: { b: { c: { PassWord: 'x', API_KEY: 'y', 'X-Api-Key': 'z', ssn: '123' } } },
      keep: 'visible',
    })
    expect(out).toEqual({
      a: {
        b: {
          c: {
            PassWord: '[REDACTED]',
            API_KEY: '[REDACTED]',
            'X-Api-Key': '[REDACTED]',
            ssn: '[REDACTED]',
          },
        },
      },
      keep: 'visible',
    })
  })

  it('scrubs credentials inside strings', () => {
    expect(r.redactString('GET /login?user=bob&password=s3cr3t&x=1')).toBe(
      'GET /login?user=bob&password=[REDACTED]&x=1',
    )
    expect(r.redactString('Authorization: Bearer abc.def.ghi')).toBe(
      'Authorization: Bearer [REDACTED]',
    )
    expect(r.redactString('postgres://app:pa55word@db:5432/x')).toBe(
      'postgres://app:[REDACTED]@db:5432/x',
    )
    expect(r.redactString('{"token": "abc123", "id": 4}')).toBe('{"token": "[REDACTED]", "id": 4}')
    expect(r.redactString('nothing to see here')).toBe('nothing to see here')
  })

  it('does not mutate its input and survives cycles and depth', () => {
    const input: Record<string, unknown> = { password: 'x' }
    input.self = input
    let deep: Record<string, unknown> = {}
    const root = deep
    for (let i = 0; i < 10_000; i++) {
      deep.next = {}
      deep = deep.next as Record<string, unknown>
    }
    const out = r.redact({ input, root }) as { input: Record<string, unknown> }
    expect(input.password).toBe('x')
    expect(out.input.password).toBe('[REDACTED]')
    expect(out.input.self).toBe('[Circular]')
    expect(JSON.stringify(out)).toContain('[Truncated]')
  })
})
