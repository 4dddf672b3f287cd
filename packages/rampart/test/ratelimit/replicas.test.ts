import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { service } from '../support/services.js'
import { randomName } from './app.js'

const url = service('REDIS_URL')
const REPLICA = fileURLToPath(new URL('./fixtures/replica.ts', import.meta.url))

function startReplica(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=rampart-source', '--import', 'tsx', REPLICA],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /^PORT (\d+)$/m.exec(out)
      if (m) resolve({ child, port: Number(m[1]) })
    })
    child.once('exit', (code) => reject(new Error(`replica exited with ${code}`)))
  })
}

describe.skipIf(!url)('three server processes sharing one Redis', () => {
  const children: ChildProcess[] = []
  afterAll(() => {
    for (const c of children) {
      c.removeAllListeners('exit')
      c.kill('SIGKILL')
    }
  })

  it('let exactly 50 of 300 requests from one principal through a 50/min limit', async () => {
    const env = { RATE_LIMIT_STORE: url as string, REPLICA_SERVICE: randomName(), NODE_ENV: 'test' }
    const replicas = await Promise.all([startReplica(env), startReplica(env), startReplica(env)])
    children.push(...replicas.map((r) => r.child))
    const statuses: number[] = []
    // 300 requests, round-robin over the replicas, 30 in flight at a time.
    for (let batch = 0; batch < 10; batch++) {
      const res = await Promise.all(
        Array.from({ length: 30 }, (_, i) => {
          const r = replicas[(batch * 30 + i) % 3] as { port: number }
          return fetch(`http://127.0.0.1:${r.port}/items/${i}`, {
            headers: { 'x-user': 'mallory' },
          })
        }),
      )
      for (const r of res) {
        statuses.push(r.status)
        await r.arrayBuffer()
      }
    }
    expect(statuses).toHaveLength(300)
    expect(statuses.filter((s) => s === 200)).toHaveLength(50)
    expect(statuses.filter((s) => s === 429)).toHaveLength(250)
  }, 60_000)
})
