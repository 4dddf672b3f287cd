import { createServer } from 'node:http'
import { connect, type Socket } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import rampart, { applyServerTimeouts } from 'rampart/fastify'
import { afterEach, describe, expect, it } from 'vitest'

/** Resolves with when a raw socket was closed and what the server sent on it. */
function watch(socket: Socket, opened: number): Promise<{ closedAfterMs: number; reply: string }> {
  let reply = ''
  socket.on('data', (d) => {
    reply += d
  })
  socket.on('error', () => {})
  return new Promise((resolve) =>
    socket.on('close', () => resolve({ closedAfterMs: Date.now() - opened, reply })),
  )
}

/** A client that sends its headers, then a body of 1,000 bytes at 1 byte every 400 ms. */
function slowBody(port: number) {
  const opened = Date.now()
  const socket = connect(port, '127.0.0.1')
  socket.write(
    'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n',
  )
  const drip = setInterval(() => {
    if (!socket.destroyed) socket.write('x')
  }, 400)
  return watch(socket, opened).finally(() => clearInterval(drip))
}

/** A client that connects and sends nothing, or sends one request and then stays idle. */
function idle(port: number, afterOneRequest: boolean) {
  const opened = Date.now()
  const socket = connect(port, '127.0.0.1')
  if (afterOneRequest) socket.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n')
  return watch(socket, opened)
}

describe('server timeouts (set small: 2 s each)', () => {
  let app: FastifyInstance | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  it('50 slow-body and 50 idle connections are closed within the timeouts + 5 s while a normal client is served', async () => {
    app = Fastify()
    await app.register(rampart, {
      nodeEnv: 'test',
      logLevel: 'silent',
      timeouts: { requestS: 2, keepAliveS: 2, headersS: 2 },
    })
    app.post('/echo', async (request) => ({ length: String(request.body).length }))
    app.get('/ok', async () => ({ ok: true }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }

    const slow = Array.from({ length: 50 }, () => slowBody(port))
    const idles = Array.from({ length: 50 }, (_, i) => idle(port, i % 2 === 0))
    // The normal client: one request every 200 ms until every bad connection is gone.
    const served: number[] = []
    let done = false
    const normal = (async () => {
      while (!done) {
        const res = await fetch(`http://127.0.0.1:${port}/ok`)
        served.push(res.status)
        await res.arrayBuffer()
        await new Promise((r) => setTimeout(r, 200))
      }
    })()
    const slowResults = await Promise.all(slow)
    const idleResults = await Promise.all(idles)
    done = true
    await normal

    for (const r of [...slowResults, ...idleResults]) expect(r.closedAfterMs).toBeLessThan(7_000)
    // Cut off by the timeout, not before: a slow body gets 408 from the server.
    for (const r of slowResults) {
      expect(r.closedAfterMs).toBeGreaterThanOrEqual(1_500)
      expect(r.reply).toMatch(/^HTTP\/1\.1 408 /)
    }
    // Idle keep-alive connections got their answer first.
    for (const r of idleResults.filter((_, i) => i % 2 === 0))
      expect(r.reply).toMatch(/^HTTP\/1\.1 200 /)
    expect(served.length).toBeGreaterThan(5)
    expect(served.every((s) => s === 200)).toBe(true)
  }, 30_000)

  it('defaults: 30 s request, 10 s headers, 5 s keep-alive on the app server', async () => {
    app = Fastify()
    await app.register(rampart, { nodeEnv: 'test', logLevel: 'silent' })
    await app.ready()
    expect(app.server.requestTimeout).toBe(30_000)
    expect(app.server.headersTimeout).toBe(10_000)
    expect(app.server.keepAliveTimeout).toBe(5_000)
  })

  it('a serverFactory server and Fastify factory timeouts get the configured values too', async () => {
    app = Fastify({
      requestTimeout: 0,
      keepAliveTimeout: 72_000,
      serverFactory: (handler) => createServer(handler),
    })
    await app.register(rampart, {
      nodeEnv: 'test',
      logLevel: 'silent',
      timeouts: { requestS: 20, keepAliveS: 3, headersS: 8 },
    })
    await app.ready()
    expect(app.server.requestTimeout).toBe(20_000)
    expect(app.server.headersTimeout).toBe(8_000)
    expect(app.server.keepAliveTimeout).toBe(3_000)
  })

  it('applyServerTimeouts covers a server Rampart did not create', async () => {
    const server = createServer((req, res) => {
      req.resume()
      req.on('end', () => res.end('ok'))
    })
    applyServerTimeouts(server, { requestMs: 1_000, headersMs: 1_000, keepAliveMs: 1_000 })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const { port } = server.address() as { port: number }
      const r = await slowBody(port)
      expect(r.closedAfterMs).toBeLessThan(6_000)
      expect(r.reply).toMatch(/^HTTP\/1\.1 408 /)
    } finally {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    }
  }, 15_000)
})
