import type { Server } from 'node:http'
import type { Rampart } from '../../core/rampart.js'
import { takeOverServer } from '../../core/server.js'
import { createShutdown, type HandlerTracker, type ShutdownOptions } from '../../core/shutdown.js'
import type { RawAnswers } from '../../pipeline/raw-answers.js'
import { applyServerTimeouts } from '../../security/server-timeouts.js'

/**
 * Serves `server` with Rampart, at Node's points (Express has no server of its own): the server
 * timeouts, the answers Node writes before Express sees a request (core/server.ts), and graceful
 * shutdown on the signals (core/shutdown.ts): the drain closes the listener, then the core.
 */
export function serveOn(
  server: Server,
  core: Rampart,
  raw: RawAnswers,
  options: ShutdownOptions | undefined,
): HandlerTracker | undefined {
  applyServerTimeouts(server, core.config.timeouts)
  const markClosing = takeOverServer(server, raw)
  const shutdown = createShutdown(
    core,
    () => server,
    async () => {
      markClosing()
      await shutdown?.drain()
      shutdown?.disarm()
      await core.close()
    },
    options,
  )
  if (shutdown === undefined) return undefined
  if (server.listening) shutdown.arm()
  else server.once('listening', () => shutdown.arm())
  server.once('close', () => shutdown.disarm())
  return shutdown.handlers
}
