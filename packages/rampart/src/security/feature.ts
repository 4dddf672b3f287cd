import type { Readable } from 'node:stream'
import { isInternalPath } from '../config/defaults.js'
import type { Rampart } from '../core/rampart.js'
import { HttpError } from '../errors/http-error.js'
import type { Exchange } from '../pipeline/exchange.js'
import type { Feature, RouteHooks, RouteSpec } from '../pipeline/feature.js'
import type { RouteConfig } from '../pipeline/route-config.js'
import { createClientIpResolver } from './client-ip.js'
import { readCookie } from './cookie.js'
import { formGuard } from './form-guard.js'
import {
  API_CSP,
  defaultSecurityHeaders,
  helmetOptions,
  isJsonContentType,
  mergeHelmetOptions,
  type SecurityHeaders,
  securityHeaderSet,
  splitSecurityHeaders,
} from './headers.js'
import { jsonDepthGuard } from './json-depth.js'
import { mediaType } from './media-type.js'
import { MAX_PART_HEADER_BYTES, multipartBoundary, multipartGuard } from './multipart-guard.js'
import { isSensitivePath, securityEventOf } from './security-events.js'
import { UPLOAD_TOO_LARGE, watchUpload } from './upload.js'

/** Methods whose requests never carry a body the framework parses: their routes skip the body guards. */
const BODYLESS = new Set(['GET', 'HEAD'])

/**
 * Security for every framework: the client IP (once, into the context, before anything reads
 * it), the security headers (per route with its `helmet` option), `Cache-Control: no-store` on
 * personalised answers, the JSON depth and strict-form body guards, the upload limit and the
 * multipart guard, and the status-based security events. Error answers: `errorAnswer`.
 */
