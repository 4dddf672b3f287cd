import { describe, expect, it } from 'vitest'
import { service } from '../support/services.js'
import { cli, dropAuditTableSql, releaseTogether, startWriter, uniqueTable } from './helpers.js'

const url = service('DATABASE_URL')

describe.skipIf(!url)('three writer processes on one Postgres', () => {
  it('1,000 concurrent audited requests across three processes give 1,000 rows in one chain that verifies', async () => {
    const table = uniqueTable()
    const counts = [334, 333, 333]
    const writers = counts.map((c) => startWriter(url as string, table, c))
    try {
      // Let all three boot (and race the migrations), then release them together.
      const results = await releaseTogether(writers)
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
