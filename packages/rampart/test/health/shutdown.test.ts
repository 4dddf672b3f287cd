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