export function securityFeature(core: Rampart): Feature {
  const { config, limits } = core
  const events = core.securityEvents
  const clientIp = createClientIpResolver(config.trustedProxies)

  // helmet's output for Rampart's options, computed once (and once per route that adjusts them
  // with the `helmet` route option), then copied onto every answer.
  const globalOptions = helmetOptions(config.isProduction)
  // The same set the answers written outside routing get (`headersFor`).
  const globalHeaders = defaultSecurityHeaders(config.isProduction)
  const noHeaders = splitSecurityHeaders({})
  // Per route config (routes with a `helmet` option only): filled when the route is registered,
  // or on its first request when the framework hands requests its own copy of the config.
  const routeHeaders = new WeakMap<RouteConfig, SecurityHeaders>()
  const headersOf = (routeConfig: RouteConfig): SecurityHeaders => {
    const own = routeConfig.helmet
    if (own === undefined) return globalHeaders
    let set = routeHeaders.get(routeConfig)
    if (set === undefined) {
      set =
        own === false
          ? noHeaders
          : splitSecurityHeaders(securityHeaderSet(mergeHelmetOptions(globalOptions, own)))
      routeHeaders.set(routeConfig, set)
    }
    return set
  }

  // Personalised answers (signed in, setting a cookie, or carrying a CSRF token) never go to a
  // cache, unless the route says they may. Runs as the route's last hook, so it sees what
  // plugins registered after Rampart did (a cookie plugin's `Set-Cookie`).
  const sessionCookie = config.csrf.sessionCookie
  const noStore = (ex: Exchange): void => {
    if (
      ex.headers.authorization !== undefined ||
      ex.csrfIssued ||
      readCookie(ex.headers.cookie, sessionCookie) !== undefined ||
      ex.hasHeader('set-cookie')
    )
      ex.setHeader('cache-control', 'no-store')
  }

  // JSON nesting depth, and urlencoded fields and depth, on the routes that can receive a body.
  const bodyGuard =
    (bodyLimit: number) =>
    (ex: Exchange, stream: Readable): Readable => {
      const type = mediaType(ex.headers['content-type'])
      if (type === '') return stream
      const json = type === 'application/json' || type.endsWith('+json')
      if (!json && type !== 'application/x-www-form-urlencoded') return stream
      const length = Number(ex.headers['content-length'])
      // Declared over the limit: the framework refuses it before reading (and so before `100 Continue`).
      if (length > bodyLimit) return stream
      // A JSON body shorter than the depth limit cannot nest deeper than it.
      if (json && length > 0 && length <= limits.jsonDepth) return stream
      const guard = json ? jsonDepthGuard(limits.jsonDepth) : formGuard()
      stream.on('error', (err) => guard.destroy(err))
      return stream.pipe(guard)
    }

  return {
    name: 'security',

    start(ex) {
      // Client IP first: every later step (CSRF logs, rate limiting) reads it from the context.
      ex.context.clientIp = clientIp(
        ex.incoming.socket?.remoteAddress,
        ex.headers['x-forwarded-for'],
      )
      // The API block on every answer (errors and early answers included).
      ex.setHeaders(headersOf(ex.config).api)
    },

    guard(ex) {
      const contentType = ex.headers['content-type']
      if (contentType === undefined || !mediaType(contentType).startsWith('multipart/'))
        return undefined
      // Multipart bodies are streamed by the handler, outside the framework's body limit.
      const declared = ex.headers['content-length']
      if (Number(declared) > limits.uploadBytes)
        return new HttpError(413, { detail: UPLOAD_TOO_LARGE })
      // Without a Content-Length (chunked), count while streaming; check the parts' structure
      // either way (what the multipart parser would silently skip is refused).
      const boundary = multipartBoundary(contentType)
      watchUpload(ex, {
        limit: declared === undefined ? limits.uploadBytes : undefined,
        guard:
          boundary === undefined
            ? undefined
            : multipartGuard(boundary, {
                headerPairs: limits.multipart.headerPairs,
                headerBytes: MAX_PART_HEADER_BYTES,
              }),
      })
      return undefined
    },

    // A body that is not JSON (a page, an error page, a file) gets the document headers too. A
    // header the handler set itself is kept; the CSP is replaced only while it is still the API one.
    beforeSend(ex) {
      if (isJsonContentType(ex.getHeader('content-type'))) return
      for (const [name, value] of headersOf(ex.config).documentOnly) {
        if (name === 'content-security-policy') {
          if (ex.getHeader(name) === API_CSP) ex.setHeader(name, value)
        } else if (!ex.hasHeader(name)) ex.setHeader(name, value)
      }
    },

    forRoute(route: RouteSpec): RouteHooks | undefined {
      const own: unknown = route.config.helmet
      if (own !== undefined && own !== false && (typeof own !== 'object' || own === null))
        throw new TypeError(`route ${route.url}: helmet must be false or helmet options`)
      // Computed at registration: a bad option fails at start-up, and requests find it ready.
      headersOf(route.config)
      // Rampart's own endpoints keep their own caching and bodies.
      if (isInternalPath(route.url)) return undefined
      const hooks: { body?: RouteHooks['body']; beforeSend?: RouteHooks['beforeSend'] } = {}
      if (!route.methods.every((m) => BODYLESS.has(m)))
        hooks.body = bodyGuard(route.bodyLimit ?? limits.bodyBytes)
      if (route.config.noStore !== false) hooks.beforeSend = noStore
      return hooks.body === undefined && hooks.beforeSend === undefined ? undefined : hooks
    },

    end(ex, status) {
      if (status < 400 || ex.securityReported) return
      // Judged on the path as the router read it (`/%6Cogin` is `/login`): the route template
      // when one matched, else the decoded path; and on the raw path too.
      const prefixes = config.sensitivePaths
      const sensitive =
        ex.config.sensitive === true ||
        isSensitivePath(ex.path, prefixes) ||
        isSensitivePath(ex.route === 'unmatched' ? decoded(ex.path) : ex.route, prefixes)
      const kind = securityEventOf(status, sensitive)
      if (kind !== undefined) events.report(ex, kind, { status })
    },
  }
}

/** A path with its percent-escapes decoded, or as given when they are malformed. */
function decoded(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
