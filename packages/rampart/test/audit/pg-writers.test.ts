import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { service } from '../support/services.js'
import { cli, dropAuditTableSql, uniqueTable } from './helpers.js'

const url = service('DATABASE_URL')
const writer = fileURLToPath(new URL('./fixtures/pg-writer.ts', import.meta.url))

function startWriter(table: string, count: number) {
  const child = spawn(
    process.execPath,
    ['--conditions=rampart-source', '--import', 'tsx', writer],
    {
      env: { ...process.env, AUDIT_DB: url, AUDIT_TABLE: table, COUNT: String(count) },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  let out = ''
  let err = ''
  let markReady: () => void = () => {}
  const ready = new Promise<void>((r) => {
    markReady = r
  })
  child.stdout.on('data', (d) => {
    out += d
    if (out.includes('ready\n')) markReady()
  })
  child.stderr.on('data', (d) => (err += d))
  const done = new Promise<{ ok: number }>((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop() as string))
        : reject(new Error(`writer exited ${code}: ${err}`)),
    ),
  )
  return { child, done, ready }
}

describe.skipIf(!url)('three writer processes on one Postgres', () => {
  it('1,000 concurrent audited requests across three processes give 1,000 rows in one chain that verifies', async () => {
    const table = uniqueTable()
    const counts = [334, 333, 333]
    const writers = counts.map((c) => startWriter(table, c))
    try {
      // Let all three boot (and race the migrations), then release them together.
      await Promise.race([
        Promise.all(writers.map((w) => w.ready)),
        Promise.all(writers.map((w) => w.done)),
      ])
      for (const w of writers) w.child.stdin.end('go\n')
      const results = await Promise.all(writers.map((w) => w.done))
      expect(results.map((r) => r.ok)).toEqual(counts)
      const r = await cli(['audit', 'verify', '--db', url as string, '--table', table])
      expect(r.stderr).toBe('')
      expect(r.stdout).toMatch(/^verified 1000 rows, head [0-9a-f]{64}\n$/)
      expect(r.code).toBe(0)
    } finally {
      for (const w of writers) w.child.kill()
      const pg = await import('pg')
      const c = new pg.default.Client({ connectionString: url })
      await c.connect()
      await c.query(dropAuditTableSql(table))
      await c.end()
    }
  }, 60_000)
})
