/**
 * The outcome of one rate-limit decision for one key.
 *
 * `remaining` and `resetMs` describe the key's window *after* this decision: how many more
 * requests would pass right now, and how long until the oldest counted request leaves the
 * window (frees one unit of quota). When `allowed` is false, `resetMs` is the earliest time a
 * retry can pass.
 */
export interface Decision {
  readonly allowed: boolean
  readonly remaining: number
  readonly resetMs: number
}

/** What a store needs to decide for one key. */
export interface WindowSpec {
  /** Requests allowed in any window of `windowMs`. */
  readonly limit: number
  readonly windowMs: number
}

/**
 * Where rate-limit state lives. Shaped like express-rate-limit's `Store`, with one difference
 * that exactness demands: the store itself decides (check and record in one atomic step),
 * because a separate read and write would let concurrent requests or replicas overshoot.
 *
 * Implementations must guarantee that for one key, in any span of `windowMs`, no more than
 * `limit` calls return `allowed: true`. Denied calls are not counted.
 *
 * @example
 * const store: Store = new MemoryStore()
 * const d = await store.increment('read:abc', { limit: 300, windowMs: 60_000 })
 * if (!d.allowed) throw new HttpError(429)
 */
export interface Store {
  /** Records one request for `key` if it is within the limit, and says whether it was. */
  increment(key: string, spec: WindowSpec): Promise<Decision> | Decision
  /** Forgets everything about `key` (e.g. after a successful login). */
  reset(key: string): Promise<void> | void
  /** Releases connections and timers. Called once at shutdown. */
  shutdown?(): Promise<void> | void
}
