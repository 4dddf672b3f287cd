import { afterEach, describe, expect, it } from 'vitest'
import { SHUTDOWN_FLUSH_MS } from '../../src/error-tracking/start.js'
import { type AppFactory, type AppUnderTest, CANARY, USER_ID } from './error-tracking-app.js'
import { type SentryReceiver, startSentryReceiver } from './sentry-receiver.js'

/** Sends `count` failing requests one after another; returns the slowest one's milliseconds. */
async function failMany(app: AppUnderTest, count: number): Promise<number> {
  let slowest = 0
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    const res = await fetch(`${app.url}/items/${i}/fail`)
    await res.arrayBuffer()
    expect(res.status).toBe(500)
    slowest = Math.max(slowest, performance.now() - started)
  }
  return slowest
}

/** `rampart_error_reports_dropped_total` by reason, from the app's /metrics. */
async function droppedTotal(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const out: Record<string, number> = {}
  for (const m of text.matchAll(/^rampart_error_reports_dropped_total\{reason="(\w+)"\} (\d+)/gm))
    out[m[1] as string] = Number(m[2])
  return out
}

/**
 * Error tracking as a user sees it, against a real `@sentry/node` client sending to a local
 * envelope receiver. App-agnostic: each framework adapter runs it with its own `AppFactory`.
 */
