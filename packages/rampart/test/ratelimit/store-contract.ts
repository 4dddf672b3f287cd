import { expect, it } from 'vitest'
import type { Store } from '../../src/ratelimit/index.js'

/** A clock the test moves by hand. */
export interface ManualClock {
  now: () => number
  set(ms: number): void
}

export function manualClock(start = 1_700_000_000_000): ManualClock {
  let t = start
  return {
    now: () => t,
    set(ms) {
      t = ms
    },
  }
}

const spec = { limit: 10, windowMs: 60_000 }

/** Largest number of passes inside any half-open span [t, t + window) starting at a pass. */
function maxInAnyWindow(passes: number[], windowMs: number): number {
  let max = 0
  let j = 0
  for (let i = 0; i < passes.length; i++) {
    while ((passes[j] as number) <= (passes[i] as number) - windowMs) j++
    max = Math.max(max, i - j + 1)
  }
  return max
}

/**
 * The guarantees every `Store` gives, run against each implementation. `make` gets a manual
 * clock the store must use, and a key prefix unique to the test.
 */
export function storeContract(make: (clock: ManualClock) => Promise<Store> | Store): void {
  const key = () => `k${Math.random().toString(36).slice(2)}`

  it('lets exactly 10 of 100 concurrent increments of one key pass', async () => {
    const clock = manualClock()
    const store = await make(clock)
    const k = key()
    const results = await Promise.all(Array.from({ length: 100 }, () => store.increment(k, spec)))
    expect(results.filter((r) => r.allowed)).toHaveLength(10)
    expect(results.filter((r) => !r.allowed).every((r) => r.remaining === 0)).toBe(true)
  })

  it('never passes more than the limit in any 60 s span around window boundaries', async () => {
    const clock = manualClock(0)
    const store = await make(clock)
    const k = key()
    const passes: number[] = []
    const at = async (t: number, n: number) => {
      clock.set(t)
      let ok = 0
      for (let i = 0; i < n; i++) {
        if ((await store.increment(k, spec)).allowed) {
          ok++
          passes.push(t)
        }
      }
      return ok
    }
    // A fixed one-minute window would pass 10 + 10 here, 2 ms apart.
    expect(await at(59_999, 10)).toBe(10)
    expect(await at(60_001, 10)).toBe(0)
    // The first ten leave the window exactly 60 s after they passed, not before.
    expect(await at(119_998, 5)).toBe(0)
    expect(await at(119_999, 10)).toBe(10)
    // Then a pseudo-random stream with bursts at every minute boundary, for five minutes.
    let seed = 42
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    let t = 120_000
    while (t < 420_000) {
      const nearBoundary = t % 60_000 > 59_000 || t % 60_000 < 1_000
      await at(t, nearBoundary ? 3 : 1)
      t += Math.floor(rand() * (nearBoundary ? 200 : 4_000)) + 1
    }
    expect(passes.length).toBeGreaterThan(50)
    expect(maxInAnyWindow(passes, 60_000)).toBe(10)
  })

  it('reports remaining and the time until the oldest pass leaves the window', async () => {
    const clock = manualClock(1_000_000)
    const store = await make(clock)
    const k = key()
    const first = await store.increment(k, spec)
    expect(first).toEqual({ allowed: true, remaining: 9, resetMs: 60_000 })
    clock.set(1_020_000)
    for (let i = 0; i < 9; i++) await store.increment(k, spec)
    const denied = await store.increment(k, spec)
    expect(denied).toEqual({ allowed: false, remaining: 0, resetMs: 40_000 })
    await store.reset(k)
    expect((await store.increment(k, spec)).allowed).toBe(true)
  })
}
