/** What `StoreDeadline.wait` resolves with when the store did not answer in time. */
export const LATE = Symbol('rampart.ratelimit.late')

/**
 * How long a request waits for the rate-limit store (docs/adr/0010-rate-limit-slow-store.md).
 *
 * The deadline follows the store's real latency: four times a moving estimate of it, between
 * `floorMs` and `ceilingMs`. The estimate learns from every answer, late ones included, and
 * rises faster than it falls, so a store that slows down under load gets a longer deadline
 * within a few answers instead of a stream of misses; a store that is fast again gets a short
 * one back slowly. A cold start begins at the ceiling.
 *
 * @example
 * const deadline = new StoreDeadline(1000)
 * const d = await deadline.wait(store.increment(key, spec), (late) => count(late))
 * if (d === LATE) useFallback()
 */
export class StoreDeadline {
  readonly ceilingMs: number
  readonly floorMs: number
  #estimateMs: number

  constructor(ceilingMs: number, floorMs = Math.min(100, ceilingMs)) {
    this.ceilingMs = ceilingMs
    this.floorMs = floorMs
    this.#estimateMs = ceilingMs / 4
  }

  /** The current deadline in ms. */
  get ms(): number {
    return Math.min(this.ceilingMs, Math.max(this.floorMs, Math.ceil(this.#estimateMs * 4)))
  }

  /** Learns one answer's latency. */
  observe(latencyMs: number): void {
    const weight = latencyMs > this.#estimateMs ? 0.3 : 0.05
    this.#estimateMs += weight * (latencyMs - this.#estimateMs)
  }

  /**
   * Resolves with the store's answer, or `LATE` once `ms` (default: the current deadline)
   * passed first. A late answer or error still arrives: it is learnt and handed to `onLate`.
   */
  wait<T>(
    answer: Promise<T>,
    onLate: (outcome: { value: T } | { error: unknown }) => void,
    ms = this.ms,
  ): Promise<T | typeof LATE> {
    const started = performance.now()
    return new Promise((resolve, reject) => {
      let late = false
      const timer = setTimeout(() => {
        late = true
        resolve(LATE)
      }, ms)
      answer.then(
        (value) => {
          this.observe(performance.now() - started)
          if (!late) {
            clearTimeout(timer)
            resolve(value)
          } else onLate({ value })
        },
        (error: unknown) => {
          if (!late) {
            clearTimeout(timer)
            reject(error)
          } else onLate({ error })
        },
      )
    })
  }
}
