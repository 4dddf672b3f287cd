import type { Rampart } from '../core/rampart.js'
import type { Feature } from '../pipeline/feature.js'

const NO_STORE = { 'cache-control': 'no-store' } as const

/** `/healthz` (liveness) and `/readyz` (readiness: every check passes, not draining). */
export function healthFeature(core: Rampart): Feature {
  const { health } = core
  // Probes come every few seconds: log readiness changes, not every failed probe.
  let wasReady = true
  return {
    name: 'health',
    routes: [
      {
        method: 'GET',
        path: '/healthz',
        handle: () => ({ headers: NO_STORE, body: { status: 'ok' } }),
      },
      {
        method: 'GET',
        path: '/readyz',
        async handle() {
          const r = await health.readiness()
          const failing = r.checks.filter((c) => !c.ok).map((c) => c.name)
          const status = r.ready ? 'ok' : r.draining ? 'draining' : 'unavailable'
          const checks = Object.fromEntries(
            r.checks.map((c) => [
              c.name,
              c.ok
                ? { status: 'ok', duration_ms: c.duration_ms }
                : { status: 'failed', error: c.error, duration_ms: c.duration_ms },
            ]),
          )
          if (r.ready !== wasReady) {
            wasReady = r.ready
            if (r.ready) core.logger.info({ event: 'readiness.recovered' })
            else core.logger.warn({ event: 'readiness.failed', failing, draining: r.draining })
          }
          return {
            status: r.ready ? 200 : 503,
            headers: NO_STORE,
            body: r.ready ? { status, checks } : { status, failing, checks },
          }
        },
      },
    ],
  }
}
