// Audit chain verification speed: builds a chain of ROWS rows (default 1,000,000) in a temporary
// SQLite file (not timed), then times verifyChain over all of it.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { GENESIS_HASH, rowHash } from '../packages/rampart/src/audit/canonical.js'
import { openStore } from '../packages/rampart/src/audit/store.js'
import { verifyChain } from '../packages/rampart/src/audit/verify.js'

const key = Buffer.from('k'.repeat(40))

export default async function auditVerify(): Promise<{ markdown: string }> {
  const total = Number(process.env.ROWS ?? 1_000_000)
  const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-verify-'))
  const file = join(dir, 'audit.db')
  try {
    const store = await openStore({ url: `sqlite:${file}`, key })
    await store.migrate()
    await store.shutdown()
    const db = new Database(file)
    const insert = db.prepare(
      'insert into event_log (id, at, actor, action, target, outcome, request_id, ip_fingerprint, details, prev_hash, hash) values (@id, @at, @actor, @action, @target, @outcome, @request_id, @ip_fingerprint, @details, @prev_hash, @hash)',
    )
    let prev = GENESIS_HASH
    const fill = db.transaction((from: number, to: number) => {
      for (let id = from; id <= to; id++) {
        const row = {
          id,
          at: new Date(1_780_000_000_000 + id * 10).toISOString(),
          actor: `user-${id % 97}`,
          action: 'request.approved',
          target: `request:${id}`,
          outcome: 'success',
          request_id: `req-${id.toString(36)}`,
          ip_fingerprint: '0a1b2c3d',
          details: '{"files":3,"reason":"looks fine"}',
          prev_hash: prev,
        }
        const hash = rowHash(key, row)
        insert.run({ ...row, hash })
        prev = hash
      }
    })
    for (let i = 1; i <= total; i += 100_000) fill(i, Math.min(total, i + 99_999))
    db.close()
    process.stderr.write(`built ${total} rows\n`)

    const reader = await openStore({ url: `sqlite:${file}`, key, mustExist: true })
    const t0 = process.hrtime.bigint()
    const result = await verifyChain(reader, key)
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    await reader.shutdown()
    if (!result.ok) throw new Error(`bench chain did not verify: ${result.reason}`)
    const rate = Math.round(result.rows / seconds)
    process.stderr.write(`verified ${result.rows} rows in ${seconds.toFixed(2)} s (${rate}/s)\n`)
    const lines = [
      '### Audit log: verification',
      '',
      '| database | rows | seconds | rows verified/s |',
      '|---|---:|---:|---:|',
      `| SQLite | ${result.rows.toLocaleString('en')} | ${seconds.toFixed(2)} | ${rate.toLocaleString('en')} |`,
    ]
    if (process.env.DATABASE_URL)
      lines.push(await postgres(process.env.DATABASE_URL, Number(process.env.PG_ROWS ?? 200_000)))
    const markdown = [...lines, ''].join('\n')
    return { markdown }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The same measurement on Postgres, in a table of its own that is dropped afterwards. */
async function postgres(url: string, total: number): Promise<string> {
  const table = `event_log_bench_${randomBytes(4).toString('hex')}`
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const store = await openStore({ url, key, table })
    await store.migrate()
    let prev = GENESIS_HASH
    for (let from = 1; from <= total; from += 1000) {
      const values: unknown[] = []
      const tuples: string[] = []
      for (let id = from; id < from + 1000 && id <= total; id++) {
        const row = {
          id,
          at: new Date(1_780_000_000_000 + id * 10).toISOString(),
          actor: `user-${id % 97}`,
          action: 'request.approved',
          target: `request:${id}`,
          outcome: 'success',
          request_id: `req-${id.toString(36)}`,
          ip_fingerprint: '0a1b2c3d',
          details: '{"files":3,"reason":"looks fine"}',
          prev_hash: prev,
        }
        const hash = rowHash(key, row)
        prev = hash
        const base = values.length
        values.push(...Object.values(row), hash)
        tuples.push(`(${Array.from({ length: 11 }, (_, k) => `$${base + k + 1}`).join(',')})`)
      }
      await client.query(
        `insert into ${table} (id, at, actor, action, target, outcome, request_id, ip_fingerprint, details, prev_hash, hash) values ${tuples.join(',')}`,
        values,
      )
    }
    process.stderr.write(`built ${total} Postgres rows\n`)
    const t0 = process.hrtime.bigint()
    const result = await verifyChain(store, key)
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    await store.shutdown()
    if (!result.ok) throw new Error(`bench chain did not verify: ${result.reason}`)
    const rate = Math.round(result.rows / seconds)
    process.stderr.write(
      `verified ${result.rows} Postgres rows in ${seconds.toFixed(2)} s (${rate}/s)\n`,
    )
    return `| Postgres | ${result.rows.toLocaleString('en')} | ${seconds.toFixed(2)} | ${rate.toLocaleString('en')} |`
  } finally {
    await client.query(
      `drop table if exists ${table}, ${table}_migration, ${table}_migration_lock; drop function if exists "${table}_append_only"()`,
    )
    await client.end()
  }
}
