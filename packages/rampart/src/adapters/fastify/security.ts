import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onSendHookHandler,
  preParsingHookHandler,
} from 'fastify'
import type { HelmetOptions } from 'helmet'
import type { Rampart } from '../../core/rampart.js'
import { HttpError } from '../../errors/http-error.js'
import { renderError } from '../../errors/render.js'
import { createClientIpResolver } from '../../security/client-ip.js'
import { formGuard } from '../../security/form-guard.js'
import {
  API_CSP,
  defaultSecurityHeaders,
  helmetOptions,
  isJsonContentType,
  mergeHelmetOptions,
  type SecurityHeaders,
  securityHeaderSet,
  splitSecurityHeaders,
} from '../../security/headers.js'
import { jsonDepthGuard } from '../../security/json-depth.js'
import {
  MAX_PART_HEADER_BYTES,
  multipartBoundary,
  multipartGuard,
} from '../../security/multipart-guard.js'
import { isSensitivePath, securityEventOf } from '../../security/security-events.js'
import { issuedCsrfToken, readCookie } from './csrf.js'
import {
  markFailedAfterHeaders,
  type RequestObservers,
  routeConfigOf,
  routeOf,
} from './request-context.js'
import { appendRouteHook, methodsOf, prependRouteHook } from './route-hooks.js'
import { securityEvents } from './security-events.js'
import { UPLOAD_TOO_LARGE, uploadRefusal, watchUpload } from './upload-meter.js'

/** Per-route security headers (from the route's `helmet` option), kept in the route config. */
const ROUTE_HEADERS = Symbol('rampart.securityHeaders')
type RouteHeaders = { [ROUTE_HEADERS]?: SecurityHeaders }
type HelmetRouteOption = false | HelmetOptions

