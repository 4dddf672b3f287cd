import type { FastifyInstance } from 'fastify'
import type { Rampart } from '../../core/rampart.js'

/** `/healthz` (liveness) and `/readyz` (readiness: every check passes, not draining). */
export function installHealth(app: FastifyInstance, core: Rampart): void {
  const { health } = core
  const routeConfig = { config: { rateLimit: false as const, csrf: false } }

  app.get('/healthz', routeConfig, async (_request, reply) => {
    return reply.header('cache-control', 'no-store').send({ status: 'ok' })
  })

  // Probes come every few seconds: log readiness changes, not every failed probe.
  let wasReady = true
  app.get('/readyz', routeConfig, async (_request, reply) => {
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
    return reply
      .code(r.ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send(r.ready ? { status, checks } : { status, failing, checks })
  })
}
