/** CSRF settings (docs/security.md). Every field is optional. */
export interface CsrfOptions {
  /** Name of the cookie that carries the session; its raw value is what tokens bind to. Default `session`. */
  sessionCookie?: string
  /**
   * Origins (`https://app.example.com`) allowed to post besides the service's own. Default: none,
   * i.e. only the service's own origin (the request's `Host`).
   */
  allowedOrigins?: string[]
  /** Token lifetime in seconds. Default 3600. */
  ttlSeconds?: number
}

export const CSRF_DEFAULTS = {
  sessionCookie: 'session',
  ttlSeconds: 3600,
  /** Form field and query parameter. */
  field: 'csrf_token',
  header: 'x-csrf-token',
} as const
