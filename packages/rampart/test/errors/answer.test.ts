import { afterEach, describe, expect, it } from 'vitest'
import { createRampart, type Rampart } from '../../src/core/rampart.js'
import { errorAnswer } from '../../src/errors/answer.js'
import { HttpError } from '../../src/errors/http-error.js'
import { TestExchange } from '../support/exchange.js'
import { type LogCapture, logCapture } from '../support/log-capture.js'

let core: Rampart
let logs: LogCapture
afterEach(async () => {
  await core?.close()
})
const make = () => {
  logs = logCapture()
  core = createRampart(
    {
      service: 't',
      logFormat: 'json',
      logLevel: 'debug',
      logDestination: logs.stream,
      nodeEnv: 'production',
      secretKey: 'k'.repeat(40),
    },
    {},
  )
}

describe('errorAnswer, framework-free', () => {
  it('renders a problem for the request and logs a fault as request.failed, a refusal at debug', () => {
    make()
    const ex = new TestExchange({ method: 'POST', url: '/orders/7?x=1', route: '/orders/:id' })
    const fault = errorAnswer(core, ex, new Error('db password=hunter2 exploded'))
    expect(fault?.status).toBe(500)
    expect(fault?.contentType).toMatch(/^application\/problem\+json/)
    const problem = JSON.parse(String(fault?.body))
    expect(problem.instance).toBe('/orders/7')
    expect(problem.request_id).toBe('req-1')
    expect(String(fault?.body)).not.toContain('hunter2')
    const refused = errorAnswer(core, ex, new HttpError(429, { headers: { 'retry-after': '3' } }))
    expect(refused?.headers['retry-after']).toBe('3')
    const events = logs.lines().map((l) => [l.event, l.level, l.route, l.status])
    expect(events).toEqual([
      ['request.failed', 'error', '/orders/:id', 500],
      ['request.rejected', 'debug', '/orders/:id', 429],
    ])
  })

  it('answers a refused upload with the refusal, and after the headers records a 500', () => {
    make()
    const ex = new TestExchange({ method: 'POST', url: '/upload', route: '/upload' })
    ex.uploadRefusal = new HttpError(413)
    expect(errorAnswer(core, ex, new Error('Unexpected end of form'))?.status).toBe(413)
    const late = new TestExchange({ url: '/stream', route: '/stream' })
    late.sent = true
    expect(errorAnswer(core, late, new Error('boom'))).toBeUndefined()
    expect(late.failedAfterHeaders).toBe(true)
    expect(logs.lines().at(-1)).toMatchObject({
      event: 'request.failed',
      status: 500,
      route: '/stream',
    })
  })
})
