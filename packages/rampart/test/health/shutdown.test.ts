import { type Agent, request as httpRequest } from 'node:http'
import { describe, expect, it } from 'vitest'
import { runTs } from '../support/child.js'

const SERVER = new URL('../fixtures/slow-server.ts', import.meta.url).pathname

function get(port: number, path: string, agent?: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = ''
      res.on('data', (d) => {
        body += d
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('graceful shutdown', () => {
  it('SIGTERM with 20 slow requests in flight: all complete, readyz 503 while draining, new connections refused, exit 0', async () => {
    const child = runTs(SERVER, {
      SLOW_MS: '2000',
      DRAIN_TIMEOUT_MS: '8000',
      PRE_STOP_DELAY_MS: '600',
    })
    const port = await child.port
    expect((await get(port, '/readyz')).status).toBe(200)

    const started = Date.now()
    const inFlight = Array.from({ length: 20 }, () => get(port, '/slow'))
    await new Promise((r) => setTimeout(r, 300))
    child.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 200))
    // During the pre-stop delay the app still answers, but reports itself not ready.
    const readyDuringDrain = await get(port, '/readyz')
    expect(readyDuringDrain.status).toBe(503)
    expect(readyDuringDrain.body).toContain('draining')
    // Then it stops accepting; the slow requests are still in flight.
    await new Promise((r) => setTimeout(r, 700))
    await expect(get(port, '/items/1')).rejects.toThrow(/ECONNREFUSED|ECONNRESET|socket hang up/)

    const results = await Promise.all(inFlight)
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(await child.exited).toBe(0)
    // Well inside the drain timeout: the drain ends when the last slow request does.
    expect(Date.now() - started).toBeLessThan(4500)
    const events = child
      .stdoutText()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event?: string }).event)
    expect(events).toContain('service.stopping')
    expect(events.filter((e) => e === 'request.completed').length).toBeGreaterThanOrEqual(20)
  })
})

describe('SHUTDOWN_DELAY_S', () => {
  it('=2: /readyz answers 503 for about 2 s while the app serves, then connections are refused, exit 0', async () => {
    const child = runTs(SERVER, { SHUTDOWN_DELAY_S: '2' })
    const port = await child.port
    expect((await get(port, '/readyz')).status).toBe(200)
    child.kill('SIGTERM')
    const signalled = Date.now()
    // Probe on new connections every 100 ms until one is refused.
    const seen: Array<{ at: number; status: number | 'refused' }> = []
    while (Date.now() - signalled < 8_000) {
      const r = await get(port, '/readyz').catch(() => undefined)
      seen.push({ at: Date.now() - signalled, status: r?.status ?? 'refused' })
      if (r === undefined) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const answered = seen.filter((s) => s.status !== 'refused')
    const refused = seen.find((s) => s.status === 'refused')
    // The signal takes a moment to arrive: a 200 may come first, never after a 503.
    const firstDraining = answered.findIndex((s) => s.status === 503)
    expect(firstDraining).toBeGreaterThanOrEqual(0)
    expect(answered[firstDraining]?.at).toBeLessThan(500)
    expect(answered.slice(firstDraining).every((s) => s.status === 503)).toBe(true)
    expect(answered.length - firstDraining).toBeGreaterThan(5)
    expect(refused?.at).toBeGreaterThanOrEqual(1_800)
    expect(refused?.at).toBeLessThan(4_000)
    expect(await child.exited).toBe(0)
  }, 20_000)
})
