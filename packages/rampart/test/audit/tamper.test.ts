import { createHmac } from 'node:crypto'
import Database from 'better-sqlite3'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { createAuditLog } from '../../src/audit/audit-log.js'
import { type AuditRow, canonicalRow, GENESIS_HASH } from '../../src/audit/canonical.js'
import { createLogger } from '../../src/logging/logger.js'
import { createRedactor } from '../../src/logging/redact.js'
import { logCapture } from '../support/log-capture.js'
import { service } from '../support/services.js'
import {
  AUDIT_KEY,
  cli,
  dropAppendOnlySql,
  dropAuditTableSql,
  tempDir,
  uniqueTable,
} from './helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const pgUrl = service('DATABASE_URL')
let n = 0
let logs: ReturnType<typeof logCapture>

/** One database under test: where it is, and how an attacker with write access runs SQL on it. */
interface Target {
  url: string
  table: string
  /** SQL with `T` for the table and `?` placeholders. */
  exec(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>
  drop(): Promise<void>
}

async function sqliteTarget(): Promise<Target> {
  const file = `${tmp.dir}/tamper-${n++}.db`
  return {
    url: `sqlite:${file}`,
    table: 'event_log',
    async exec(text, params = []) {
      const d = new Database(file)
      try {
        for (const drop of dropAppendOnlySql('sqlite', 'event_log')) d.exec(drop)
        const stmt = d.prepare(text.replaceAll(' T ', ' event_log '))
        if (stmt.reader) return stmt.all(...params) as Array<Record<string, unknown>>
        stmt.run(...params)
        return []
      } finally {
        d.close()
      }
    },
    async drop() {},
  }
}

async function postgresTarget(): Promise<Target> {
  const table = uniqueTable()
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: pgUrl })
  await client.connect()
  return {
    url: pgUrl as string,
    table,
    async exec(text, params = []) {
      for (const drop of dropAppendOnlySql('postgres', table)) await client.query(drop)
      let k = 0
      const q = text.replaceAll(' T ', ` ${table} `).replace(/\?/g, () => `$${++k}`)
      const rows = (await client.query(q, params)).rows as Array<Record<string, unknown>>
      for (const r of rows) if (typeof r.id === 'string') r.id = Number(r.id)
      return rows
    },
    async drop() {
      await client.query(dropAuditTableSql(table))
      await client.end()
    },
  }
}

/** Ten rows written through the real audit log, with a checkpoint every 5 rows. */
async function seed(target: Target): Promise<void> {
  logs = logCapture()
  const redactor = createRedactor()
  const audit = createAuditLog(
    {
      config: { audit: { db: target.url, key: Buffer.from(AUDIT_KEY) } },
      logger: createLogger({
        service: 't',
        level: 'info',
        format: 'json',
        redactor,
        destination: logs.stream,
      }),
      redactor,
      fingerprint: () => 'ffffffff',
    },
    { checkpointEvery: 5, table: target.table },
  )
  for (let i = 1; i <= 10; i++)
    await audit.record({ action: 'doc.read', target: `doc:${i}`, actor: `u${i}`, details: { i } })
  await audit.close()
}

const targets: Array<[string, boolean, () => Promise<Target>]> = [
  ['SQLite', true, sqliteTarget],
  ['Postgres', pgUrl !== undefined, postgresTarget],
]

