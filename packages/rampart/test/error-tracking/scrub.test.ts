import { describe, expect, it } from 'vitest'
import { scrubEvent, scrubQuery } from '../../src/error-tracking/scrub.js'
import { createRedactor } from '../../src/logging/redact.js'

const redactor = createRedactor(['national_id'])

describe('scrubEvent (beforeSend)', () => {
  it('drops cookies, body, credentials and forwarding headers, and secret query values, from an event’s request', () => {
    const event = {
      event_id: 'e1',
      request: {
        method: 'POST',
        url: 'https://shop.example/orders?password=hunter2&page=2',
        cookies: { session: 'c00kie' },
        data: '{"card":"4111111111111111"}',
        headers: {
          authorization: 'Bearer abc.def',
          cookie: 'session=c00kie',
          'set-cookie': 'session=c00kie',
          'x-forwarded-for': '10.1.2.3',
          'user-agent': 'curl/8',
          'content-type': 'application/json',
        },
        query_string: 'token=t0k3n&api_key=k3y&signing_key=s1g&q=shoes',
        env: { REMOTE_ADDR: '10.1.2.3' },
      },
      breadcrumbs: [{ message: 'GET /login?password=x' }],
    }
    const out = scrubEvent(event, redactor)
    expect(out.request).toEqual({
      method: 'POST',
      url: 'https://shop.example/orders',
      query_string: 'token=[REDACTED]&api_key=[REDACTED]&signing_key=[REDACTED]&q=shoes',
      headers: { 'user-agent': 'curl/8', 'content-type': 'application/json' },
    })
    expect(out).not.toHaveProperty('breadcrumbs')
    const text = JSON.stringify(out)
    for (const secret of [
      'hunter2',
      'c00kie',
      '4111',
      'abc.def',
      't0k3n',
      'k3y',
      's1g',
      '10.1.2.3',
    ])
      expect(text).not.toContain(secret)
    expect(event.request.cookies.session).toBe('c00kie') // the input is not mutated
  })

  it('redacts sensitive keys at any depth, the service’s own keys, and credentials inside strings', () => {
    const out = scrubEvent(
      {
        extra: { job: { payload: { user: { password: 'p4ss', national_id: '123-45' } } } },
        contexts: { order: { id: 7, secret_note: 'shh' } },
        exception: {
          values: [{ type: 'Error', value: 'connect to redis://app:pw0rd@cache failed' }],
        },
        tags: { route: '/orders/:id' },
      },
      redactor,
    )
    const text = JSON.stringify(out)
    for (const secret of ['p4ss', '123-45', 'shh', 'pw0rd']) expect(text).not.toContain(secret)
    expect(out.tags).toEqual({ route: '/orders/:id' })
    expect(out.contexts.order.id).toBe(7)
  })

  it('scrubQuery keeps harmless values and replaces every secret-looking one', () => {
    expect(scrubQuery('q=a%20b&Password=x&sessionid=y&key=z', redactor)).toBe(
      'q=a%20b&Password=[REDACTED]&sessionid=[REDACTED]&key=[REDACTED]',
    )
  })
})
