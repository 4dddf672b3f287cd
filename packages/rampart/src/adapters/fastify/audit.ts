import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onResponseHookHandler,
  preHandlerHookHandler,
  RouteOptions,
} from 'fastify'
import { loadDriver } from '../../audit/store.js'
import { runWithContext } from '../../context/context.js'
import type { Rampart } from '../../core/rampart.js'
import { HttpError } from '../../errors/http-error.js'

/** `POST /requests/:id/approve` for `audit: true` on that route. */
export function derivedAction(method: string, url: string): string {
  return `${method.toUpperCase()} ${url}`
}

const recorded = new WeakSet<FastifyRequest>()

/**
 * Audited routes (`config: { audit: true | 'action.name' }`) get a route-level preHandler,
 * appended after the route's own preHandlers (so authentication has bound the user), that
 * writes the row before the handler runs: if the row cannot be written the request ends with
 * 503 and the handler never runs, so nothing changes. A response ≥ 400 then adds an
 * `outcome: "failed"` row (best effort). Unaudited routes get no hook at all and keep serving
 * when the audit database is down. Trade-offs: docs/audit-log.md.
 */
export function installAudit(app: FastifyInstance, core: Rampart): void {
  const { audit, logger } = core
  let audited = 0

  app.addHook('onRoute', (route: RouteOptions) => {
    const setting = route.config?.audit
    if (setting === undefined || setting === false) return
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    // Fixed per route (one method, or a name given); a multi-method route names each method.
    const fixed =
      typeof setting === 'string'
        ? setting
        : methods.length === 1
          ? derivedAction(String(methods[0]), route.url)
          : undefined
    const actionOf = (request: FastifyRequest) => fixed ?? derivedAction(request.method, route.url)
    audited++

    const before: preHandlerHookHandler = async function auditBeforeHandler(request) {
      const ctx = request.rampartContext
      const target = request.url.split('?')[0]
      try {
        await runWithContext(ctx, () =>
          audit.record({
            action: actionOf(request),
            target,
            outcome: 'attempted',
            details: { method: request.method },
          }),
        )
        recorded.add(request)
      } catch (err) {
        throw new HttpError(503, {
          detail:
            'The audit log is unavailable, so this action was not performed. Try again later.',
          headers: { 'retry-after': '5' },
          cause: err,
        })
      }
    }
    const after: onResponseHookHandler = function auditAfterResponse(
      request: FastifyRequest,
      reply: FastifyReply,
      done,
    ) {
      done()
      if (!recorded.has(request) || reply.statusCode < 400) return
      const action = actionOf(request)
      runWithContext(request.rampartContext, () =>
        audit.record({
          action,
          target: request.url.split('?')[0],
          outcome: 'failed',
          details: { method: request.method, status: reply.statusCode },
        }),
      ).catch((err: unknown) =>
        logger.warn({ event: 'audit.write_failed', action, err }, 'audit outcome row not written'),
      )
    }
    route.preHandler = [...toArray(route.preHandler), before]
    route.onResponse = [...toArray(route.onResponse), after]
  })

  // Migrations at start-up when some route is audited; otherwise the database is opened by the
  // first audit.record(). A database that is down at start-up does not stop the service:
  // audited routes answer 503 until it is back.
  // A missing driver package, though, is a deployment mistake: start-up fails naming it.
  app.addHook('onReady', async () => {
    if (audited === 0) return
    await loadDriver(core.config.audit.db)
    try {
      await audit.open()
    } catch (err) {
      logger.error({ event: 'audit.open_failed', err }, 'audit database unavailable at start-up')
    }
  })
}

function toArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}
