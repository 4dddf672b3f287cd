import type { FastifyInstance, FastifyRequest } from 'fastify'
import { startRequestHistory } from '../../console/history.js'
import { CONSOLE_CSS, consolePage } from '../../console/page.js'
import { consoleSnapshot } from '../../console/snapshot.js'
import type { Rampart } from '../../core/rampart.js'
import { HttpError } from '../../errors/http-error.js'
import { bearerMatches } from '../../security/bearer.js'
import type { SloConfig } from '../../slo/options.js'

/**
 * The ops console at `/_rampart` (HTML), its stylesheet and its JSON at `/_rampart/api/summary`
 * (the same snapshot, the charts' series included).
 * On when `RAMPART_CONSOLE` says so (default: outside production); with `RAMPART_CONSOLE_TOKEN`
 * set (required in production) every console request needs `Authorization: Bearer <token>`.
 * Like `/metrics`, the console's paths are left out of metrics, tracing and rate limits.
 */
export function installConsole(
  app: FastifyInstance,
  core: Rampart,
  slo: SloConfig | undefined,
): void {
  const { enabled, token } = core.config.console
  if (!enabled) return
  // The charts' 15 minutes, sampled on an unref'd timer owned by this app (stopped on close).
  const history = startRequestHistory(core)
  const snapshot = () => consoleSnapshot(core, slo, history.series())
  const routeConfig = { config: { rateLimit: false as const, csrf: false } }
  const authorize = (request: FastifyRequest) => {
    if (token !== undefined && !bearerMatches(request.headers.authorization, token))
      throw new HttpError(401, {
        detail: 'A valid bearer token (RAMPART_CONSOLE_TOKEN) is required for the console.',
        headers: { 'www-authenticate': 'Bearer realm="rampart console"' },
      })
  }

  app.get('/_rampart', routeConfig, async (request, reply) => {
    authorize(request)
    const page = consolePage(await snapshot())
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page)
  })
  // The stylesheet is a public constant; browsers do not send a bearer token for it.
  app.get('/_rampart/console.css', routeConfig, async (_request, reply) => {
    return reply
      .type('text/css; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(CONSOLE_CSS)
  })
  app.get('/_rampart/api/summary', routeConfig, async (request, reply) => {
    authorize(request)
    return reply.header('cache-control', 'no-store').send(await snapshot())
  })
}
