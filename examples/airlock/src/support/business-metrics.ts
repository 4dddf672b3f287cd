import type { Rampart } from 'rampart'
import { DIRECTIONS, type Direction } from '../db/schema.js'

/** The counters airlock adds to Rampart's registry (docs/airlock.md). */
export interface BusinessMetrics {
  submitted(direction: Direction): void
  approved(direction: Direction): void
  rejected(direction: Direction): void
  loginAttempt(ok: boolean): void
}

/**
 * Registers the business counters with the app's Rampart registry (same series cap and
 * `/metrics` as the HTTP metrics). Every known label set starts at 0, so `rate()` and the
 * dashboards see the series before the first event.
 */
export function createBusinessMetrics(core: Rampart): BusinessMetrics {
  const byDirection = (name: string, help: string) => {
    const counter = core.metrics.counter({ name, help, labelNames: ['direction'] as const })
    for (const direction of DIRECTIONS) counter.inc({ direction }, 0)
    return (direction: Direction) => counter.inc({ direction })
  }
  const logins = core.metrics.counter({
    name: 'airlock_login_attempts_total',
    help: 'Password checks at POST /login and POST /api/v1/tokens, by outcome.',
    labelNames: ['ok'] as const,
  })
  logins.inc({ ok: 'true' }, 0)
  logins.inc({ ok: 'false' }, 0)
  return {
    submitted: byDirection('airlock_requests_submitted_total', 'Requests submitted for checking.'),
    approved: byDirection('airlock_requests_approved_total', 'Requests approved by a checker.'),
    rejected: byDirection('airlock_requests_rejected_total', 'Requests rejected by a checker.'),
    loginAttempt: (ok) => logins.inc({ ok: String(ok) }),
  }
}
