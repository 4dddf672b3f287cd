import type { Logger } from '../logging/logger.js'
import type { RampartMetrics } from '../metrics/registry.js'
import type { Exchange } from '../pipeline/exchange.js'
import type { SecurityEventKind } from './security-events.js'

/**
 * Reports security events (docs/logging.md): one `security.<kind>` warn line and one count of
 * `rampart_security_events_total{kind}`. The core makes one (the counter can be registered only
 * once in the app's registry); every capability reports through it.
 *
 * @example
 * core.securityEvents.report(ex, 'forbidden', { reason: 'not_owner' })
 */
export class SecurityEventReporter {
  readonly #counter: { inc(labels: { kind: SecurityEventKind }): void }
  readonly #logger: Logger

  constructor(metrics: Pick<RampartMetrics, 'counter'>, logger: Logger) {
    this.#logger = logger
    this.#counter = metrics.counter({
      name: 'rampart_security_events_total',
      help: 'Security events: 401, 403, 429, CSRF blocks and 4xx on sensitive paths, by kind',
      labelNames: ['kind'] as const,
    })
  }

  /** Logs and counts an event of this exchange; the status-based report then skips it. */
  report(ex: Exchange, kind: SecurityEventKind, fields: Record<string, unknown> = {}): void {
    ex.securityReported = true
    try {
      this.#counter.inc({ kind })
      this.#logger.warn(
        {
          event: `security.${kind}`,
          request_id: ex.context.requestId,
          method: ex.method,
          route: ex.route,
          client_ip: ex.context.clientIp,
          ...fields,
        },
        `security event: ${kind}`,
      )
    } catch {
      // Telemetry never breaks a request.
    }
  }

  /**
   * Counts an event whose `security.<kind>` line the caller already wrote with richer fields
   * (the rate limiter's names the policy and scope), so it is counted once and logged once.
   */
  count(ex: Exchange, kind: SecurityEventKind): void {
    ex.securityReported = true
    try {
      this.#counter.inc({ kind })
    } catch {
      // Telemetry never breaks a request.
    }
  }

  /** Reports an event of an answer written outside a request's lifecycle (no exchange). */
  reportAnswer(kind: SecurityEventKind, fields: Record<string, unknown>): void {
    try {
      this.#counter.inc({ kind })
      this.#logger.warn({ event: `security.${kind}`, ...fields }, `security event: ${kind}`)
    } catch {
      // Telemetry never breaks a request.
    }
  }
}
