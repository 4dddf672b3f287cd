import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../../src/audit/store.js'
import { AUDIT_KEY, cli, releaseTogether, startWriter, tempDir } from './helpers.js'

describe('three processes starting at once on one new SQLite audit file', () => {
  let cleanup = () => {}
  afterEach(() => cleanup())

  it('all create the schema, and their 3 × 100 first appends make one chain of 300 rows that verifies', async () => {
    const tmp = tempDir()
    cleanup = tmp.cleanup
    const db = `sqlite:${join(tmp.dir, 'audit.db')}`
    const writers = [0, 1, 2].map(() => startWriter(db, 'event_log', 100, 'open'))
    try {
      // Loaded, not yet opened: released together, they race to create the file and schema.
      const results = await releaseTogether(writers)
      expect(results).toEqual([{ ok: 100 }, { ok: 100 }, { ok: 100 }])
      const verify = await cli(['audit', 'verify', '--db', db])
      expect(verify.stderr).toBe('')
      expect(verify.stdout).toMatch(/^verified 300 rows, head [0-9a-f]{64}\n$/)
      expect(verify.code).toBe(0)
    } finally {
      for (const w of writers) w.child.kill()
    }
  }, 60_000)

  it('three connections migrating one new file at once all succeed (their migrations interleave)', async () => {
    const tmp = tempDir()
    cleanup = tmp.cleanup
    const url = `sqlite:${join(tmp.dir, 'audit.db')}`
    const key = Buffer.from(AUDIT_KEY)
    const stores = await Promise.all([1, 2, 3].map(() => openStore({ url, key })))
    try {
      // In one process the three migrators interleave at every await: without the retry two
      // of them fail on the migration's bookkeeping row.
      const results = await Promise.allSettled(stores.map((s) => s.migrate()))
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled'])
      // The schema is whole: the table answers on every connection.
      for (const s of stores) expect(await s.count()).toBe(0)
    } finally {
      for (const s of stores) await s.shutdown()
    }
  })
})
