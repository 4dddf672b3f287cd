import { isInternalPath } from '../config/defaults.js'
import type { Rampart } from '../core/rampart.js'
import { RampartError } from '../errors/rampart-error.js'
import type { RedMetrics } from '../metrics/red.js'
import type { Feature } from '../pipeline/feature.js'
import { checkDeclaredMetrics } from './declared-metrics.js'
import { HTTP_METHODS, parseRoute, type SloConfig } from './options.js'

/**
 * Statuses whose series each SLO route gets at 0: the usual success and the server error the
 * availability ratio counts. A route answering other statuses gets those series on first use,
 * and Prometheus counts them from their second scrape on.
 */
const ZERO_STATUSES = ['200', '500'] as const

/**
 * Connects the running service to its `rampart.config.ts`. When the app is ready, every SLO
 * route must be one of its routes, or start-up fails naming the SLO: the CLI cannot see the
 * routes, the running app can. A `routes` list, which the CLI checks SLO routes against, must
 * match the routes the service registered after Rampart. Then the request and duration series
 * of each SLO route are created at 0. Prometheus' `rate()` needs two samples of a series, so a
 * series whose first scrape already shows its first request never shows that request as an
 * increase: a route hit once after a deploy would read as no traffic, or its latency SLI as NaN.
 */
export function sloFeature(
  core: Rampart,
  slo: SloConfig | undefined,
  red: RedMetrics,
): Feature | undefined {
  if (slo === undefined) return undefined
  const { service } = core.config
  if (slo.service !== service)
    core.logger.warn(
      { event: 'config.warning' },
      `rampart.config.ts declares service "${slo.service}" but the service runs as "${service}": the generated SLO rules select job="${slo.service}"`,
    )
  return {
    name: 'slo',
    ready(routes) {
      if (slo.routes !== undefined) {
        // The routes registered after Rampart (the service's own; HEAD twins of GET routes left
        // out), to hold `routes` to the truth.
        const registered: string[] = []
        for (const route of routes) {
          if (isInternalPath(route.url)) continue
          for (const m of route.methods) if (m !== 'HEAD') registered.push(`${m} ${route.url}`)
        }
        checkRouteList(slo.routes, registered, service)
      }
      // Ratio SLOs and business metrics name counters: each must be registered, with its labels.
      checkDeclaredMetrics(slo, (name) => core.metrics.describe(name))
      for (const s of slo.slos) {
        if (s.route === undefined) continue
        const { method, path } = parseRoute(s.route)
        const methods = (method === undefined ? HTTP_METHODS : [method]).filter((m) =>
          routes.some((r) => r.url === path && r.methods.includes(m)),
        )
        if (methods.length === 0)
          throw new RampartError(
            'ERR_RAMPART_SLO',
            `SLO ${s.name}: "${s.route}" is not a route of ${service}`,
          )
        for (const m of methods)
          for (const status of ZERO_STATUSES) {
            red.requests.zero({ method: m, route: path, status })
            red.duration.zero({ method: m, route: path, status })
          }
      }
    },
  }
}

/**
 * `routes` in rampart.config.ts is what lets the CLI refuse an SLO on a route that does not
 * exist; a list that drifted from the app would make that check wrong, so start-up fails on
 * any difference, naming each route to add or remove.
 */
function checkRouteList(listed: readonly string[], registered: readonly string[], service: string) {
  const covers = (entry: string, route: string) => {
    const want = parseRoute(entry)
    const [method, path] = route.split(' ') as [string, string]
    return want.path === path && (want.method === undefined || want.method === method)
  }
  const stale = listed.filter((entry) => !registered.some((r) => covers(entry, r)))
  const missing = registered.filter((r) => !listed.some((entry) => covers(entry, r)))
  if (stale.length === 0 && missing.length === 0) return
  const parts = [
    ...(stale.length
      ? [
          `not routes of ${service}: ${stale.join(', ')} (routes registered before Rampart are not seen: register Rampart first)`,
        ]
      : []),
    ...(missing.length ? [`routes not listed: ${missing.join(', ')}`] : []),
  ]
  throw new RampartError(
    'ERR_RAMPART_SLO',
    `rampart.config.ts routes differ from the app's: ${parts.join('; ')}`,
  )
}