export function errorTrackingSuite(adapter: string, start: AppFactory): void {
  describe(`error tracking (${adapter})`, () => {
    let receiver: SentryReceiver | undefined
    let app: AppUnderTest | undefined
    afterEach(async () => {
      await app?.close()
      await receiver?.close()
      app = undefined
      receiver = undefined
    })

    const begin = async () => {
      receiver = await startSentryReceiver()
      app = await start({ sentryDsn: receiver.dsn, sentryRelease: 'conformance@1.2.3' })
      return { receiver, app }
    }

    /** Sends what is queued, then waits a little more so a late duplicate would show. */
    const settle = async (a: AppUnderTest) => {
      expect(await a.errors.flush(5000)).toBe(true)
      await new Promise((r) => setTimeout(r, 200))
    }

    it('a handler 500 is one event with the request id, the log lines’ trace id, the route, method, status and the user’s fingerprint only', async () => {
      const { receiver, app } = await begin()
      const res = await fetch(`${app.url}/items/7/fail`)
      expect(res.status).toBe(500)
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      const requestId = res.headers.get('x-request-id')
      await receiver.waitForEvents(1)
      await settle(app)
      const events = receiver.events()
      expect(events).toHaveLength(1)
      const [event] = events
      const access = app.logs
        .lines()
        .find((l) => l.event === 'request.completed' && l.request_id === requestId)
      expect(access?.trace_id).toMatch(/^[0-9a-f]{32}$/)
      expect(event?.tags).toMatchObject({
        request_id: requestId,
        trace_id: access?.trace_id,
        route: '/items/:id/fail',
        method: 'GET',
        status: '500',
        service: 'conformance',
        version: 'conformance@1.2.3',
      })
      expect(event?.contexts?.trace?.trace_id).toBe(access?.trace_id)
      expect(event?.contexts?.trace?.span_id).toBe(access?.span_id)
      expect(event?.release).toBe('conformance@1.2.3')
      expect(event?.environment).toBe('test')
      expect(event?.user).toEqual({ id: app.fingerprint(USER_ID) })
      expect(event?.user?.id).toMatch(/^[0-9a-f]{8}$/)
      expect(event?.exception?.values?.[0]?.value).toContain('lookup failed')
      expect(receiver.raw()).not.toContain(USER_ID)
      // The failure's own log line carries the same trace id.
      const failed = app.logs.lines().find((l) => l.event === 'request.failed')
      expect(failed?.trace_id).toBe(access?.trace_id)
    })

    it('canaries in the cookie, Authorization, query, JSON body, error message and nested details.secret leave in no envelope', async () => {
      const { receiver, app } = await begin()
      const query = `password=${CANARY.password}&token=${CANARY.token}&page=2`
      const headers = {
        cookie: `session=${CANARY.cookie}; theme=dark`,
        authorization: `Bearer ${CANARY.authorization}`,
      }
      const get = await fetch(`${app.url}/items/7/fail?${query}`, { headers })
      const post = await fetch(`${app.url}/items/8/fail?${query}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ note: CANARY.body, password: CANARY.password }),
      })
      expect([get.status, post.status]).toEqual([500, 500])
      await receiver.waitForEvents(2)
      await settle(app)
      expect(receiver.events()).toHaveLength(2)
      const raw = receiver.raw()
      expect(raw).toContain('lookup failed') // the envelopes are the ones searched
      for (const [where, canary] of Object.entries(CANARY))
        expect(raw, `the ${where} canary left the process`).not.toContain(canary)
    })

    it('4xx answers are never reported; a 5xx answered without throwing is', async () => {
      const { receiver, app } = await begin()
      expect((await fetch(`${app.url}/nowhere`)).status).toBe(404)
      const invalid = await fetch(`${app.url}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
      expect(invalid.status).toBe(422)
      expect((await fetch(`${app.url}/items/3`)).status).toBe(200)
      await settle(app)
      expect(receiver.events()).toHaveLength(0)
      expect((await fetch(`${app.url}/items/3/unavailable`)).status).toBe(503)
      const [event] = await receiver.waitForEvents(1)
      expect(event?.tags).toMatchObject({ route: '/items/:id/unavailable', status: '503' })
    })

    it('a response that fails after its headers were sent (counted a 500) is one event', async () => {
      const { receiver, app } = await begin()
      await fetch(`${app.url}/items/4/half`)
        .then((r) => r.text())
        .catch(() => undefined)
      const [event] = await receiver.waitForEvents(1)
      expect(event?.tags).toMatchObject({ route: '/items/:id/half', status: '500' })
      await settle(app)
      expect(receiver.events()).toHaveLength(1)
    })

    it('a hung endpoint (answers after 10 s): requests do not wait, overflow is dropped and counted, shutdown ends within its flush deadline', async () => {
      const { receiver, app } = await begin()
      receiver.delayMs = 10_000
      const slowest = await failMany(app, 45)
      expect(slowest).toBeLessThan(2000)
      const dropped = await droppedTotal(app.url)
      // 30 sends held by the endpoint fill the queue; the rest were dropped, not queued.
      expect(dropped.queue_overflow).toBeGreaterThanOrEqual(10)
      const started = Date.now()
      await app.close()
      expect(Date.now() - started).toBeLessThan(SHUTDOWN_FLUSH_MS + 1500)
      const closeLine = app.logs.lines().find((l) => l.event === 'error_tracking.flush_timed_out')
      expect(closeLine).toBeDefined()
      expect(
        app.logs.lines().filter((l) => l.event === 'error_tracking.report_dropped'),
      ).toHaveLength(1)
    })

    it('a stopped endpoint: requests do not wait, failed sends are counted as network errors', async () => {
      const { receiver, app } = await begin()
      await receiver.close()
      const slowest = await failMany(app, 10)
      expect(slowest).toBeLessThan(2000)
      await app.errors.flush(3000)
      const dropped = await droppedTotal(app.url)
      expect(dropped.network_error).toBe(10)
    })

    it('a handler that fails after its client went away (no answer sent) is still one event', async () => {
      const { receiver, app } = await begin()
      const aborted = new AbortController()
      const pending = fetch(`${app.url}/items/5/slow-fail`, { signal: aborted.signal })
      setTimeout(() => aborted.abort(), 100)
      await expect(pending).rejects.toThrow()
      const [event] = await receiver.waitForEvents(1)
      await settle(app)
      expect(receiver.events()).toHaveLength(1)
      expect(event?.tags).toMatchObject({ route: '/items/:id/slow-fail', status: '500' })
      expect(event?.exception?.values?.[0]?.value).toBe('slow failure')
      // The access line says the client left (499); the report says what failed.
      const access = app.logs.lines().find((l) => l.event === 'request.completed')
      expect(access?.status).toBe(499)
      expect(event?.tags?.request_id).toBe(access?.request_id)
    })

    it('a background job’s last failed attempt, reported through core.errors, is one event with its tags', async () => {
      const { receiver, app } = await begin()
      app.errors.capture(new Error('sending the digest failed'), {
        tags: { queue: 'emails', job: '42', attempt: '3' },
        extra: { to: 'someone', api_key: CANARY.token },
      })
      const [event] = await receiver.waitForEvents(1)
      await settle(app)
      expect(receiver.events()).toHaveLength(1)
      expect(event?.tags).toMatchObject({ queue: 'emails', job: '42', attempt: '3' })
      expect(event?.contexts?.trace?.trace_id).toMatch(/^[0-9a-f]{32}$/)
      expect(receiver.raw()).not.toContain(CANARY.token)
    })
  })
}
