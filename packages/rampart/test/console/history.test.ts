import Fastify, { type FastifyInstance } from 'fastify'
import { defineConfig } from 'rampart'
import rampart from 'rampart/fastify'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type Cumulative,
  estimateQuantileMs,
  RequestHistory,
  readCumulative,
} from '../../src/console/history.js'
import type { ConsoleSnapshot } from '../../src/console/snapshot.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

/** A counter reading: `fast` requests in the 0.1 s bucket, `slow` in the 1 s bucket. */
function reading(fast: number, slow: number, errors = 0): Cumulative {
  return {
    requests: fast + slow,
    errors,
    buckets: new Map([
      [0.1, fast],
      [1, fast + slow],
      [Number.POSITIVE_INFINITY, fast + slow],
    ]),
  }
}

describe('the console history (ring buffer)', () => {
  it('turns counter readings into per-interval rates and a p95, oldest first', async () => {
    let now = 1_000_000
    let current = reading(0, 0)
    const h = new RequestHistory(
      async () => current,
      10_000,
      90,
      () => now,
    )
    await h.sample() // the baseline: no point yet
    expect(h.series().points).toEqual([])
    current = reading(90, 10, 5) // 100 requests, 5 of them 5xx, in 10 s
    now += 10_000
    await h.sample()
    now += 10_000
    await h.sample() // an idle interval
    const { points, interval_seconds, capacity } = h.series()
    expect({ interval_seconds, capacity }).toEqual({ interval_seconds: 10, capacity: 90 })
    expect(points).toEqual([
      {
        at: new Date(1_010_000).toISOString(),
        requests_per_second: 10,
        errors_per_second: 0.5,
        // rank 95 of 100: 5 of the 10 in the (0.1, 1] bucket → 0.1 + 0.9 × 0.5 s
        p95_ms: 550,
      },
      {
        at: new Date(1_020_000).toISOString(),
        requests_per_second: 0,
        errors_per_second: 0,
        p95_ms: null,
      },
    ])
  })

  it('keeps at most its capacity: the oldest points fall off', async () => {
    let now = 0
    let n = 0
    const h = new RequestHistory(
      async () => reading(n, 0),
      10_000,
      90,
      () => now,
    )
    for (let i = 0; i <= 100; i++) {
      n += i // interval i adds i requests
      now += 10_000
      await h.sample()
    }
    const { points } = h.series()
    expect(points).toHaveLength(90)
    // 100 intervals were recorded; the first 10 are gone.
    expect(points[0]?.requests_per_second).toBe(1.1)
    expect(points.at(-1)?.requests_per_second).toBe(10)
    expect(points.map((p) => Date.parse(p.at))).toEqual(
      [...points.map((p) => Date.parse(p.at))].sort((a, b) => a - b),
    )
  })

  it('estimates quantiles like histogram_quantile, capped at the largest finite bound', () => {
    const b = (entries: Array<[number, number]>) => new Map(entries)
    expect(estimateQuantileMs(b([[Number.POSITIVE_INFINITY, 0]]), 0.95)).toBeNull()
    // all in the first bucket: interpolated from 0
    expect(
      estimateQuantileMs(
        b([
          [0.1, 10],
          [Number.POSITIVE_INFINITY, 10],
        ]),
        0.5,
      ),
    ).toBe(50)
    // above every finite bound: the largest finite bound
    expect(
      estimateQuantileMs(
        b([
          [0.1, 0],
          [Number.POSITIVE_INFINITY, 10],
        ]),
        0.95,
      ),
    ).toBe(100)
  })
})

describe('the console charts over real traffic', () => {
  it('samples every 10 s on its own timer; the page draws three SVG charts and the JSON has the series', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    const app = Fastify()
    apps.push(app)
    await app.register(rampart, { service: 'orders', logLevel: 'silent' })
    app.get('/ok', async () => ({ ok: true }))
    app.get('/boom', async () => {
      throw new Error('down')
    })
    await app.ready()
    for (let i = 0; i < 40; i++) await app.inject({ url: '/ok' })
    for (let i = 0; i < 10; i++) await app.inject({ url: '/boom' })
    await vi.advanceTimersByTimeAsync(10_000)
    await vi.advanceTimersByTimeAsync(10_000) // a quiet interval

    const s = (await app.inject({ url: '/_rampart/api/summary' })).json() as ConsoleSnapshot
    expect(s.history.interval_seconds).toBe(10)
    expect(s.history.capacity).toBe(90)
    expect(s.history.points).toHaveLength(2)
    expect(s.history.points[0]).toMatchObject({ requests_per_second: 5, errors_per_second: 1 })
    expect(s.history.points[0]?.p95_ms).toBeGreaterThan(0)
    expect(s.history.points[1]).toMatchObject({
      requests_per_second: 0,
      errors_per_second: 0,
      p95_ms: null,
    })

    const page = await app.inject({ url: '/_rampart' })
    expect(page.statusCode).toBe(200)
    const svgs = page.body.match(/<svg viewBox="[^"]+" role="img"/g) ?? []
    expect(svgs).toHaveLength(3)
    expect(page.body).toMatch(/<figcaption>requests <b>0 req\/s<\/b>/)
    expect(page.body).toContain('aria-label="5xx over the last 15 minutes; latest 0 err/s"')
    // Drawn on the server: no script, no inline style for the CSP to block.
    expect(page.body).not.toMatch(/<script|<style| style=/)

    // Closing the app stops the sampler: no timer of the console's is left behind.
    const before = vi.getTimerCount()
    await app.close()
    expect(vi.getTimerCount()).toBeLessThan(before)
  })

  it('sums only the boundaries every route has: an SLO threshold of one route leaves the histogram cumulative', async () => {
    const app = Fastify()
    apps.push(app)
    const slo = defineConfig({
      service: 'orders',
      slos: [
        { name: 'fast', kind: 'latency', route: 'GET /fast', thresholdSeconds: 0.3, objective: 99 },
      ],
    })
    await app.register(rampart, { logLevel: 'silent', slo })
    app.get('/fast', async () => ({}))
    app.get('/other', async () => ({}))
    for (let i = 0; i < 3; i++) await app.inject({ url: '/fast' })
    for (let i = 0; i < 5; i++) await app.inject({ url: '/other' })
    const { buckets } = await readCumulative(app.rampart)
    // le="0.3" exists on GET /fast only: read, it would count 3 requests between 0.25 (8) and 0.5 (8).
    expect(buckets.has(0.3)).toBe(false)
    const counts = [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n)
    expect(counts).toEqual([...counts].sort((a, b) => a - b))
    expect(buckets.get(Number.POSITIVE_INFINITY)).toBe(8)
  })
})
