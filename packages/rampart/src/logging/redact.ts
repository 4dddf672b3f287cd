/**
 * One redaction policy for logs, span attributes and error reports.
 *
 * Written by hand because pino's `redact` (fast-redact) only knows fixed paths with
 * wildcards: it misses a `password` three levels down in a body it has never seen, and it
 * does not look inside strings. This module matches key names at any depth and scrubs
 * credential-looking text inside strings. See docs/logging.md.
 */

export const REDACTED = '[REDACTED]'

/** Key names are compared lower-cased with `-` and `_` removed, so `X-API-Key` = `x_api_key` = `xapikey`. */
export function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '')
}

/** A key containing any of these (after normalising) is sensitive. */
const SENSITIVE_SUBSTRINGS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'authorization',
  'cookie',
  'session',
  'credential',
  'privatekey',
  'accesskey',
  'signature',
]
/** A key equal to one of these (after normalising) is sensitive. */
const SENSITIVE_EXACT = ['pwd', 'pass', 'auth', 'jwt', 'otp', 'pin', 'ssn', 'cvv', 'csrf']

const MAX_DEPTH = 12
const MAX_STRING = 16_384

/** Patterns for credentials inside free text. Each keeps the label and replaces the value. */
const STRING_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // Authorization schemes: "Bearer abc.def", "Basic dXNlcjpw"
  [/\b(Bearer|Basic|Token|Digest)\s+[A-Za-z0-9\-._~+/=:]{4,}/gi, `$1 ${REDACTED}`],
  // key=value pairs in URLs, query strings, cookies and messages
  [
    /\b([A-Za-z0-9_-]*(?:password|passwd|pwd|pass|secret|token|api[_-]?key|auth|session|sid|signature|credential)[A-Za-z0-9_-]*)=([^&\s;,"']+)/gi,
    `$1=${REDACTED}`,
  ],
  // "password": "…" and password: … inside JSON-ish or YAML-ish text (an auth scheme was handled above)
  [
    /(["']?[A-Za-z0-9_-]*(?:password|passwd|secret|token|api[_-]?key|authorization|cookie)[A-Za-z0-9_-]*["']?\s*:\s*)(?!(?:Bearer|Basic|Token|Digest)\s|"?\[REDACTED\])("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,}]+)/gi,
    `$1"${REDACTED}"`,
  ],
  // user:password@ in URLs
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@/\s]+@/gi, `$1${REDACTED}@`],
]

export interface Redactor {
  /** True when a value under this key must never leave the process. */
  isSensitiveKey(key: string): boolean
  /** Scrubs credential-looking substrings (`Bearer …`, `password=…`, `user:pass@`). */
  redactString(value: string): string
  /**
   * A redacted copy of any value: sensitive keys at any depth become `[REDACTED]`, strings
   * are scrubbed, errors become `{ type, message, stack }`, cycles and depth are bounded.
   * The input is never mutated.
   */
  redact<T>(value: T): T
}

/**
 * Builds the redaction policy. `extraKeys` are the fields a service declares private.
 *
 * @example
 * const r = createRedactor(['ssn'])
 * r.redact({ user: { Password: 'x', ssn: '1' } }) // { user: { Password: '[REDACTED]', ssn: '[REDACTED]' } }
 */
export function createRedactor(extraKeys: readonly string[] = []): Redactor {
  const exact = new Set([...SENSITIVE_EXACT, ...extraKeys.map(normalizeKey)])
  const cache = new Map<string, boolean>()

  const isSensitiveKey = (key: string): boolean => {
    let hit = cache.get(key)
    if (hit === undefined) {
      const k = normalizeKey(key)
      hit = exact.has(k) || SENSITIVE_SUBSTRINGS.some((s) => k.includes(s))
      if (cache.size < 10_000) cache.set(key, hit)
    }
    return hit
  }

  // Cheap pre-check: most strings hold none of the trigger words, so skip the regexes.
  const TRIGGER =
    /bearer|basic|token|digest|pass|pwd|secret|key|auth|session|sid|signature|credential|cookie|:\/\/[^\s/]*@/i

  const redactString = (value: string): string => {
    let s = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[truncated]` : value
    if (!TRIGGER.test(s)) return s
    for (const [re, replacement] of STRING_PATTERNS) s = s.replace(re, replacement)
    return s
  }

  const walk = (value: unknown, depth: number, seen: WeakSet<object>): unknown => {
    if (typeof value === 'string') return redactString(value)
    if (value === null || typeof value !== 'object') return value
    if (seen.has(value)) return '[Circular]'
    if (depth >= MAX_DEPTH) return '[Truncated]'
    seen.add(value)
    try {
      if (value instanceof Error) {
        const out: Record<string, unknown> = {
          type: value.name,
          message: redactString(value.message),
          stack: value.stack === undefined ? undefined : redactString(value.stack),
        }
        for (const [k, v] of Object.entries(value)) {
          if (k === 'message' || k === 'stack') continue
          out[k] = isSensitiveKey(k) ? REDACTED : walk(v, depth + 1, seen)
        }
        if (value.cause !== undefined) out.cause = walk(value.cause, depth + 1, seen)
        return out
      }
      if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1, seen))
      if (value instanceof Date) return value
      if (Buffer.isBuffer(value)) return `[Buffer ${value.length} bytes]`
      if (value instanceof Map) {
        const out: Record<string, unknown> = {}
        for (const [k, v] of value)
          out[String(k)] = isSensitiveKey(String(k)) ? REDACTED : walk(v, depth + 1, seen)
        return out
      }
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(value)) {
        const v = (value as Record<string, unknown>)[k]
        out[k] =
          isSensitiveKey(k) && v !== undefined && v !== null ? REDACTED : walk(v, depth + 1, seen)
      }
      return out
    } finally {
      seen.delete(value)
    }
  }

  return {
    isSensitiveKey,
    redactString,
    redact: <T>(value: T): T => walk(value, 0, new WeakSet()) as T,
  }
}
