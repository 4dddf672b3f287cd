import type { DestinationStream } from 'pino'

/** A pino destination from `pino.destination()` (sonic-boom): buffered, flushable, with an fd. */
interface FileDestination extends DestinationStream {
  fd: number
  flushSync(): void
  flush?(cb?: (err?: Error) => void): void
}

/** True for destinations `pino.destination()` makes, the ones worth batching in front of. */
export function isFileDestination(d: DestinationStream): d is FileDestination {
  const x = d as Partial<FileDestination>
  return typeof x.flushSync === 'function' && typeof x.fd === 'number'
}

const live = new Set<LineBatcher>()
let exitHooked = false

/**
 * Gathers the log lines written during one turn of the event loop into one string and hands
 * it to the file destination once: at the end of the turn (`setImmediate`), or at once past
 * `maxChars`. Every line, pino's and the access line, goes through it, so their order is kept.
 *
 * Written by hand because sonic-boom (pino's destination) measures the byte length of its
 * whole pending buffer on every `write` (`Buffer.byteLength` of up to 16 KiB per line): at one
 * access line per request that was the largest part of the logging cost. Handing it one string
 * per loop turn makes that once per batch. Lines wait at most until the end of the current
 * turn; `flushSync` (called by pino's `flush`, by Rampart's shutdown and at process exit)
 * writes them out at once.
 */
export class LineBatcher implements DestinationStream {
  #pending = ''
  #scheduled = false
  readonly #target: FileDestination
  readonly #maxChars: number
  readonly #onTurnEnd = (): void => {
    this.#scheduled = false
    this.#drain()
  }

  constructor(target: FileDestination, maxChars = 16_384) {
    this.#target = target
    this.#maxChars = maxChars
    live.add(this)
    if (!exitHooked) {
      exitHooked = true
      process.once('exit', () => {
        for (const b of live) b.flushSync()
      })
    }
  }

  write(line: string): boolean {
    this.#pending += line
    if (this.#pending.length >= this.#maxChars) this.#drain()
    else if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#onTurnEnd)
    }
    return true
  }

  /** Writes pending lines and makes the file destination write everything it holds. */
  flushSync(): void {
    this.#drain()
    try {
      this.#target.flushSync()
    } catch {
      // sonic-boom throws when it is not ready (fd still opening) or already closed.
    }
  }

  /** pino's `logger.flush(cb)` lands here. */
  flush(cb?: (err?: Error) => void): void {
    this.#drain()
    if (typeof this.#target.flush === 'function') this.#target.flush(cb)
    else cb?.()
  }

  /** Writes pending lines and stops tracking this batcher for the exit flush (logger closed). */
  release(): void {
    this.#drain()
    live.delete(this)
  }

  #drain(): void {
    if (this.#pending === '') return
    const text = this.#pending
    this.#pending = ''
    // pino ends its destination on `beforeExit`; a line logged after that has nowhere to go,
    // exactly as without the batcher, and must not throw out of an exit handler.
    if ((this.#target as { destroyed?: boolean }).destroyed === true) return
    this.#target.write(text)
  }
}
