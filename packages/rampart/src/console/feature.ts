import type { Rampart } from '../core/rampart.js'
import { HttpError } from '../errors/http-error.js'
import type { Exchange } from '../pipeline/exchange.js'
import type { Feature } from '../pipeline/feature.js'
import { bearerMatches } from '../security/bearer.js'
import type { SloConfig } from '../slo/options.js'
import { startRequestHistory } from './history.js'
import { CONSOLE_CSS, consolePage } from './page.js'
import { consoleSnapshot } from './snapshot.js'

/**
 * The ops console at `/_rampart` (HTML), its stylesheet and its JSON at `/_rampart/api/summary`
 * (the same snapshot, the charts' series included).
 * On when `RAMPART_CONSOLE` says so (default: outside production); with `RAMPART_CONSOLE_TOKEN`
 * set (required in production) every console request needs `Authorization: Bearer <token>`.
 * Like `/metrics`, the console's paths are left out of metrics, tracing and rate limits.
 */
export function consoleFeature(core: Rampart, slo: SloConfig | undefined): Feature | undefined {
  const { enabled, token } = core.config.console
  if (!enabled) return undefined
  // The charts' 15 minutes, sampled on an unref'd timer owned by this app (stopped on close).
  const history = startRequestHistory(core)
  const snapshot = () => consoleSnapshot(core, slo, history.series())
  const authorize = (ex: Exchange) => {
    if (token !== undefined && !bearerMatches(ex.headers.authorization, token))
      throw new HttpError(401, {
        detail: 'A valid bearer token (RAMPART_CONSOLE_TOKEN) is required for the console.',
        headers: { 'www-authenticate': 'Bearer realm="rampart console"' },
      })
  }
  return {
    name: 'console',
    routes: [
      {
        method: 'GET',
        path: '/_rampart',
        async handle(ex) {
          authorize(ex)
          return {
            headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
            body: consolePage(await snapshot()),
          }
        },
      },
      // The stylesheet is a public constant; browsers do not send a bearer token for it.
      {
        method: 'GET',
        path: '/_rampart/console.css',
        handle: () => ({
          headers: { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' },
          body: CONSOLE_CSS,
        }),
      },
      {
        method: 'GET',
        path: '/_rampart/api/summary',
        async handle(ex) {
          authorize(ex)
          return { headers: { 'cache-control': 'no-store' }, body: await snapshot() }
        },
      },
    ],
  }
}
