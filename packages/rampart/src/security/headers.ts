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
