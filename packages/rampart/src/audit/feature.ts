import { runWithContext } from '../context/context.js'
import type { Rampart } from '../core/rampart.js'
import { HttpError } from '../errors/http-error.js'
import type { Exchange } from '../pipeline/exchange.js'
import type { Feature, RouteHooks } from '../pipeline/feature.js'
import { loadDriver } from './store.js'
import './index.js'

/** `POST /requests/:id/approve` for `audit: true` on that route. */
export function derivedAction(method: string, url: string): string {
  return `${method.toUpperCase()} ${url}`
}

/**
 * Audited routes (`audit: true | 'action.name'`) get a `beforeHandler`, run after the route's
 * own (so authentication has bound the user), that writes the row before the handler runs: if
 * the row cannot be written the request ends with 503 and the handler never runs, so nothing
 * changes. An answer ≥ 400 then adds an `outcome: "failed"` row (best effort). Unaudited routes
 * get no hook at all and keep serving when the audit database is down. Trade-offs:
 * docs/audit-log.md.
 */
export function auditFeature(core: Rampart): Feature {
  const { audit, logger } = core
  let audited = 0
  return {
    name: 'audit',

    forRoute(route): RouteHooks | undefined {
      const setting = route.config.audit
      if (setting === undefined || setting === false) return undefined
      const methods = route.methods
      // Fixed per route (one method, or a name given); a multi-method route names each method.
      const fixed =
        typeof setting === 'string'
          ? setting
          : methods.length === 1
            ? derivedAction(String(methods[0]), route.url)
            : undefined
      const actionOf = (ex: Exchange) => fixed ?? derivedAction(ex.method, route.url)
      audited++
      return {
        async beforeHandler(ex) {
          try {
            await runWithContext(ex.context, () =>
              audit.record({
                action: actionOf(ex),
                target: ex.path,
                outcome: 'attempted',
                details: { method: ex.method },
              }),
            )
            ex.auditRecorded = true
            return undefined
          } catch (err) {
            return new HttpError(503, {
              detail:
                'The audit log is unavailable, so this action was not performed. Try again later.',
              headers: { 'retry-after': '5' },
              cause: err,
            })
          }
        },
        after(ex, status) {
          if (!ex.auditRecorded || status < 400) return
          const action = actionOf(ex)
          runWithContext(ex.context, () =>
            audit.record({
              action,
              target: ex.path,
              outcome: 'failed',
              details: { method: ex.method, status },
            }),
          ).catch((err: unknown) =>
            logger.warn(
              { event: 'audit.write_failed', action, err },
              'audit outcome row not written',
            ),
          )
        },
      }
    },

    // Migrations at start-up when some route is audited; otherwise the database is opened by the
    // first audit.record(). A database that is down at start-up does not stop the service:
    // audited routes answer 503 until it is back. A missing driver package, though, is a
    // deployment mistake: start-up fails naming it.
    async ready() {
      if (audited === 0) return
      await loadDriver(core.config.audit.db)
      try {
        await audit.open()
      } catch (err) {
        logger.error({ event: 'audit.open_failed', err }, 'audit database unavailable at start-up')
      }
    },
  }
}
