import type { HelmetOptions } from 'helmet'
import type { RequestContext } from '../../context/context.js'
import type { Rampart } from '../../core/rampart.js'
import type { FastifyExchange } from './exchange.js'
// Every augmentation a user touches must be reachable from the entry's .d.ts: these modules
// add `app.rampart.audit` and `app.rampart.rateLimiter` to `Rampart` (a side-effect import
// survives in the emitted declarations, a type-only one does not).
import '../../audit/index.js'
import '../../ratelimit/limiter.js'

declare module 'fastify' {
  interface RouteShorthandOptions {
    /** Adjusts the security headers of this route (helmet options merged over Rampart's), or `false` for none. */
    helmet?: false | HelmetOptions
  }
  interface FastifyInstance {
    /** The Rampart core of this app: config, logger, redactor, fingerprint, shutdown. */
    rampart: Rampart
  }
  interface FastifyRequest {
    /**
     * A fresh CSRF token bound to this request's session cookie (or to `sessionId`, for a page
     * rendered in the same response that sets a new session cookie).
     *
     * @example
     * reply.view('form.eta', { csrf: request.csrfToken() })
     */
    csrfToken(sessionId?: string): string
    /** This request's Rampart context (request id, user id, trace ids, client IP). */
    readonly rampartContext: RequestContext
    /** This request's Rampart state (its one exchange), made by Rampart's first hook. */
    rampart: FastifyExchange
  }
  interface FastifyContextConfig {
    /** Rate-limit policy name for this route, or `false` to opt out. */
    rateLimit?: string | false
    /** `true` audits the route under an action derived from it; a string names the action. */
    audit?: boolean | string
    /** `false` opts the route out of the CSRF check (e.g. a webhook with its own signature). */
    csrf?: boolean
    /** 4xx answers on this route are logged as security events. */
    sensitive?: boolean
    /**
     * `false` lets answers to signed-in requests (a session cookie or `Authorization`) and answers
     * setting a cookie keep their own `Cache-Control` (e.g. a static stylesheet); by default they
     * get `Cache-Control: no-store`.
     */
    noStore?: boolean
  }
}
