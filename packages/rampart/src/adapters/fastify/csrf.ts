import type {
  FastifyContextConfig,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify'
import type { Rampart } from '../../core/rampart.js'
import { CSRF_DEFAULTS } from '../../csrf/options.js'
import { createOriginCheck } from '../../csrf/origin-check.js'
import { createCsrfTokens, type TokenFailure } from '../../csrf/token.js'
import { HttpError } from '../../errors/http-error.js'
import { routeConfigOf, routeOf } from './request-context.js'
import { methodsOf, prependRouteHook } from './route-hooks.js'
import type { RequestGuard } from './security.js'
import { securityEvents } from './security-events.js'

/** Methods that never change state and are never checked (docs/security.md). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

/** The raw value of cookie `name` in a `Cookie` header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
  }
  return undefined
}

const tokenIssued = new WeakSet<FastifyRequest>()

/** True once this request's answer carries a CSRF token (a page with a form): never cached. */
export function issuedCsrfToken(request: FastifyRequest): boolean {
  return tokenIssued.has(request)
}

type BodyKind = 'form' | 'json' | 'multipart' | 'other'

function bodyKind(contentType: string | undefined): BodyKind {
  const type = (contentType?.split(';', 1)[0] ?? '').trim().toLowerCase()
  if (type === 'application/x-www-form-urlencoded') return 'form'
  // Only the types Fastify and @fastify/formbody parse; a `+json` body sends the header.
  if (type === 'application/json') return 'json'
  if (type.startsWith('multipart/')) return 'multipart'
  return 'other'
}

function single(value: string | string[] | undefined): unknown {
  // A repeated header or parameter is refused as malformed, never guessed at.
  return Array.isArray(value) ? [...value] : value
}

/** Marks routes that check a body token in `preValidation` (set when the route is added). */
const BODY_CHECK = Symbol('rampart.csrf.bodyCheck')
type Checked = { [BODY_CHECK]?: true }

/**
 * Slot 5 of the plugin: the CSRF check of every non-safe request carrying the session cookie
 * (docs/security.md) and the `request.csrfToken()` decorator. Returns the check for the security
 * `onRequest` hook to run.
 *
 * The check runs in `onRequest`, before any body is read, whenever it can decide there: the
 * Fetch Metadata / Origin check, a token in `X-CSRF-Token`, and for multipart (streamed by the
 * handler) the `csrf_token` query parameter. Only form and JSON bodies may carry the token in
 * their `csrf_token` field; those are checked in a `preValidation` hook, after parsing and
 * before schema validation could strip the field, which only routes with a non-safe method get
 * (a GET pays for no such hook). Any other Content-Type without the header is refused outright,
 * so the check holds whatever the Content-Type. A route added before Rampart (it has no such
 * hook) cannot have its body read for a token, so a form or JSON post to it without the header
 * is refused rather than let through unchecked.
 */
export function installCsrf(app: FastifyInstance, core: Rampart): RequestGuard {
  const { config, logger } = core
  const cookieName = config.csrf.sessionCookie
  const tokens = createCsrfTokens(config.secretKey, config.csrf.ttlSeconds)
  const originCheck = createOriginCheck(config.csrf.allowedOrigins)
  const blocks = core.metrics.counter({
    name: 'rampart_csrf_blocks_total',
    help: 'Requests refused by the CSRF protection, by reason',
    labelNames: ['reason'] as const,
  })
  const events = securityEvents(core)
  const pending = new WeakMap<FastifyRequest, string>()

  app.decorateRequest('csrfToken', function csrfToken(this: FastifyRequest, sessionId?: string) {
    tokenIssued.add(this)
    return tokens.issue(sessionId ?? readCookie(this.headers.cookie, cookieName) ?? '')
  })

  const refuse = (
    request: FastifyRequest,
    reason: TokenFailure | 'cross_site' | 'foreign_origin' | 'unchecked_route',
  ): HttpError => {
    blocks.inc({ reason })
    events.report(request, 'csrf_blocked', { reason, status: 403 })
    return new HttpError(403, {
      detail:
        'This request was refused by the cross-site request forgery protection. Reload the page and try again.',
    })
  }

  let warnedUnchecked = false
  const guard: RequestGuard = (request) => {
    // The wire method decides: `_method` and `X-HTTP-Method-Override` are never consulted.
    if (SAFE_METHODS.has(request.method)) return undefined
    // An unrouted method or path changes nothing: the not-found handler answers it (404), not
    // a CSRF refusal that would suggest the address takes that method.
    if (request.is404) return undefined
    const route = routeConfigOf(request) as (FastifyContextConfig & Checked) | undefined
    if (route?.csrf === false) return undefined
    const session = readCookie(request.headers.cookie, cookieName)
    // A bearer-only API call carries no ambient authority a foreign page could borrow.
    if (session === undefined && request.headers.authorization !== undefined) return undefined
    // Every other unsafe request, signed in or not, must come from the service's own pages:
    // without a session this is login CSRF (a foreign page signing the victim in as someone else).
    const origin = originCheck({
      secFetchSite: request.headers['sec-fetch-site'] as string | undefined,
      origin: request.headers.origin,
      host: request.headers.host,
    })
    if (origin !== undefined) return refuse(request, origin)
    // No session, no token to bind: the origin check is the whole check.
    if (session === undefined) return undefined
    const header = request.headers[CSRF_DEFAULTS.header]
    let token: unknown = single(header)
    if (header === undefined) {
      const kind = bodyKind(request.headers['content-type'])
      if (kind === 'form' || kind === 'json') {
        if (route?.[BODY_CHECK] !== true) {
          if (!warnedUnchecked) {
            warnedUnchecked = true
            logger.warn(
              { event: 'csrf.route_unchecked', route: routeOf(request) },
              'a route added before Rampart cannot have its body checked for a CSRF token; register rampart before your routes',
            )
          }
          return refuse(request, 'unchecked_route')
        }
        pending.set(request, session)
        return undefined
      }
      if (kind === 'multipart') {
        const query = request.query as Record<string, string | string[] | undefined> | undefined
        token = single(query?.[CSRF_DEFAULTS.field])
      }
    }
    const failure = tokens.verify(token, session)
    return failure === undefined ? undefined : refuse(request, failure)
  }

  const checkBody = (
    request: FastifyRequest,
    _reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ) => {
    const session = pending.get(request)
    if (session === undefined) return done()
    pending.delete(request)
    const body = request.body
    const token =
      typeof body === 'object' && body !== null && !Array.isArray(body)
        ? (body as Record<string, unknown>)[CSRF_DEFAULTS.field]
        : undefined
    const failure = tokens.verify(token, session)
    done(failure === undefined ? undefined : refuse(request, failure))
  }

  // Routes with a non-safe method get the body-token check; a GET route pays for no hook.
  app.addHook('onRoute', (route) => {
    if (methodsOf(route).every((m) => SAFE_METHODS.has(m)) || route.config?.csrf === false) return
    prependRouteHook(route, 'preValidation', checkBody)
    route.config = { ...(route.config as object), [BODY_CHECK]: true } as typeof route.config
  })

  return guard
}
