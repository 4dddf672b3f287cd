import type { FastifyInstance } from 'fastify'
import { RampartError } from 'rampart'

/** The routes `debugRoutes` adds, as rampart.config.ts lists routes. */
export const DEBUG_ROUTES = ['GET /debug/error'] as const

/** The error `GET /debug/error` throws: recognisable in Sentry and in the logs. */
export const DEBUG_ERROR_MESSAGE = 'deliberate error from GET /debug/error (AIRLOCK_DEBUG_ROUTES)'

/**
 * Whether the debug routes are on. Off unless asked for: `AIRLOCK_DEBUG_ROUTES=1` (or the
 * `debugRoutes` option) outside production. In production `1` is refused at start-up, so a
 * development setting copied into a deploy cannot expose them; turning them on there takes
 * `AIRLOCK_DEBUG_ROUTES=production` (for a post-deploy check, then off again).
 */
export function debugRoutesWanted(
  option: boolean | undefined,
  value: string | undefined,
  isProduction: boolean,
): boolean {
  const text = (value ?? '').trim().toLowerCase()
  if (!['', '0', 'false', '1', 'true', 'production'].includes(text))
    throw new RampartError(
      'ERR_RAMPART_CONFIG',
      `AIRLOCK_DEBUG_ROUTES: got ${JSON.stringify(value)}; expected 1, 0 or production`,
    )
  if (option !== undefined) {
    if (option && isProduction && text !== 'production')
      throw new RampartError(
        'ERR_RAMPART_CONFIG',
        'debugRoutes: refused in production; set AIRLOCK_DEBUG_ROUTES=production to turn the debug routes on there',
      )
    return option
  }
  if (text === '' || text === '0' || text === 'false') return false
  if (isProduction && text !== 'production')
    throw new RampartError(
      'ERR_RAMPART_CONFIG',
      `AIRLOCK_DEBUG_ROUTES: got "${value}"; refused in production (set AIRLOCK_DEBUG_ROUTES=production to turn the debug routes on there)`,
    )
  return true
}

/**
 * `GET /debug/error` throws a deliberate error: it answers 500 with a problem body and
 * produces exactly one error report, proving the error-tracking wiring after a deploy
 * (`rampart check --expect-error-route`). Only registered when `debugRoutesWanted` said so.
 */
export function debugRoutes(app: FastifyInstance): void {
  app.get('/debug/error', { config: { rateLimit: 'auth' } }, async () => {
    throw new Error(DEBUG_ERROR_MESSAGE)
  })
}
