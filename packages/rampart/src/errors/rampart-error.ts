/** Stable error codes; each has a section in docs/errors.md. */
export type RampartErrorCode =
  | 'ERR_RAMPART_CONFIG'
  | 'ERR_RAMPART_USAGE'
  | 'ERR_RAMPART_STORE'
  | 'ERR_RAMPART_AUDIT'
  | 'ERR_RAMPART_SLO'
  | 'ERR_RAMPART_INTERNAL'

/**
 * The one error type Rampart throws on purpose. `message` is a single line a user can act
 * on: it names the option or variable, what was expected and what was received.
 *
 * @example
 * throw new RampartError('ERR_RAMPART_CONFIG', 'LOG_LEVEL: got "loud"; allowed: trace, debug, info, warn, error, fatal, silent')
 */
export class RampartError extends Error {
  override readonly name = 'RampartError'
  readonly code: RampartErrorCode

  constructor(code: RampartErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }

  /** Where the docs explain this code. */
  get docs(): string {
    return `docs/errors.md#${this.code.toLowerCase()}`
  }
}

export function isRampartError(err: unknown): err is RampartError {
  return err instanceof RampartError
}
