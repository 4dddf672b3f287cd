import { existsSync, readdirSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { apiToken, call, startReplicas } from './replicas.js'

describe('SIGTERM with an upload still arriving when the drain deadline passes', () => {
  let stop: (() => Promise<void>) | undefined
  afterAll(async () => {
    await stop?.()
  })

  it('the upload is cut off, still gets its access line, and its half-written file is removed', async () => {
    const cluster = await startReplicas(1, { DRAIN_TIMEOUT_MS: '1000' })
    stop = cluster.stop
    const [replica] = cluster.replicas
    if (!replica) throw new Error('no replica')
    const token = await apiToken(replica, 'researcher')
    const draft = await call(`${replica.url}/api/v1/requests`, token, 'POST', {
      title: 'cut upload',
      direction: 'egress',
      justification: 'shutdown test',
    })
    const { id } = JSON.parse(draft.text) as { id: string }

    // A multipart upload announcing 1 MiB, of which only the first 64 KiB ever arrive.
    const boundary = 'cutboundary'
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`
    const socket = connect(replica.port, '127.0.0.1')
    socket.on('error', () => {})
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    socket.write(
      `POST /api/v1/requests/${id}/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${1024 * 1024}\r\n\r\n${head}`,
    )
    socket.write(Buffer.alloc(64 * 1024, 7))
    const uploads = join(cluster.dataDir, 'uploads')
    // The handler has started writing the file.
    const started = Date.now()
    while (!(existsSync(uploads) && readdirSync(uploads).length > 0)) {
      if (Date.now() - started > 10_000) throw new Error('the upload never started')
      await new Promise((r) => setTimeout(r, 50))
    }

    replica.child.kill('SIGTERM')
    await closed
    // Cut by the drain deadline (exit 1: the drain timed out).
    expect(await replica.child.exited).toBe(1)
    expect(readdirSync(uploads)).toEqual([])
    const access = replica
      .lines()
      .filter((l) => l.event === 'request.completed' && l.route === '/api/v1/requests/:id/files')
    expect(access).toHaveLength(1)
    expect(access[0]).toMatchObject({ method: 'POST', status: 499 })
    expect(replica.lines().some((l) => l.event === 'service.drain_timed_out')).toBe(true)
  }, 30_000)
})