function pathOf(url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

function mediaType(contentType: string): string {
  return (contentType.split(';', 1)[0] ?? '').trim().toLowerCase()
}

/**
 * A check that runs inside the security `onRequest` hook: undefined to go on, or the error
 * to answer with. Sharing that hook saves a Fastify hook dispatch on every request.
 */
export type RequestGuard = (request: FastifyRequest) => Error | undefined

/** Methods whose requests never carry a body Fastify parses: their routes skip the JSON guard. */
const BODYLESS = new Set(['GET', 'HEAD'])

/**
 * Slot 4 of the plugin: client IP, security headers, body and upload limits, JSON depth,
 * error pages and security events. `guards` (the CSRF check) run in the same `onRequest` hook,
 * after the client IP and headers are set: one hook dispatch per request for all of them.
 */
export async function installSecurity(
  app: FastifyInstance,
  core: Rampart,
  observers: RequestObservers,
  guards: readonly RequestGuard[] = [],
): Promise<void> {
  const { config, logger, limits } = core

  const clientIp = createClientIpResolver(config.trustedProxies)

  const send = (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const ctx = request.rampartContext
    const requestId = ctx?.requestId ?? '-'
    if (reply.raw.headersSent) {
      // Too late for an error answer: the client has a status line already. Cut the response
      // off (the client must not take a truncated body for a whole one); the request is logged
      // and counted as a 500 when its connection closes, not as a client hang-up.
      failedAfterHeaders(request, error)
      reply.raw.destroy()
      return reply
    }
    // A refused upload's reader fails with whatever it makes of the cut-off body: answer the refusal.
    const thrown = uploadRefusal(request) ?? error
    let out: ReturnType<typeof renderError>
    try {
      out = renderError({
        error: thrown,
        accept: request.headers.accept,
        requestId,
        path: pathOf(request.url),
        isProduction: config.isProduction,
      })
    } catch {
      out = renderError({
        error: new HttpError(500),
        accept: undefined,
        requestId,
        isProduction: true,
      })
    }
    const line = {
      request_id: requestId,
      method: request.method,
      route: routeOf(request),
      status: out.status,
      err: error,
    }
    // A 503 is a dependency that is down: logged once per outage where it is detected
    // (`dependency.unavailable`), so here at debug like a refusal, not once per request.
    if (out.isFault && out.status !== 503)
      logger.error({ event: 'request.failed', ...line }, 'request failed')
    else if (out.status !== 404)
      logger.debug({ event: 'request.rejected', ...line }, 'request rejected')
    // The error handler leaves no stale type or length; a partial header set is replaced whole.
    return reply.code(out.status).headers(out.headers).type(out.contentType).send(out.body)
  }
  const failedAfterHeaders = (request: FastifyRequest, error: unknown) => {
    markFailedAfterHeaders(request)
    logger.error(
      {
        event: 'request.failed',
        request_id: request.rampartContext?.requestId,
        method: request.method,
        route: routeOf(request),
        status: 500,
        err: error,
      },
      'request failed after its headers were sent',
    )
  }
  // Before the first `await`: routes take the error handler when the plugin queue next runs,
  // and /metrics, /healthz and /readyz (slot 3) must get this one.
  app.setErrorHandler((error: FastifyError, request, reply) => send(error, request, reply))
  app.setNotFoundHandler((request, reply) => send(new HttpError(404), request, reply))

  // Security headers: helmet's output for Rampart's options, computed once (and once per route
  // that adjusts them with the `helmet` route option), then copied onto every reply.
  const globalOptions = helmetOptions(config.isProduction)
  // The same set the answers written outside routing get (`headersFor`).
  const globalHeaders = defaultSecurityHeaders(config.isProduction)
  const noHeaders = splitSecurityHeaders({})
  app.addHook('onRoute', (route) => {
    const own = (route as { helmet?: HelmetRouteOption }).helmet
    if (own === undefined) return
    if (own !== false && (typeof own !== 'object' || own === null))
      throw new TypeError(`route ${route.url}: helmet must be false or helmet options`)
    route.config = {
      ...(route.config as object),
      [ROUTE_HEADERS]:
        own === false
          ? noHeaders
          : splitSecurityHeaders(securityHeaderSet(mergeHelmetOptions(globalOptions, own))),
    } as typeof route.config
  })

  // A body that is not JSON (a page, an error page, a file) gets the document headers too. A
  // header the handler set itself is kept; the CSP is replaced only while it is still the API one.
  app.addHook('onSend', (request, reply, payload, done) => {
    // A stream that fails once its headers are out is the server's failure, not a hang-up.
    if (isStream(payload))
      payload.once('error', (err) => {
        if (reply.raw.headersSent) failedAfterHeaders(request, err)
      })
    if (isJsonContentType(reply.getHeader('content-type'))) return done(null, payload)
    const { documentOnly } =
      (routeConfigOf(request) as RouteHeaders)[ROUTE_HEADERS] ?? globalHeaders
    for (const [name, value] of documentOnly) {
      if (name === 'content-security-policy') {
        if (reply.getHeader(name) === API_CSP) reply.header(name, value)
      } else if (!reply.hasHeader(name)) reply.header(name, value)
    }
    done(null, payload)
  })

  // Personalised answers (signed in, setting a cookie, or carrying a CSRF token) never go to a
  // cache, unless the route says they may. A route-level hook (added last, so it runs after
  // every app-wide onSend, a cookie plugin's included).
  const sessionCookie = config.csrf.sessionCookie
  const noStore: onSendHookHandler = (request, reply, payload, done) => {
    if (
      request.headers.authorization !== undefined ||
      issuedCsrfToken(request) ||
      readCookie(request.headers.cookie, sessionCookie) !== undefined ||
      reply.hasHeader('set-cookie')
    )
      reply.header('cache-control', 'no-store')
    done(null, payload)
  }
  app.addHook('onRoute', (route) => {
    if ((route.config as { noStore?: boolean } | undefined)?.noStore !== false)
      appendRouteHook(route, 'onSend', noStore)
  })

  // A plugin cannot change the server-wide bodyLimit, so each route registered after Rampart
  // gets MAX_BODY_KB unless it sets its own.
  app.addHook('onRoute', (route) => {
    if (route.bodyLimit === undefined) route.bodyLimit = limits.bodyBytes
  })

  // One onRequest hook for every per-request step (each hook costs a dispatch).
  app.addHook('onRequest', (request, reply, done) => {
    // Client IP first: every later step (CSRF logs, rate limiting) reads it from the context.
    request.rampartContext.clientIp = clientIp(
      request.raw.socket?.remoteAddress,
      request.headers['x-forwarded-for'],
    )
    const own = (routeConfigOf(request) as RouteHeaders)[ROUTE_HEADERS]
    reply.headers((own ?? globalHeaders).api)
    const contentType = request.headers['content-type']
    if (contentType !== undefined && mediaType(contentType).startsWith('multipart/')) {
      // Multipart bodies are streamed by the handler, outside Fastify's bodyLimit.
      const length = Number(request.headers['content-length'])
      if (length > limits.uploadBytes) {
        done(new HttpError(413, { detail: UPLOAD_TOO_LARGE }))
        return
      }
      // Without a Content-Length (chunked), count while streaming; check the parts' structure
      // either way (what the multipart parser would silently skip is refused).
      const boundary = multipartBoundary(contentType)
      watchUpload(request, {
        limit: request.headers['content-length'] === undefined ? limits.uploadBytes : undefined,
        guard:
          boundary === undefined
            ? undefined
            : multipartGuard(boundary, {
                headerPairs: limits.multipart.headerPairs,
                headerBytes: MAX_PART_HEADER_BYTES,
              }),
      })
    }
    for (const guard of guards) {
      const refused = guard(request)
      if (refused !== undefined) {
        done(refused)
        return
      }
    }
    done()
  })

  // JSON nesting depth and urlencoded fields and depth, on the routes that can receive a body
  // (a GET pays for no hook).
  const bodyGuard: preParsingHookHandler = (request, _reply, payload, done) => {
    const contentType = request.headers['content-type']
    if (contentType === undefined) return done(null, payload)
    const type = mediaType(contentType)
    const json = type === 'application/json' || type.endsWith('+json')
    if (!json && type !== 'application/x-www-form-urlencoded') return done(null, payload)
    const length = Number(request.headers['content-length'])
    // Declared over the limit: Fastify refuses it before reading (and so before `100 Continue`).
    if (length > (request.routeOptions.bodyLimit ?? limits.bodyBytes)) return done(null, payload)
    // A JSON body shorter than the depth limit cannot nest deeper than it.
    if (json && length > 0 && length <= limits.jsonDepth) return done(null, payload)
    const guard = json ? jsonDepthGuard(limits.jsonDepth) : formGuard()
    payload.on('error', (err) => guard.destroy(err))
    done(null, payload.pipe(guard))
  }
  app.addHook('onRoute', (route) => {
    if (methodsOf(route).every((m) => BODYLESS.has(m))) return
    prependRouteHook(route, 'preParsing', bodyGuard)
  })

  // Watched from the request context's onResponse hook (no dispatch of its own).
  const events = securityEvents(core)
  observers.add({
    onResponse(request, _reply, route, _seconds, _internal, status) {
      if (status < 400 || events.reported(request)) return
      // Judged on the path as the router read it (`/%6Cogin` is `/login`): the route template
      // when one matched, else the decoded path; and on the raw path too.
      const prefixes = config.sensitivePaths
      const sensitive =
        routeConfigOf(request)?.sensitive === true ||
        isSensitivePath(request.url, prefixes) ||
        isSensitivePath(route === 'unmatched' ? decodedPath(request.url) : route, prefixes)
      const kind = securityEventOf(status, sensitive)
      if (kind !== undefined) events.report(request, kind, { status })
    },
  })
}

function isStream(payload: unknown): payload is NodeJS.ReadableStream {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    typeof (payload as { pipe?: unknown }).pipe === 'function' &&
    typeof (payload as { once?: unknown }).once === 'function'
  )
}

/** The path part of a URL with its percent-escapes decoded, or as given when they are malformed. */
function decodedPath(url: string): string {
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
