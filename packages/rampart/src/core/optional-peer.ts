import { RampartError } from '../errors/rampart-error.js'

/**
 * True when `err` says that `name` itself is not installed (not a module it imports, nor a
 * broken install of it): then the feature's peer is missing, and anything else is a real error.
 */
export function isMissingPackage(err: unknown, name: string): boolean {
  const code = (err as { code?: unknown } | null)?.code
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false
  const message = String((err as Error).message)
  return message.includes(`'${name}'`) || message.includes(`"${name}"`)
}

/**
 * Imports an optional peer dependency on first use of the feature that needs it. Heavy
 * integrations (database drivers, OpenTelemetry exporters and instrumentations, Redis) are
 * optional peers so that `npm install rampart` stays small; a service that turns such a
 * feature on without the package gets one line naming it, at start-up.
 *
 * @example
 * const { default: pg } = await importPeer<typeof import('pg')>('pg', 'AUDIT_DB=postgres://…')
 */
export async function importPeer<T>(name: string, feature: string): Promise<T> {
  try {
    return (await import(name)) as T
  } catch (cause) {
    if (!isMissingPackage(cause, name)) throw cause
    throw new RampartError(
      'ERR_RAMPART_CONFIG',
      `${feature} needs the optional package ${name}, which is not installed; run: npm install ${name}`,
      { cause },
    )
  }
}

/** Like `importPeer`, but undefined when the package is absent (for optional extras). */
export async function importPeerIfPresent<T>(name: string): Promise<T | undefined> {
  try {
    return (await import(name)) as T
  } catch (cause) {
    if (isMissingPackage(cause, name)) return undefined
    throw cause
  }
}
