import { RampartError } from '../errors/rampart-error.js'

/**
 * Runs `node:util` parseArgs (passed as `parse`) and turns an unknown option or a bad value
 * into one usage line instead of a stack trace.
 *
 * @example
 * const { values } = usageErrors(() => parseArgs({ args: argv, options: { out: { type: 'string' } } }))
 */
export function usageErrors<T>(parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err)
    throw new RampartError('ERR_RAMPART_USAGE', `${message}; see --help`)
  }
}
