import helmet, { type HelmetOptions } from 'helmet'
import { ERROR_PAGE_STYLE_HASH } from '../errors/html-page.js'

/**
 * The Content-Security-Policy every response carries. No inline script anywhere; the only
 * inline style allowed is the error pages' own, by hash. Pages that need more (the console)
 * serve their scripts and styles from the same origin.
 */
export function cspDirectives(isProduction: boolean): Record<string, string[]> {
  return {
    'default-src': ["'self'"],
    'base-uri': ["'self'"],
    'connect-src': ["'self'"],
    'font-src': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'img-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", ERROR_PAGE_STYLE_HASH],
    ...(isProduction ? { 'upgrade-insecure-requests': [] } : {}),
  }
}

/** The helmet options Rampart applies to every response. */
export function helmetOptions(isProduction: boolean): HelmetOptions {
  return {
    contentSecurityPolicy: { useDefaults: false, directives: cspDirectives(isProduction) },
    strictTransportSecurity: isProduction ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    xFrameOptions: { action: 'deny' },
    // `no-referrer` also keeps a CSRF token in an upload URL's query out of Referer headers.
    referrerPolicy: { policy: 'no-referrer' },
  }
}

/**
 * The headers helmet sets for these options, computed once. helmet (not a hand-written list)
 * decides the headers; Rampart only avoids re-running it per request: its middleware rebuilds
 * the CSP string on every call, which cost about 5 % of a simple route's CPU.
 */
export function securityHeaderSet(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {}
  const res = {
    setHeader(name: string, value: string | number) {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()]
    },
  }
  let failure: unknown
  helmet(options)({} as never, res as never, (err?: unknown) => {
    failure = err
  })
  if (failure !== undefined) throw failure
  return Object.freeze(headers)
}

/** helmet's legacy option names and the names Rampart uses; helmet rejects both at once. */
const HELMET_ALIASES: Record<string, string> = {
  hsts: 'strictTransportSecurity',
  frameguard: 'xFrameOptions',
  noSniff: 'xContentTypeOptions',
  dnsPrefetchControl: 'xDnsPrefetchControl',
  ieNoOpen: 'xDownloadOptions',
  permittedCrossDomainPolicies: 'xPermittedCrossDomainPolicies',
  hidePoweredBy: 'xPoweredBy',
  xssFilter: 'xXssProtection',
}

/** A route's helmet options over the global ones, either naming style accepted. */
export function mergeHelmetOptions(base: HelmetOptions, own: HelmetOptions): HelmetOptions {
  const merged: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(own)) merged[HELMET_ALIASES[key] ?? key] = value
  return merged as HelmetOptions
}