describe.each(targets)(
  'audit verify detects tampering, naming the first bad row (%s)',
  (_name, available, make) => {
    let t: Target
    const verify = (...extra: string[]) =>
      cli(['audit', 'verify', '--db', t.url, '--table', t.table, ...extra])
    beforeEach(async (ctx) => {
      if (!available) return ctx.skip()
      t = await make()
      await seed(t)
      return () => t.drop()
    })

    it('passes an untouched chain and prints rows and head', async () => {
      const r = await verify()
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/^verified 10 rows, head [0-9a-f]{64}\n$/)
    })

    it('a changed actor', async () => {
      await t.exec("update T set actor = 'mallory' where id = 4")
      const r = await verify()
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/^first bad row: 4: hash does not match/)
    })

    it('a deleted middle row', async () => {
      await t.exec('delete from T where id = 5')
      const r = await verify()
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/^first bad row: 6: row 5 is missing/)
    })

    it('two swapped rows', async () => {
      await t.exec('update T set id = -1 where id = 3')
      await t.exec('update T set id = 3 where id = 7')
      await t.exec('update T set id = 7 where id = -1')
      const r = await verify()
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/^first bad row: 3: prev_hash does not match row 2/)
    })

    it('the first rows deleted', async () => {
      await t.exec('delete from T where id <= 3')
      const r = await verify()
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/^first bad row: 4: the chain starts at row 4, not 1/)
    })

    it('a changed details', async () => {
      await t.exec(`update T set details = '{"i":99}' where id = 8`)
      const r = await verify()
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/^first bad row: 8: hash does not match/)
    })

    it('an inserted row', async () => {
      // Make room at id 6 the way an attacker would (shift the later rows), then insert a row
      // that copies its neighbour's link but cannot carry a valid HMAC.
      await t.exec('update T set id = id + 100 where id >= 6')
      await t.exec('update T set id = id - 99 where id >= 106')
      const [prev] = await t.exec('select hash from T where id = 5')
      await t.exec(
        `insert into T (id, at, actor, action, target, outcome, request_id, ip_fingerprint, details, prev_hash, hash)
       values (6, '2026-01-01T00:00:00.000Z', 'mallory', 'doc.read', 'doc:x', 'success', null, null, '{}', ?, ?)`,
        [prev?.hash, 'f'.repeat(64)],
      )
      const r = await verify()
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/^first bad row: 6: hash does not match/)
    })

    it('the whole table rewritten with a recomputed chain by someone without the key', async () => {
      const rows = (await t.exec('select * from T order by id')) as unknown as AuditRow[]
      let prev = GENESIS_HASH
      for (const row of rows) {
        const forged = { ...row, actor: 'mallory', prev_hash: prev }
        // The attacker follows the documented canonical form exactly, but with a guessed key.
        const hash = createHmac('sha256', 'guessed-key-guessed-key-guessed-key')
          .update(canonicalRow(forged))
          .digest('hex')
        await t.exec('update T set actor = ?, prev_hash = ?, hash = ? where id = ?', [
          'mallory',
          prev,
          hash,
          row.id,
        ])
        prev = hash
      }
      const r = await verify()
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/^first bad row: 1: hash does not match/)
    })

    it('a truncated tail passes a plain verify but is caught with --expect-head and the last logged checkpoint', async () => {
      const before = await verify()
      const head = /head ([0-9a-f]{64})/.exec(before.stdout)?.[1] as string
      const checkpoints = logs.lines().filter((l) => l.event === 'audit.checkpoint')
      // every 5 rows (5, 10), and nothing new at shutdown since row 10 was already checkpointed
      expect(checkpoints.map((c) => c.row_id)).toEqual([5, 10])
      expect(checkpoints[1]?.head).toBe(head)
      const logFile = `${tmp.dir}/service-${n}.log`
      const { writeFileSync } = await import('node:fs')
      writeFileSync(logFile, logs.text())

      await t.exec('delete from T where id > 8')
      const plain = await verify()
      expect(plain.code).toBe(0)
      expect(plain.stdout).toMatch(/^verified 8 rows/)

      const pinned = await verify('--expect-head', head)
      expect(pinned.code).toBe(1)
      expect(pinned.stdout).toMatch(/^first bad row: 9: the expected head .* ends at row 8/)

      const fromLogs = await verify('--checkpoint', logFile)
      expect(fromLogs.code).toBe(1)
      expect(fromLogs.stdout).toMatch(
        /^first bad row: 9: missing: the signed checkpoint says the chain reached row 10/,
      )

      // A checkpoint someone edited to match the truncated table is refused for its signature.
      const row8 = (await verify()).stdout.match(/head ([0-9a-f]{64})/)?.[1]
      const forged = JSON.stringify({ ...checkpoints[1], row_id: 8, head: row8 })
      const bad = await verify('--checkpoint', forged)
      expect(bad.code).toBe(1)
      expect(bad.stdout).toMatch(/checkpoint signature is not valid/)
    })

    it('rejects a malformed --expect-head with one line and exit 2', async () => {
      const r = await verify('--expect-head', 'nothex')
      expect(r.code).toBe(2)
      expect(r.stderr).toBe(
        'rampart audit verify: --expect-head: got "nothex"; expected 64 hex characters\n',
      )
    })
  },
)
