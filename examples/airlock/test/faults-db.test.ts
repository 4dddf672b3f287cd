import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { cli } from '../../../packages/rampart/test/audit/helpers.js'
import { service } from '../../../packages/rampart/test/support/services.js'
import { startTcpProxy, type TcpProxy } from '../../../packages/rampart/test/support/tcp-proxy.js'
import { apiToken, call, type Replica, startReplicas, until } from './replicas.js'

const url = service('DATABASE_URL')

/** The same URL with its host and port replaced by the proxy's. */
function through(proxy: TcpProxy, target: string): string {
  const u = new URL(target)
  u.hostname = '127.0.0.1'
  u.port = String(proxy.port)
  return u.toString()
}

describe.skipIf(!url)(
  '3 airlock replicas on PostgreSQL through a proxy that cuts and freezes',
  () => {
    const schema = `airlock_f_${randomBytes(5).toString('hex')}`
    const table = `event_log_f${randomBytes(5).toString('hex')}`
    let proxy: TcpProxy | undefined
    let stop: (() => Promise<void>) | undefined
    afterAll(async () => {
      await stop?.()
      await proxy?.close()
      const c = new pg.Client({ connectionString: url })
      await c.connect()
      await c.query(`drop schema if exists ${schema} cascade`)
      await c.query(
        `drop table if exists ${table}, ${table}_migration, ${table}_migration_lock; drop function if exists "${table}_append_only"()`,
      )
      await c.end()
    })

    it('cut: 0 exits, writes 503 within 10 s, readyz 503, healthz 200; restore: ready within 20 s; freeze: 5xx within 15 s; the audit chain verifies', async () => {
      const target = new URL(url as string)
      proxy = await startTcpProxy(Number(target.port || 5432), target.hostname)
      const viaProxy = through(proxy, url as string)
      const cluster = await startReplicas(3, {
        DATABASE_URL: viaProxy,
        AUDIT_DB: viaProxy,
        DB_SCHEMA: schema,
        AUDIT_TABLE: table,
        DB_QUERY_TIMEOUT_S: '2',
        RATE_LIMIT_READ_PER_MINUTE: '100000',
        RATE_LIMIT_WRITE_PER_MINUTE: '100000',
        RATE_LIMIT_SUBMIT_PER_MINUTE: '100000',
      })
      stop = cluster.stop
      const { replicas } = cluster
      const at = (i: number): Replica => replicas[i % replicas.length] as Replica
      const researcher = await apiToken(at(0), 'researcher')
      const checker = await apiToken(at(1), 'checker')

      // Submitted requests waiting for a decision; each is decided at most once.
      const waiting: string[] = []
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < 30; i++) {
            const r = at(w + i)
            const created = await call(`${r.url}/api/v1/requests`, researcher, 'POST', {
              title: `fault ${w}-${i}`,
              direction: 'egress',
              justification: 'fault test',
            })
            const { id } = JSON.parse(created.text) as { id: string }
            const submitted = await call(
              `${r.url}/api/v1/requests/${id}/submit`,
              researcher,
              'POST',
            )
            expect(submitted.status).toBe(200)
            waiting.push(id)
          }
        }),
      )

      // Load: 6 workers approving (audited writes) and reading, round-robin over the replicas.
      const decisions: Array<{ id: string; status: number; sent: number; at: number }> = []
      let running = true
      let n = 0
      const approve = async (r: Replica) => {
        const id = waiting.shift()
        if (id === undefined) return undefined
        const sent = Date.now()
        const res = await call(`${r.url}/api/v1/requests/${id}/approve`, checker, 'POST', {
          reason: 'fault test',
        }).catch(() => ({ status: 0, headers: new Headers(), text: '' }))
        decisions.push({ id, status: res.status, sent, at: Date.now() })
        return res
      }
      const workers = Array.from({ length: 6 }, async () => {
        while (running) {
          const r = at(n++)
          // A few requests stay for the probes below.
          if (waiting.length > 20) await approve(r)
          await call(`${r.url}/api/v1/requests`, checker).catch(() => undefined)
          await new Promise((resolve) => setTimeout(resolve, 200))
        }
      })
      const allReady = async () =>
        (await Promise.all(replicas.map((r) => call(`${r.url}/readyz`, undefined)))).every(
          (x) => x.status === 200,
        )
      await until(async () => decisions.some((d) => d.status === 200), 10_000)

      // Cut every connection.
      proxy.cut()
      const cutAt = Date.now()
      await until(async () => decisions.some((d) => d.at > cutAt && d.status === 503), 10_000)
      expect(Date.now() - cutAt).toBeLessThan(10_000)
      // The outage lasts a while, under load.
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      const probe = await approve(at(0))
      expect(probe?.status).toBe(503)
      expect(probe?.headers.get('retry-after')).toBe('5')
      expect(JSON.parse(probe?.text ?? '{}')).toMatchObject({ status: 503 })
      for (const r of replicas) {
        const ready = await call(`${r.url}/readyz`, undefined)
        expect(ready.status).toBe(503)
        expect(JSON.parse(ready.text)).toMatchObject({ failing: ['database'] })
        expect((await call(`${r.url}/healthz`, undefined)).status).toBe(200)
      }

      // Restore: ready again within 20 s, writes succeed.
      proxy.restore()
      const restoredAt = Date.now()
      // Sent while the database was cut off: none of these may have changed anything.
      const refused = decisions
        .filter((d) => d.sent > cutAt && d.at < restoredAt)
        .map((d) => {
          expect(d.status).toBe(503)
          return d.id
        })
      expect(await until(allReady, 20_000)).toBeLessThan(20_000)
      await until(async () => decisions.some((d) => d.at > restoredAt && d.status === 200), 10_000)

      // Freeze: connections stay open, nothing answers; audited writes end in 5xx within 15 s.
      proxy.freeze()
      const frozenAt = Date.now()
      const during = await approve(at(2))
      expect(during?.status).toBeGreaterThanOrEqual(500)
      expect(Date.now() - frozenAt).toBeLessThan(15_000)
      proxy.restore()
      const thawedAt = Date.now()
      await until(allReady, 20_000)
      await until(async () => decisions.some((d) => d.at > thawedAt && d.status === 200), 10_000)
      running = false
      await Promise.all(workers)

      // No replica exited.
      expect(replicas.map((r) => r.child.exitCode)).toEqual([null, null, null])
      // One log line per outage of each dependency, and the counter agrees.
      for (const r of replicas) {
        const down = r.lines().filter((l) => l.event === 'dependency.unavailable')
        expect(down.length).toBeGreaterThan(0)
        expect(down.length).toBeLessThanOrEqual(4)
        const metrics = (await call(`${r.url}/metrics`, undefined)).text
        const counted = metrics
          .split('\n')
          .filter((l) => l.startsWith('rampart_dependency_outages_total{'))
          .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)
        expect(counted).toBe(down.length)
      }

      // The chain verifies, and every 2xx decision has exactly one decision row.
      const verify = await cli(['audit', 'verify', '--db', url as string, '--table', table])
      expect(verify.stderr).toBe('')
      expect(verify.stdout).toMatch(/^verified \d+ rows, head [0-9a-f]{64}\n$/)
      const c = new pg.Client({ connectionString: url })
      await c.connect()
      try {
        const rows = await c.query<{ target: string; n: string }>(
          `select target, count(*) as n from ${table} where action = 'request.approved' group by target`,
        )
        const byTarget = new Map(rows.rows.map((r) => [r.target, Number(r.n)]))
        const ok = decisions.filter((d) => d.status === 200)
        expect(ok.length).toBeGreaterThanOrEqual(3)
        for (const d of ok) expect(byTarget.get(`request:${d.id}`)).toBe(1)
        // A write refused during the cut changed nothing: its request still waits for a decision.
        expect(refused.length).toBeGreaterThan(0)
        const still = await c.query<{ n: string }>(
          `select count(*) as n from ${schema}.requests where id = any($1) and status = 'submitted'`,
          [refused],
        )
        expect(Number(still.rows[0]?.n)).toBe(refused.length)
      } finally {
        await c.end()
      }
    }, 120_000)
  },
)
