import { existsSync } from 'node:fs'
import Database from 'better-sqlite3'
import Fastify, { type FastifyInstance } from 'fastify'
import type { RampartOptions } from 'rampart'
import rampart, { bindUser } from 'rampart/fastify'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { checkpointIsValid } from '../../src/audit/canonical.js'
import { logCapture } from '../support/log-capture.js'
import { AUDIT_KEY, cli, tempDir } from './helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})
let n = 0

async function makeApp(
  { audit, ...extra }: Record<string, unknown> & { audit?: RampartOptions['audit'] } = {},
  dbUrl?: string,
) {
  const logs = logCapture()
  const file = `${tmp.dir}/app-${n++}.db`
  const app = Fastify()
  apps.push(app)
  await app.register(rampart, {
    logFormat: 'json',
    logLevel: 'info',
    logDestination: logs.stream,
    nodeEnv: 'test',
    dataDir: tmp.dir,
    audit: { db: dbUrl ?? `sqlite:${file}`, key: AUDIT_KEY, ...audit },
    ...extra,
  })
  return { app, logs, file }
}

describe('audited Fastify routes', () => {
  it('1,000 concurrent audited requests give 1,000 rows, and verify passes', async () => {
    const { app, file } = await makeApp()
    let done = 0
    app.post('/docs/:id/approve', { config: { audit: true } }, async () => {
      done++
      return { ok: true }
    })
    await app.ready()
    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        app.inject({ method: 'POST', url: `/docs/${i}/approve?x=1` }),
      ),
    )
    expect(responses.every((r) => r.statusCode === 200)).toBe(true)
    expect(done).toBe(1000)
    const r = await cli(['audit', 'verify', '--db', `sqlite:${file}`])
    expect(r.stdout).toMatch(/^verified 1000 rows, head [0-9a-f]{64}\n$/)
    expect(r.code).toBe(0)
    const d = new Database(file, { readonly: true })
    const rows = d.prepare('select action, target, outcome from event_log').all() as Array<
      Record<string, string>
    >
    d.close()
    expect(new Set(rows.map((x) => x.action))).toEqual(new Set(['POST /docs/:id/approve']))
    expect(new Set(rows.map((x) => x.target)).size).toBe(1000)
    expect(rows[0]?.target).toMatch(/^\/docs\/\d+\/approve$/)
    expect(rows.every((x) => x.outcome === 'attempted')).toBe(true)
  })

  it('record() takes actor, request id and IP fingerprint from the context and redacts details', async () => {
    const { app, file } = await makeApp()
    app.post('/users/:id', { config: { audit: 'user.changed' } }, async (request) => {
      bindUser('admin-1')
      await app.rampart.audit.record({
        action: 'user.password_reset',
        target: 'user:7',
        details: { password: 'hunter2', nested: { apiToken: 'abc' }, reason: 'forgot' },
      })
      return { id: (request.params as { id: string }).id }
    })
    const res = await app.inject({ method: 'POST', url: '/users/7', remoteAddress: '203.0.113.9' })
    expect(res.statusCode).toBe(200)
    const d = new Database(file, { readonly: true })
    const rows = d.prepare('select * from event_log order by id').all() as Array<
      Record<string, string>
    >
    d.close()
    expect(rows).toHaveLength(2)
    // The route row is written before the handler binds the user; the code row after.
    expect(rows[0]).toMatchObject({ action: 'user.changed', actor: null, outcome: 'attempted' })
    expect(rows[1]).toMatchObject({
      action: 'user.password_reset',
      actor: 'admin-1',
      target: 'user:7',
      outcome: 'success',
      request_id: res.headers['x-request-id'],
      ip_fingerprint: app.rampart.fingerprint('203.0.113.9'),
    })
    const details = JSON.parse(rows[1]?.details as string)
    expect(details.reason).toBe('forgot')
    expect(JSON.stringify(details)).not.toContain('hunter2')
    expect(JSON.stringify(details)).not.toContain('abc')
  })

  it('a failed audited request adds an outcome row', async () => {
    const { app, file } = await makeApp()
    app.post('/x', { config: { audit: 'x.done' } }, async (_req, reply) => reply.code(409).send({}))
    await app.inject({ method: 'POST', url: '/x' })
    await app.close()
    const d = new Database(file, { readonly: true })
    const rows = d.prepare('select outcome, details from event_log order by id').all()
    d.close()
    expect(rows).toEqual([
      { outcome: 'attempted', details: '{"method":"POST"}' },
      { outcome: 'failed', details: '{"method":"POST","status":409}' },
    ])
  })

  it('audit: true on a multi-method route names each method in the action', async () => {
    const { app, file } = await makeApp()
    app.route({
      method: ['PUT', 'DELETE'],
      url: '/things/:id',
      config: { audit: true },
      handler: async () => ({}),
    })
    await app.inject({ method: 'PUT', url: '/things/1' })
    await app.inject({ method: 'DELETE', url: '/things/1' })
    const d = new Database(file, { readonly: true })
    const actions = d.prepare('select action from event_log order by id').all()
    d.close()
    expect(actions).toEqual([{ action: 'PUT /things/:id' }, { action: 'DELETE /things/:id' }])
  })

  it('counts rampart_audit_events_total{action} for every committed row, and not for refused ones', async () => {
    const { app, file } = await makeApp({ audit: { busyTimeoutMs: 50 } })
    app.post('/a', { config: { audit: 'a.done' } }, async () => ({}))
    app.post('/b', { config: { audit: 'b.done' } }, async () => {
      await app.rampart.audit.record({ action: 'b.extra' })
      return {}
    })
    await app.ready()
    for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/a' })
    await app.inject({ method: 'POST', url: '/b' })
    const locker = new Database(file)
    locker.exec('begin exclusive')
    expect((await app.inject({ method: 'POST', url: '/a' })).statusCode).toBe(503)
    locker.exec('rollback')
    locker.close()
    const { body } = await app.rampart.metrics.render()
    expect(body).toContain('rampart_audit_events_total{action="a.done"} 3')
    expect(body).toContain('rampart_audit_events_total{action="b.done"} 1')
    expect(body).toContain('rampart_audit_events_total{action="b.extra"} 1')
  })

  it('an app with no audited route never creates the audit database', async () => {
    const { app, file } = await makeApp()
    app.get('/plain', async () => ({}))
    expect((await app.inject({ url: '/plain' })).statusCode).toBe(200)
    expect(existsSync(file)).toBe(false)
  })

  it('with the SQLite database unavailable (locked), an audited route answers 503 and changes nothing; an unaudited route serves', async () => {
    const { app, file } = await makeApp({ audit: { busyTimeoutMs: 50 } })
    let changes = 0
    app.post('/approve', { config: { audit: true } }, async () => {
      changes++
      return { ok: true }
    })
    app.get('/plain', async () => ({ ok: true }))
    await app.ready()
    expect((await app.inject({ method: 'POST', url: '/approve' })).statusCode).toBe(200)
    expect(changes).toBe(1)

    const locker = new Database(file)
    locker.exec('begin exclusive')
    try {
      const res = await app.inject({ method: 'POST', url: '/approve' })
      expect(res.statusCode).toBe(503)
      expect(changes).toBe(1)
      expect((await app.inject({ url: '/plain' })).statusCode).toBe(200)
    } finally {
      locker.exec('rollback')
      locker.close()
    }
    // and it recovers once the database is back
    expect((await app.inject({ method: 'POST', url: '/approve' })).statusCode).toBe(200)
    expect(changes).toBe(2)
  })

  it('with the Postgres database unreachable, an audited route answers 503 and changes nothing; an unaudited route serves', async () => {
    const { app, logs } = await makeApp({}, 'postgres://postgres@127.0.0.1:1/nothing')
    let changes = 0
    app.post('/approve', { config: { audit: true } }, async () => {
      changes++
      return {}
    })
    app.get('/plain', async () => ({ ok: true }))
    await app.ready() // start-up survives the database being down
    expect(logs.lines().some((l) => l.event === 'audit.open_failed')).toBe(true)
    const res = await app.inject({ method: 'POST', url: '/approve' })
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(changes).toBe(0)
    expect((await app.inject({ url: '/plain' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'POST', url: '/approve' })).statusCode).toBe(503)
    // One line for the outage, not one per refused request.
    const down = logs.lines().filter((l) => l.event === 'dependency.unavailable')
    expect(down).toHaveLength(1)
    expect(down[0]).toMatchObject({ level: 'error', dependency: 'audit-db' })
  })

  it('writes signed checkpoints to the logs every N rows and at shutdown', async () => {
    const { app, logs } = await makeApp({ audit: { checkpointEvery: 3 } })
    app.post('/a', { config: { audit: true } }, async () => ({}))
    for (let i = 0; i < 4; i++) await app.inject({ method: 'POST', url: '/a' })
    await app.close()
    const cps = logs.lines().filter((l) => l.event === 'audit.checkpoint')
    expect(cps.map((c) => [c.row_id, c.reason])).toEqual([
      [3, 'rows'],
      [4, 'shutdown'],
    ])
    for (const cp of cps) expect(checkpointIsValid(Buffer.from(AUDIT_KEY), cp as never)).toBe(true)
  })
})
