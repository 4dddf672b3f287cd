import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cli, startWriter, tempDir } from './helpers.js'

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
      await Promise.race([
        Promise.all(writers.map((w) => w.ready)),
        Promise.all(writers.map((w) => w.done)),
      ])
      for (const w of writers) w.child.stdin.end('go\n')
      const results = await Promise.all(writers.map((w) => w.done))
      expect(results).toEqual([{ ok: 100 }, { ok: 100 }, { ok: 100 }])
      const verify = await cli(['audit', 'verify', '--db', db])
      expect(verify.stderr).toBe('')
      expect(verify.stdout).toMatch(/^verified 300 rows, head [0-9a-f]{64}\n$/)
      expect(verify.code).toBe(0)
    } finally {
      for (const w of writers) w.child.kill()
    }
  }, 60_000)
})
