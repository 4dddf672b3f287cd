import { existsSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { GENESIS_HASH } from '../../src/audit/canonical.js'
import { type AuditStore, openStore } from '../../src/audit/store.js'
import { verifyChain } from '../../src/audit/verify.js'
import { service } from '../support/services.js'
import { dropAuditTableSql, tempDir, uniqueTable } from './helpers.js'

const key = Buffer.from('a'.repeat(32))
const pgUrl = service('DATABASE_URL')
const tmp = tempDir()
afterAll(() => tmp.cleanup())

const row = (i: number) => ({
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  actor: `user-${i % 3}`,
  action: 'thing.done',
  target: `thing:${i}`,
  outcome: 'success',
  request_id: `req-${i}`,
  ip_fingerprint: 'abcd1234',
  details: JSON.stringify({ i }),
})

// One suite, every store implementation.
const stores: Array<
  [string, string | undefined, () => Promise<{ store: AuditStore; drop: () => Promise<void> }>]
> = [
  [
    'sqlite',
    'always',
    async () => {
      const store = await openStore({ url: `sqlite:${tmp.dir}/store-${Math.random()}.db`, key })
      return { store, drop: async () => {} }
    },
  ],
  [
    'postgres',
    pgUrl,
    async () => {
      const table = uniqueTable()
      const store = await openStore({ url: pgUrl as string, key, table })
      return {
        store,
        drop: async () => {
          const pg = await import('pg')
          const c = new pg.default.Client({ connectionString: pgUrl })
          await c.connect()
          await c.query(dropAuditTableSql(table))
          await c.end()
        },
      }
    },
  ],
]

describe.each(stores)('audit store: %s', (_name, available, make) => {
  it.skipIf(!available)(
    'migrates twice without harm, chains concurrent batches in one order, and verifies',
    async () => {
      const { store, drop } = await make()
      try {
        await store.migrate()
        await store.migrate()
        expect(await store.head()).toBeUndefined()
        // Concurrent appends from one process: each batch is chained after whichever committed first.
        const batches = await Promise.all(
          Array.from({ length: 10 }, (_, b) =>
            store.append(Array.from({ length: 20 }, (_, i) => row(b * 20 + i))),
          ),
        )
        expect(batches.flat()).toHaveLength(200)
        const all = await store.readPage(0, 1000)
        expect(all.map((r) => r.id)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
        expect(all[0]?.prev_hash).toBe(GENESIS_HASH)
        for (let i = 1; i < all.length; i++) expect(all[i]?.prev_hash).toBe(all[i - 1]?.hash)
        expect(await store.count()).toBe(200)
        const result = await verifyChain(store, key, { pageSize: 7 })
        expect(result).toMatchObject({ ok: true, rows: 200, head: all[199]?.hash })
        // The wrong key sees a forged chain from row 1.
        const forged = await verifyChain(store, Buffer.from('b'.repeat(32)))
        expect(forged).toMatchObject({ ok: false, badRow: 1 })
      } finally {
        await store.shutdown()
        await drop()
      }
    },
  )
})

describe('rampart/internal', () => {
  it('exports the audit chain tools the CLI and the tests use', async () => {
    const mod = await import('rampart/internal')
    for (const name of [
      'createAuditLog',
      'verifyChain',
      'openStore',
      'rowHash',
      'canonicalJson',
      'signCheckpoint',
      'checkpointIsValid',
    ])
      expect(typeof (mod as Record<string, unknown>)[name], name).toBe('function')
  })
})

describe('a SQLite audit database in a directory that does not exist yet', () => {
  const tmp = tempDir()
  afterAll(() => tmp.cleanup())

  it('is created with its directory (DATA_DIR need not exist); the CLI’s mustExist never creates one', async () => {
    const url = `sqlite:${tmp.dir}/fresh/data/audit.db`
    const missing = await openStore({ url, key: 'k'.repeat(32), mustExist: true }).catch((e) => e)
    expect(missing).toMatchObject({ code: 'ERR_RAMPART_AUDIT' })
    expect(existsSync(`${tmp.dir}/fresh`)).toBe(false)
    const store = await openStore({ url, key: 'k'.repeat(32) })
    await store.shutdown()
    expect(existsSync(`${tmp.dir}/fresh/data/audit.db`)).toBe(true)
  })
})
