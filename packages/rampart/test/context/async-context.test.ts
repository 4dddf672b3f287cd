import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import { currentContext } from 'rampart'
import rampart from 'rampart/fastify'
import { createContext, runWithContext } from 'rampart/internal'
import { describe, expect, it } from 'vitest'
import { logCapture } from '../support/log-capture.js'

/** Code a service calls from a handler, far from the request object. */
async function deepServiceCall(): Promise<string | undefined> {
  await sleep(Math.floor(Math.random() * 5))
  return currentContext()?.requestId
}

describe('request context', () => {
  it('survives await, timers, setImmediate and Promise.all', async () => {
    const seen: Array<string | undefined> = []
    await runWithContext(createContext('ctx-1'), async () => {
      seen.push(currentContext()?.requestId)
      await sleep(1)
      seen.push(currentContext()?.requestId)
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          seen.push(currentContext()?.requestId)
          resolve()
        }, 1),
      )
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          seen.push(currentContext()?.requestId)
          resolve()
        }),
      )
      const all = await Promise.all([deepServiceCall(), deepServiceCall(), deepServiceCall()])
      seen.push(...all)
    })
    expect(seen).toEqual(Array(7).fill('ctx-1'))
    expect(currentContext()).toBeUndefined()
  })

  it('200 interleaved concurrent requests never see each other’s ids', async () => {
    const logs = logCapture()
    const app = Fastify()
    await app.register(rampart, {
      logFormat: 'json',
      logLevel: 'info',
      logDestination: logs.stream,
    })
    app.post('/work', async (request) => {
      const before = currentContext()?.requestId
      const [a, b] = await Promise.all([deepServiceCall(), deepServiceCall()])
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 5)))
      request.log.info({ event: 'work.done' })
      return { before, a, b, after: currentContext()?.requestId }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const id = `req-${i}`
        const res = await fetch(`http://127.0.0.1:${port}/work`, {
          method: 'POST',
          headers: { 'x-request-id': id, 'content-type': 'application/json' },
          body: JSON.stringify({ i }),
        })
        return { id, body: (await res.json()) as Record<string, string> }
      }),
    )
    await app.close()
    for (const { id, body } of results) {
      expect(body).toEqual({ before: id, a: id, b: id, after: id })
    }
    const done = logs.lines().filter((l) => l.event === 'work.done')
    expect(done).toHaveLength(200)
    expect(new Set(done.map((l) => l.request_id)).size).toBe(200)
  })

  it('survives a body that arrives in pieces after the headers', async () => {
    const app = Fastify()
    await app.register(rampart, { logFormat: 'json', logLevel: 'silent' })
    app.post('/slow', async () => ({ id: currentContext()?.requestId }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    const body = JSON.stringify({ text: 'x'.repeat(100) })
    const raw: string = await new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `POST /slow HTTP/1.1\r\nHost: t\r\nX-Request-Id: slow-1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        )
        setTimeout(() => socket.write(body.slice(0, 10)), 30)
        setTimeout(() => socket.write(body.slice(10)), 60)
      })
      let out = ''
      socket.on('data', (d) => {
        out += d
      })
      socket.on('end', () => resolve(out))
      socket.on('error', reject)
    })
    await app.close()
    expect(raw).toContain('"id":"slow-1"')
  })
})
