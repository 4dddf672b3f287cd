import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/ratelimit/index.js'
import { storeContract } from './store-contract.js'

describe('MemoryStore', () => {
  storeContract((clock) => new MemoryStore({ now: clock.now }))

  it('stays within 64 MiB of heap under 1,000,000 distinct keys', () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    gc()
    const before = process.memoryUsage().heapUsed
    let t = 0
    const store = new MemoryStore({ now: () => t })
    const spec = { limit: 300, windowMs: 60_000 }
    for (let i = 0; i < 1_000_000; i++) {
      // All within one window: nothing expires, so only the key cap can bound memory.
      t = i / 100
      store.increment(`read:/items/:id:i:${i.toString(36).padStart(22, '-')}`, spec)
    }
    gc()
    const grown = process.memoryUsage().heapUsed - before
    expect(store.size).toBeLessThanOrEqual(store.maxKeys)
    expect(store.size).toBeGreaterThanOrEqual(store.maxKeys / 2)
    // Every dropped key was still live (all in one window), and each was counted.
    expect(store.evictions).toBe(1_000_000 - store.size)
    process.stderr.write(
      `memory store: 1e6 keys, ${store.size} kept, heap grew ${Math.round(grown / 2 ** 20)} MiB\n`,
    )
    expect(grown).toBeLessThan(64 * 1024 * 1024)
  })

  it('drops expired keys as new ones arrive, before evicting live ones', () => {
    let t = 0
    const store = new MemoryStore({ now: () => t, maxKeys: 1000 })
    const spec = { limit: 5, windowMs: 60_000 }
    for (let i = 0; i < 1000; i++) store.increment(`old${i}`, spec)
    t = 61_000
    for (let i = 0; i < 1000; i++) store.increment(`new${i}`, spec)
    expect(store.size).toBeLessThanOrEqual(1000)
    expect(store.evictions).toBe(0)
    // The newest keys are all still there, with their counts.
    expect(store.increment('new999', spec)).toMatchObject({ allowed: true, remaining: 3 })
  })

  it('keeps a heavy key at most `limit` timestamps and keeps order when the clock steps back', () => {
    let t = 100_000
    const store = new MemoryStore({ now: () => t })
    const spec = { limit: 3, windowMs: 60_000 }
    expect(store.increment('k', spec).allowed).toBe(true)
    t = 90_000 // the clock stepped back 10 s
    expect(store.increment('k', spec).allowed).toBe(true)
    expect(store.increment('k', spec).allowed).toBe(true)
    expect(store.increment('k', spec).allowed).toBe(false)
    t = 159_999 // the three passes were all recorded at 100 s
    expect(store.increment('k', spec).allowed).toBe(false)
    t = 160_000
    expect(store.increment('k', spec)).toMatchObject({ allowed: true, remaining: 2 })
  })
})
