import type { HelmetOptions } from 'helmet'

/**
 * What a route tells Rampart, the same on every framework: Fastify reads it from the route's
 * `config`, Express from `rampart.route({ … })`.
 */
export interface RouteConfig {
  /** Rate-limit policy name for this route, or `false` to opt out. */
  readonly rateLimit?: string | false
  /** `true` audits the route under an action derived from it; a string names the action. */
  readonly audit?: boolean | string
  /** `false` opts the route out of the CSRF check (e.g. a webhook with its own signature). */
  readonly csrf?: boolean
  /** 4xx answers on this route are logged as security events. */
  readonly sensitive?: boolean
  /**
   * `false` lets answers to signed-in requests (a session cookie or `Authorization`) and answers
   * setting a cookie keep their own `Cache-Control`; by default they get `Cache-Control: no-store`.
   */
  readonly noStore?: boolean
  /** Adjusts the security headers of this route (helmet options merged over Rampart's), or `false` for none. */
  readonly helmet?: false | HelmetOptions
}

/**
 * The config of the endpoints Rampart serves itself (`/metrics`, `/healthz`, `/readyz`,
 * `/_rampart…`): never rate limited, never CSRF-checked. The only copy.
 */
export const INTERNAL_ROUTE_CONFIG: RouteConfig = Object.freeze({ rateLimit: false, csrf: false })
