import { pathOf } from '../pipeline/exchange.js'

/** Kinds of `rampart_security_events_total{kind}`; the log event is `security.<kind>`. */
export type SecurityEventKind =
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'csrf_blocked'
  | 'sensitive_client_error'
  | 'malformed_request'

/**
 * Which security event, if any, an answer is (docs/logging.md): every 401, 403 and 429, and any
 * other 4xx on a path the service marks sensitive. CSRF blocks are reported where they happen.
 */
export function securityEventOf(status: number, sensitive: boolean): SecurityEventKind | undefined {
  if (status === 401) return 'unauthorized'
  if (status === 403) return 'forbidden'
  if (status === 429) return 'rate_limited'
  if (sensitive && status >= 400 && status < 500) return 'sensitive_client_error'
  return undefined
}

/** Prefix match on whole segments: `/login` covers `/login` and `/login/2fa`, not `/loginx`. */
export function isSensitivePath(path: string, prefixes: readonly string[]): boolean {
  const p = pathOf(path)
  for (const prefix of prefixes) {
    if (p === prefix || p.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) return true
  }
  return false
}
