import { mkdirSync, readFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/audit/store.js'
import { service } from '../support/services.js'
import { AUDIT_KEY, cli, dropAuditTableSql, tempDir, uniqueTable } from './helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const pgUrl = service('DATABASE_URL')
const key = Buffer.from(AUDIT_KEY)

const row = {
  at: '2026-01-01T00:00:00.000Z',
  actor: 'alice',
  action: 'doc.read',
  target: 'doc:1',
  outcome: 'success',
  request_id: 'r1',
  ip_fingerprint: 'abcd1234',
  details: '{}',
}

describe('the audit table is append-only in the database', () => {
  it('SQLite refuses UPDATE and DELETE on event_log; INSERT goes on', async () => {
    const file = `${tmp.dir}/append-only.db`
    const store = await openStore({ url: `sqlite:${file}`, key })
    await store.migrate()
    await store.append([row, row])
    await store.shutdown()
    const d = new Database(file)
    try {
      expect(() => d.prepare("update event_log set actor = 'mallory' where id = 1").run()).toThrow(
        /event_log is append-only/,
      )
      expect(() => d.prepare('delete from event_log where id = 2').run()).toThrow(
        /event_log is append-only/,
      )
      expect(d.prepare('select actor from event_log order by id').all()).toEqual([
        { actor: 'alice' },
        { actor: 'alice' },
      ])
    } finally {
      d.close()
    }
    const again = await openStore({ url: `sqlite:${file}`, key })
    await again.migrate()
    expect((await again.append([row])).map((r) => r.id)).toEqual([3])
    await again.shutdown()
  })

  it.skipIf(!pgUrl)('Postgres refuses UPDATE, DELETE and TRUNCATE', async () => {
    const table = uniqueTable()
    const store = await openStore({ url: pgUrl as string, key, table })
    const pg = await import('pg')
    const c = new pg.default.Client({ connectionString: pgUrl })
    await c.connect()
    try {
      await store.migrate()
      await store.append([row])
      for (const statement of [
        `update ${table} set actor = 'mallory'`,
        `delete from ${table}`,
        `truncate ${table}`,
      ])
        await expect(c.query(statement), statement).rejects.toThrow(/append-only/)
      expect((await c.query(`select actor from ${table}`)).rows).toEqual([{ actor: 'alice' }])
      expect((await store.append([row])).map((r) => r.id)).toEqual([2])
    } finally {
      await store.shutdown()
      await c.query(dropAuditTableSql(table))
      await c.end()
    }
  })
})

describe('backup and restore of an empty audit log', () => {
  it('a backup taken while the log was empty restores and verifies', async () => {
    const dir = `${tmp.dir}/empty`
    mkdirSync(dir)
    const env = { DATA_DIR: `${dir}/data` }
    const store = await openStore({ url: `sqlite:${dir}/audit.db`, key })
    await store.migrate()
    await store.shutdown()
    const backup = await cli(['backup', '--out', `${dir}/b`, '--db', `sqlite:${dir}/audit.db`], {
      env,
    })
    expect(backup.stderr).toBe('')
    expect(backup.code).toBe(0)
    expect(JSON.parse(readFileSync(`${dir}/b/manifest.json`, 'utf8')).audit.rows).toBe(0)
    const restored = await cli(['restore', `${dir}/b`, '--yes', '--db', `sqlite:${dir}/fresh.db`], {
      env,
    })
    expect(restored.stderr).toBe('')
    expect(restored.stdout).toMatch(/verified 0 rows/)
    expect(restored.code).toBe(0)
  })
})
