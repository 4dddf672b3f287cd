/**
 * What an error report may carry, enforced in the process (Sentry's `beforeSend`), not by a
 * setting in Sentry's UI: the logs' redaction policy over the whole event, plus the request
 * parts that never leave at all. Free of Sentry types so it is tested without the SDK.
 */
import { REDACTED, type Redactor } from '../logging/redact.js'

/** Request headers an event may keep; every other one (cookies, credentials, forwarding) is dropped. */
const KEPT_HEADERS = new Set(['accept', 'content-type', 'content-length', 'user-agent', 'host'])

/** A query parameter whose name says it holds a key of some kind (`key`, `api_key`, `sig_key`…). */
const KEY_NAME = /key/i

type Loose = Record<string, unknown>

/** True when a query parameter's value must not leave the process. */
function secretParameter(name: string, redactor: Redactor): boolean {
  return redactor.isSensitiveKey(name) || KEY_NAME.test(name)
}

/** `a=1&password=x` → `a=1&password=[REDACTED]`; the other values are scrubbed as text. */
export function scrubQuery(query: string, redactor: Redactor): string {
  const params = new URLSearchParams(query)
  const out: string[] = []
  for (const [name, value] of params) {
    const kept = secretParameter(name, redactor)
      ? REDACTED
      : encodeURIComponent(redactor.redactString(value))
    out.push(`${encodeURIComponent(name)}=${kept}`)
  }
  return out.join('&')
}

function scrubRequest(request: Loose, redactor: Redactor): Loose {
  const out: Loose = {}
  if (typeof request.method === 'string') out.method = request.method
  if (typeof request.url === 'string') {
    const q = request.url.indexOf('?')
    out.url = q === -1 ? request.url : request.url.slice(0, q)
    if (q !== -1 && request.query_string === undefined)
      out.query_string = scrubQuery(request.url.slice(q + 1), redactor)
  }
  const query = request.query_string
  if (typeof query === 'string') out.query_string = scrubQuery(query, redactor)
  else if (query !== null && typeof query === 'object') {
    const pairs = Array.isArray(query) ? (query as Array<[string, string]>) : Object.entries(query)
    out.query_string = scrubQuery(
      new URLSearchParams(
        pairs.map(([k, v]): [string, string] => [String(k), String(v)]),
      ).toString(),
      redactor,
    )
  }
  const headers = request.headers
  if (headers !== null && typeof headers === 'object') {
    const kept: Loose = {}
    for (const [name, value] of Object.entries(headers))
      if (KEPT_HEADERS.has(name.toLowerCase())) kept[name] = value
    out.headers = kept
  }
  // cookies, data (the body) and env are never copied.
  return out
}

/**
 * The event as it may leave the process: request cookies, body and credentials dropped,
 * secret query values replaced, breadcrumbs dropped, and the logs' redaction (sensitive keys at
 * any depth, credential-looking text in every string) over all the rest. The input is not mutated.
 * `sdkProcessingMetadata` is the SDK's own bookkeeping (never serialised into the event) and is
 * passed through untouched.
 */
export function scrubEvent<T extends object>(event: T, redactor: Redactor): T {
  const { sdkProcessingMetadata, breadcrumbs: _dropped, request, ...rest } = event as Loose
  const out = redactor.redact(rest)
  if (request !== null && typeof request === 'object')
    out.request = redactor.redact(scrubRequest(request as Loose, redactor))
  if (sdkProcessingMetadata !== undefined) out.sdkProcessingMetadata = sdkProcessingMetadata
  return out as T
}
