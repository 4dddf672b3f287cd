import type { FastifyRequest } from 'fastify'
import type { Rampart } from '../../core/rampart.js'
import type { SecurityEventKind } from '../../security/security-events.js'
import { routeOf } from './request-context.js'

/** Reports security events (docs/logging.md): one `security.<kind>` warn line and one count. */
export interface SecurityEventReporter {
  report(request: FastifyRequest, kind: SecurityEventKind, fields?: Record<string, unknown>): void
  /**
   * Counts an event whose `security.<kind>` line the caller already wrote with richer fields
   * (the rate limiter's names the policy and scope), so it is counted once and logged once.
   */
  count(request: FastifyRequest, kind: SecurityEventKind): void
  /** Reports an event of an answer written outside Fastify's request lifecycle (no request object). */
  reportAnswer(kind: SecurityEventKind, fields: Record<string, unknown>): void
  /** True once this request was reported, so the generic status-based report skips it. */
  reported(request: FastifyRequest): boolean
}

// One reporter per core: the counter can be registered only once in the app's registry, and
// several adapters' modules (security, CSRF) report through it.
const reporters = new WeakMap<Rampart, SecurityEventReporter>()

/**
 * The security-event reporter of this core.
 *
 * @example
 * securityEvents(app.rampart).report(request, 'forbidden', { reason: 'not_owner' })
 */
export function securityEvents(core: Rampart): SecurityEventReporter {
  const existing = reporters.get(core)
  if (existing !== undefined) return existing
  const counter = core.metrics.counter({
    name: 'rampart_security_events_total',
    help: 'Security events: 401, 403, 429, CSRF blocks and 4xx on sensitive paths, by kind',
    labelNames: ['kind'] as const,
  })
  const seen = new WeakSet<FastifyRequest>()
  const reporter: SecurityEventReporter = {
    report(request, kind, fields = {}) {
      seen.add(request)
      try {
        counter.inc({ kind })
        const ctx = request.rampartContext
        core.logger.warn(
          {
            event: `security.${kind}`,
            request_id: ctx?.requestId,
            method: request.method,
            route: routeOf(request),
            client_ip: ctx?.clientIp,
            ...fields,
          },
          `security event: ${kind}`,
        )
      } catch {
        // Telemetry never breaks a request.
      }
    },
    reportAnswer(kind, fields) {
      try {
        counter.inc({ kind })
        core.logger.warn({ event: `security.${kind}`, ...fields }, `security event: ${kind}`)
      } catch {
        // Telemetry never breaks a request.
      }
    },
    count(request, kind) {
      seen.add(request)
      try {
        counter.inc({ kind })
      } catch {
        // Telemetry never breaks a request.
      }
    },
    reported: (request) => seen.has(request),
  }
  reporters.set(core, reporter)
  return reporter
}
