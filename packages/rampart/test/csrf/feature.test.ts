import { afterEach, describe, expect, it } from 'vitest'
import { createRampart, type Rampart } from '../../src/core/rampart.js'
import { csrfFeature } from '../../src/csrf/feature.js'
import { statusOf, TestExchange } from '../support/exchange.js'
import { type LogCapture, logCapture } from '../support/log-capture.js'

let core: Rampart
let logs: LogCapture
const make = () => {
  logs = logCapture()
  core = createRampart(
    {
      service: 't',
      logFormat: 'json',
      logLevel: 'info',
      logDestination: logs.stream,
      secretKey: 'k'.repeat(40),
    },
    {},
  )
  return csrfFeature(core)
}
afterEach(async () => {
  await core?.close()
})

const post = (init: ConstructorParameters<typeof TestExchange>[0] = {}) =>
  new TestExchange({ method: 'POST', url: '/form', route: '/form', ...init })

describe('CSRF feature, framework-free', () => {
  it('refuses a cross-site post and counts it, lets safe, unrouted and opted-out requests by', async () => {
    const csrf = make()
    const crossSite = post({ headers: { 'sec-fetch-site': 'cross-site' } })
    expect(statusOf(csrf.guard?.(crossSite))).toBe(403)
    expect(crossSite.securityReported).toBe(true)
    expect(csrf.guard?.(new TestExchange({ headers: { 'sec-fetch-site': 'cross-site' } }))).toBe(
      undefined,
    )
    const unrouted = post({ headers: { 'sec-fetch-site': 'cross-site' }, matched: false })
    expect(csrf.guard?.(unrouted)).toBeUndefined()
    const hook = post({ headers: { 'sec-fetch-site': 'cross-site' }, config: { csrf: false } })
    expect(csrf.guard?.(hook)).toBeUndefined()
    const text = await core.metrics.registry.metrics()
    expect(text).toMatch(/rampart_csrf_blocks_total\{reason="cross_site"\} 1/)
    expect(logs.lines().filter((l) => l.event === 'security.csrf_blocked')).toHaveLength(1)
  })

  it('checks a session-bound token in the header, the multipart query, or a form body', () => {
    const csrf = make()
    const session = { cookie: 'session=s1' }
    const issuer = new TestExchange({ headers: session })
    const token = csrf.csrfToken(issuer)
    expect(issuer.csrfIssued).toBe(true)

    expect(csrf.guard?.(post({ headers: { ...session, 'x-csrf-token': token } }))).toBeUndefined()
    const wrongSession = post({ headers: { cookie: 'session=s2', 'x-csrf-token': token } })
    expect(statusOf(csrf.guard?.(wrongSession))).toBe(403)

    const upload = post({
      headers: { ...session, 'content-type': 'multipart/form-data; boundary=b' },
      query: { csrf_token: token },
    })
    expect(csrf.guard?.(upload)).toBeUndefined()

    const hooks = csrf.forRoute?.({ methods: ['POST'], url: '/form', config: {} })
    const form = post({
      headers: { ...session, 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(csrf.guard?.(form)).toBeUndefined()
    expect(form.csrfPendingSession).toBe('s1')
    expect(hooks?.beforeValidation?.(form, { csrf_token: token })).toBeUndefined()
    const forged = post({ headers: { ...session, 'content-type': 'application/json' } })
    expect(csrf.guard?.(forged)).toBeUndefined()
    expect(statusOf(hooks?.beforeValidation?.(forged, { csrf_token: 'x' }))).toBe(403)
  })

  it('refuses a form post to a route it never saw registered, and warns once', () => {
    const csrf = make()
    expect(csrf.forRoute?.({ methods: ['GET'], url: '/form', config: {} })).toBeUndefined()
    expect(csrf.forRoute?.({ methods: ['POST'], url: '/hook', config: { csrf: false } })).toBe(
      undefined,
    )
    const headers = { cookie: 'session=s1', 'content-type': 'application/x-www-form-urlencoded' }
    expect(statusOf(csrf.guard?.(post({ headers })))).toBe(403)
    expect(statusOf(csrf.guard?.(post({ headers })))).toBe(403)
    expect(logs.lines().filter((l) => l.event === 'csrf.route_unchecked')).toHaveLength(1)
    expect(
      logs
        .lines()
        .filter((l) => l.event === 'security.csrf_blocked')
        .map((l) => l.reason),
    ).toEqual(['unchecked_route', 'unchecked_route'])
  })
})
