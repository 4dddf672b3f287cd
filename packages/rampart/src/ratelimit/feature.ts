import { isInternalPath } from '../config/defaults.js'
import type { Rampart } from '../core/rampart.js'
import type { HttpError } from '../errors/http-error.js'
import type { Exchange } from '../pipeline/exchange.js'
import type { Feature, RouteHooks, Verdict } from '../pipeline/feature.js'
import type { SecurityEventReporter } from '../security/reporter.js'
import { createRateLimiter, type LimitOutcome, type Policy, type RateLimiter } from './limiter.js'

/**
 * The core's rate limiter for the configured policies and store, closed with the core. Services
 * sharing one Redis keep separate buckets (the key prefix names the service).
 */
export async function createCoreRateLimiter(core: Rampart): Promise<RateLimiter> {
  const { config, logger } = core
  const limiter = await createRateLimiter({
    policies: config.rateLimit.policies,
    store: config.rateLimit.store,
    onStoreError: config.rateLimit.onStoreError,
    storeTimeoutMs: config.rateLimit.storeTimeoutMs,
    logger,
    metrics: core.metrics,
    redisPrefix: `rampart:rl:${config.service}:`,
  })
  core.rateLimiter = limiter
  core.onClose('rate-limit store', () => limiter.close())
  return limiter
}

function apply(
  events: SecurityEventReporter,
  ex: Exchange,
  policy: Policy,
  out: LimitOutcome,
): Verdict {
  ex.setHeader('ratelimit-policy', policy.header)
  if (out.rateLimit !== undefined) ex.setHeader('ratelimit', out.rateLimit)
  const error = out.error
  if (error === undefined) return undefined
  for (const [name, value] of Object.entries(error.headers)) ex.setHeader(name, value)
  // The limiter logged `security.rate_limited` with its policy and scope; count it once.
  if (error.status === 429)
    events.count(ex, 'rate_limited')
    // The status a framework's own error handler reads.
  ;(error as HttpError & { statusCode: number }).statusCode = error.status
  return error
}

/**
 * Rate limiting. Routes opt in with `rateLimit: '<policy>'`; the check runs in that route's
 * `beforeBody` (after the app's own request hooks, where a service authenticates and calls
 * `bindUser`, and before the body is read), and routes without a policy pay nothing. An
 * unknown policy name fails at route registration, i.e. at start-up.
 */
export function rateLimitFeature(core: Rampart, limiter: RateLimiter): Feature {
  const events = core.securityEvents
  return {
    name: 'rate-limit',
    forRoute(route): RouteHooks | undefined {
      const name = route.config.rateLimit
      if (name === undefined || name === false || isInternalPath(route.url)) return undefined
      const policy = limiter.policy(name)
      const template = route.url
      return {
        beforeBody(ex) {
          const ctx = ex.context
          const out = limiter.check({
            policy,
            route: template,
            userId: ctx.userId,
            clientIp: ctx.clientIp,
            params: ex.params(),
          })
          return out instanceof Promise
            ? out.then((o) => apply(events, ex, policy, o))
            : apply(events, ex, policy, out)
        },
      }
    },
  }
}
