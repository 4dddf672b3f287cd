import type { Rampart } from '../core/rampart.js'
import { HttpError } from '../errors/http-error.js'
import type { Exchange } from '../pipeline/exchange.js'
import type { Feature, RouteHooks, Verdict } from '../pipeline/feature.js'
import { readCookie } from '../security/cookie.js'
import { mediaType } from '../security/media-type.js'
import { CSRF_DEFAULTS } from './options.js'
import { createOriginCheck } from './origin-check.js'
import { createCsrfTokens, type TokenFailure } from './token.js'

/** Methods that never change state and are never checked (docs/security.md). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

type BodyKind = 'form' | 'json' | 'multipart' | 'other'

function bodyKind(contentType: string | undefined): BodyKind {
  const type = mediaType(contentType)
  if (type === 'application/x-www-form-urlencoded') return 'form'
  // Only the types the adapters parse into an object; a `+json` body sends the header.
  if (type === 'application/json') return 'json'
  if (type.startsWith('multipart/')) return 'multipart'
  return 'other'
}

function single(value: string | string[] | undefined): unknown {
  // A repeated header or parameter is refused as malformed, never guessed at.
  return Array.isArray(value) ? [...value] : value
}

/** Why the CSRF protection refused a request (`rampart_csrf_blocks_total{reason}`). */
export type CsrfBlockReason = TokenFailure | 'cross_site' | 'foreign_origin' | 'unchecked_route'

/** The CSRF feature, and the token issuer behind the adapters' `request.csrfToken()`. */
export interface CsrfFeature extends Feature {
  /**
   * A fresh token bound to this request's session cookie (or to `sessionId`, for a page rendered
   * in the same response that sets a new session cookie). The answer is then never cached.
   */
  csrfToken(ex: Exchange, sessionId?: string): string
}

/**
 * The CSRF check of every non-safe request (docs/security.md) and the token issuer.
 *
 * `guard` decides before any body is read whenever it can: the Fetch Metadata / Origin check, a
 * token in `X-CSRF-Token`, and for multipart (streamed by the handler) the `csrf_token` query
 * parameter. Only form and JSON bodies may carry the token in their `csrf_token` field; those
 * are checked in the route's `beforeValidation`, after parsing and before a schema could strip
 * the field, which only routes with a non-safe method get (a GET pays for nothing). Any other Content-Type without the header is refused
 * outright, so the check holds whatever the Content-Type. A route Rampart did not see
 * registered (it has no such hook) cannot have its body read for a token, so a form or JSON
 * post to it without the header is refused rather than let through unchecked.
 */
export function csrfFeature(core: Rampart): CsrfFeature {
  const { config, logger } = core
  const cookieName = config.csrf.sessionCookie
  const tokens = createCsrfTokens(config.secretKey, config.csrf.ttlSeconds)
  const originCheck = createOriginCheck(config.csrf.allowedOrigins)
  const blocks = core.metrics.counter({
    name: 'rampart_csrf_blocks_total',
    help: 'Requests refused by the CSRF protection, by reason',
    labelNames: ['reason'] as const,
  })
  const events = core.securityEvents
  /** `METHOD template` of the routes whose body is checked for a token. */
  const bodyChecked = new Set<string>()

  const refuse = (ex: Exchange, reason: CsrfBlockReason): HttpError => {
    blocks.inc({ reason })
    events.report(ex, 'csrf_blocked', { reason, status: 403 })
    return new HttpError(403, {
      detail:
        'This request was refused by the cross-site request forgery protection. Reload the page and try again.',
    })
  }

  const checkBody = (ex: Exchange, body: unknown): Verdict => {
    const session = ex.csrfPendingSession
    if (session === undefined) return undefined
    ex.csrfPendingSession = undefined
    const token =
      typeof body === 'object' && body !== null && !Array.isArray(body)
        ? (body as Record<string, unknown>)[CSRF_DEFAULTS.field]
        : undefined
    const failure = tokens.verify(token, session)
    return failure === undefined ? undefined : refuse(ex, failure)
  }
  const bodyHooks: RouteHooks = { beforeValidation: checkBody }

  let warnedUnchecked = false
  return {
    name: 'csrf',

    csrfToken(ex, sessionId) {
      ex.csrfIssued = true
      return tokens.issue(sessionId ?? readCookie(ex.headers.cookie, cookieName) ?? '')
    },

    guard(ex) {
      // The wire method decides: `_method` and `X-HTTP-Method-Override` are never consulted.
      if (SAFE_METHODS.has(ex.method)) return undefined
      // An unrouted method or path changes nothing: the not-found answer (404) says so, not a
      // CSRF refusal that would suggest the address takes that method.
      if (!ex.matched) return undefined
      if (ex.config.csrf === false) return undefined
      const session = readCookie(ex.headers.cookie, cookieName)
      // A bearer-only API call carries no ambient authority a foreign page could borrow.
      if (session === undefined && ex.headers.authorization !== undefined) return undefined
      // Every other unsafe request, signed in or not, must come from the service's own pages:
      // without a session this is login CSRF (a foreign page signing the victim in as someone else).
      const origin = originCheck({
        secFetchSite: ex.headers['sec-fetch-site'] as string | undefined,
        origin: ex.headers.origin,
        host: ex.headers.host,
      })
      if (origin !== undefined) return refuse(ex, origin)
      // No session, no token to bind: the origin check is the whole check.
      if (session === undefined) return undefined
      const header = ex.headers[CSRF_DEFAULTS.header]
      let token: unknown = single(header)
      if (header === undefined) {
        const kind = bodyKind(ex.headers['content-type'])
        if (kind === 'form' || kind === 'json') {
          if (!bodyChecked.has(`${ex.method} ${ex.route}`)) {
            if (!warnedUnchecked) {
              warnedUnchecked = true
              logger.warn(
                { event: 'csrf.route_unchecked', route: ex.route },
                'a route added before Rampart cannot have its body checked for a CSRF token; register rampart before your routes',
              )
            }
            return refuse(ex, 'unchecked_route')
          }
          ex.csrfPendingSession = session
          return undefined
        }
        if (kind === 'multipart') token = single(ex.query(CSRF_DEFAULTS.field))
      }
      const failure = tokens.verify(token, session)
      return failure === undefined ? undefined : refuse(ex, failure)
    },

    // Routes with a non-safe method get the body-token check; a GET route pays for no hook.
    forRoute(route) {
      if (route.config.csrf === false) return undefined
      const unsafe = route.methods.filter((m) => !SAFE_METHODS.has(m))
      if (unsafe.length === 0) return undefined
      for (const method of unsafe) bodyChecked.add(`${method} ${route.url}`)
      return bodyHooks
    },
  }
}
