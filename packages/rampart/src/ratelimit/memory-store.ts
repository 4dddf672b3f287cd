import type { Decision, Store, WindowSpec } from './store.js'

/** Options of `MemoryStore`. */
export interface MemoryStoreOptions {
  /**
   * Most keys held at once. Past it the least recently used key is dropped first, so memory
   * stays bounded whatever the traffic. Default: 100,000.
   */
  maxKeys?: number
  /** Clock in milliseconds. Default: `Date.now`. Tests inject one to place requests exactly. */
  now?: () => number
}

const DEFAULT_MAX_KEYS = 100_000

/**
 * The timestamps of the requests one key was allowed in its current window, oldest first, kept
 * in a ring that grows up to the limit. Only allowed requests are stored, so one key never
 * holds more than `limit` numbers.
 */
class Bucket {
  ts: number[]
  start = 0
  n = 0
  windowMs: number

  constructor(now: number, windowMs: number) {
    this.ts = [now]
    this.n = 1
    this.windowMs = windowMs
  }

  oldest(): number {
    return this.ts[this.start] as number
  }

  newest(): number {
    return this.ts[(this.start + this.n - 1) % this.ts.length] as number
  }

  /** Drops timestamps that left the window ending at `now`. */
  expire(now: number): void {
    const horizon = now - this.windowMs
    const cap = this.ts.length
    while (this.n > 0 && (this.ts[this.start] as number) <= horizon) {
      this.start = this.start + 1 === cap ? 0 : this.start + 1
      this.n--
    }
  }

  push(now: number, limit: number): void {
    const cap = this.ts.length
    if (this.n < cap) {
      const i = this.start + this.n
      this.ts[i >= cap ? i - cap : i] = now
      this.n++
      return
    }
    // Full: grow (doubling, at most to the limit) and lay the ring out flat again.
    const next = new Array<number>(Math.min(Math.max(cap * 2, 4), Math.max(limit, cap + 1)))
    for (let k = 0; k < this.n; k++) next[k] = this.ts[(this.start + k) % cap] as number
    next[this.n] = now
    this.ts = next
    this.start = 0
    this.n++
  }
}

/**
 * An exact sliding-window-log store in process memory: a request passes when fewer than
 * `limit` requests of its key passed in the `windowMs` before it, so no span of `windowMs`
 * ever holds more than `limit` passes. Decisions are synchronous (no promise per request).
 *
 * Memory is bounded by `maxKeys` with two generations of keys (the "hashlru" scheme): new and
 * recently used keys live in `current`; when it holds `maxKeys / 2` keys it becomes `previous`
 * and the old `previous` is dropped whole. A key used again is moved back into `current`, so
 * only keys idle for a whole generation are dropped; each operation is O(1), with no timers
 * and no scans of a big map (a least-recently-used `Map` re-ordered by delete + set made
 * iteration from its old end crawl over tombstones: 90 s for a million keys). A dropped key
 * whose window still held requests is counted in `evictions` (its client starts afresh).
 * One process only: replicas need the Redis store.
 *
 * @example
 * const store = new MemoryStore({ maxKeys: 50_000 })
 * store.increment('auth:k', { limit: 10, windowMs: 60_000 }) // { allowed: true, remaining: 9, resetMs: 60000 }
 */
export class MemoryStore implements Store {
  readonly maxKeys: number
  /** Keys dropped while their window still held requests (cap reached). */
  evictions = 0
  readonly #now: () => number
  readonly #generation: number
  #current = new Map<string, Bucket>()
  #previous = new Map<string, Bucket>()

  constructor(options: MemoryStoreOptions = {}) {
    const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS
    if (!Number.isInteger(maxKeys) || maxKeys < 2)
      throw new RangeError(`MemoryStore maxKeys: expected a whole number ≥ 2, got ${maxKeys}`)
    this.maxKeys = maxKeys
    this.#generation = Math.floor(maxKeys / 2)
    this.#now = options.now ?? Date.now
  }

  /** Number of keys held (at most `maxKeys`). */
  get size(): number {
    return this.#current.size + this.#previous.size
  }

  increment(key: string, spec: WindowSpec): Decision {
    const { limit, windowMs } = spec
    let now = this.#now()
    let bucket = this.#current.get(key)
    if (bucket === undefined) {
      bucket = this.#previous.get(key)
      if (bucket === undefined) {
        this.#add(key, new Bucket(now, windowMs), now)
        return { allowed: true, remaining: limit - 1, resetMs: windowMs }
      }
      this.#previous.delete(key)
      this.#add(key, bucket, now)
    }
    bucket.windowMs = windowMs
    if (bucket.n > 0) {
      // A clock that steps back must not reorder the log; treat it as "still now".
      const newest = bucket.newest()
      if (newest > now) now = newest
      bucket.expire(now)
    }
    if (bucket.n < limit) {
      bucket.push(now, limit)
      return {
        allowed: true,
        remaining: limit - bucket.n,
        resetMs: bucket.oldest() + windowMs - now,
      }
    }
    return { allowed: false, remaining: 0, resetMs: bucket.oldest() + windowMs - now }
  }

  reset(key: string): void {
    this.#current.delete(key)
    this.#previous.delete(key)
  }

  shutdown(): void {
    this.#current.clear()
    this.#previous.clear()
  }

  #add(key: string, bucket: Bucket, now: number): void {
    if (this.#current.size >= this.#generation) {
      // Amortised O(1): one pass over the dropped generation per `maxKeys / 2` new keys.
      for (const old of this.#previous.values()) {
        if (old.n > 0 && old.newest() > now - old.windowMs) this.evictions++
      }
      this.#previous = this.#current
      this.#current = new Map()
    }
    this.#current.set(key, bucket)
  }
}
