import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  onRequestHookHandler,
} from 'fastify'
import { isInternalPath } from '../../config/defaults.js'
import type { Rampart } from '../../core/rampart.js'
import type { HttpError } from '../../errors/http-error.js'
import { createRateLimiter, type LimitOutcome, type Policy } from '../../ratelimit/index.js'

import { type SecurityEventReporter, securityEvents } from './security-events.js'

const LIMITER_HOOK = Symbol('rampart.ratelimit')

/** Sets the status Fastify's default error handler reads, and hands the error on. */
function fail(done: HookHandlerDoneFunction, error: HttpError): void {
  ;(error as HttpError & { statusCode: number }).statusCode = error.status
  done(error)
}

function apply(
  events: SecurityEventReporter,
  request: FastifyRequest,
  reply: FastifyReply,
  policy: Policy,
  out: LimitOutcome,
  done: HookHandlerDoneFunction,
): void {
  reply.header('ratelimit-policy', policy.header)
  if (out.rateLimit !== undefined) reply.header('ratelimit', out.rateLimit)
  if (out.error === undefined) {
    done()
    return
  }
  for (const [name, value] of Object.entries(out.error.headers)) reply.header(name, value)
  // The limiter logged `security.rate_limited` with its policy and scope; count it once.
  if (out.error.status === 429) events.count(request, 'rate_limited')
  fail(done, out.error)
}

/**
 * Rate limiting for Fastify. Routes opt in with `config: { rateLimit: '<policy>' }`; the
 * limiter is appended to that route's own `onRequest` hooks, so it runs after the app's
 * global `onRequest` hooks (where a service authenticates and calls `bindUser`) and before the
 * body is read, and routes without a policy pay nothing. Routes registered before the plugin
 * are not seen. An unknown policy name fails at route registration, i.e. at start-up.
 */
export async function installRateLimit(app: FastifyInstance, core: Rampart): Promise<void> {
  const { config, logger } = core
  const limiter = await createRateLimiter({
    policies: config.rateLimit.policies,
    store: config.rateLimit.store,
    onStoreError: config.rateLimit.onStoreError,
    storeTimeoutMs: config.rateLimit.storeTimeoutMs,
    logger,
    metrics: core.metrics,
    // Services sharing one Redis keep separate buckets.
    redisPrefix: `rampart:rl:${config.service}:`,
  })
  core.rateLimiter = limiter
  const events = securityEvents(core)
  core.onClose('rate-limit store', () => limiter.close())

  app.addHook('onRoute', (route) => {
    const name = route.config?.rateLimit
    if (name === undefined || name === false || isInternalPath(route.url)) return
    const policy = limiter.policy(name)
    const template = route.url
    const existing = route.onRequest === undefined ? [] : [route.onRequest].flat()
    // Fastify clones a GET route's options for its HEAD twin; never add the limiter twice.
    if (existing.some((h) => (h as { [LIMITER_HOOK]?: true })[LIMITER_HOOK])) return
    const hook: onRequestHookHandler = (
      request: FastifyRequest,
      reply: FastifyReply,
      done: HookHandlerDoneFunction,
    ) => {
      const ctx = request.rampartContext
      const out = limiter.check({
        policy,
        route: template,
        userId: ctx?.userId,
        clientIp: ctx?.clientIp ?? request.ip,
        params: request.params as Record<string, string | undefined>,
      })
      if (out instanceof Promise)
        out.then((o) => apply(events, request, reply, policy, o, done), done)
      else apply(events, request, reply, policy, out, done)
    }
    Object.defineProperty(hook, LIMITER_HOOK, { value: true })
    route.onRequest = [...existing, hook]
  })
}
