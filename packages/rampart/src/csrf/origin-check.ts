/** Why the Fetch Metadata / Origin check refused a request. */
export type OriginFailure = 'cross_site' | 'foreign_origin'

/** Normalises a configured origin (`https://Example.com:443/` → `https://example.com`). */
export function normalizeOrigin(origin: string): string {
  return new URL(origin).origin
}

/** `example.com:443` → `example.com` for https (`:80` for http), as `URL#host` writes it. */
function hostWithoutDefaultPort(host: string | undefined, protocol: string): string | undefined {
  const h = host?.toLowerCase()
  if (protocol === 'https:' && h?.endsWith(':443')) return h.slice(0, -4)
  if (protocol === 'http:' && h?.endsWith(':80')) return h.slice(0, -3)
  return h
}

/**
 * The first CSRF check (docs/security.md), the rule of Go's `http.CrossOriginProtection`:
 * `Sec-Fetch-Site` must be `same-origin` or `none`; without it, an `Origin`, if present, must
 * be the service's own (its host equals the request's `Host`) or one of `allowedOrigins`.
 * Requests from non-browsers (no header at all) pass this check and still need a token.
 *
 * @example
 * const check = createOriginCheck(['https://admin.example.com'])
 * check({ secFetchSite: 'cross-site', origin: 'https://evil.test', host: 'example.com' }) // 'cross_site'
 */
export function createOriginCheck(allowedOrigins: readonly string[]) {
  const allowed = new Set(allowedOrigins.map(normalizeOrigin))
  return (request: {
    secFetchSite: string | undefined
    origin: string | undefined
    host: string | undefined
  }): OriginFailure | undefined => {
    const { origin } = request
    // An origin the service explicitly trusts may post cross-site (e.g. its admin front end).
    if (origin !== undefined && allowed.has(origin)) return undefined
    const site = request.secFetchSite?.trim().toLowerCase()
    if (site !== undefined)
      return site === 'same-origin' || site === 'none' ? undefined : 'cross_site'
    if (origin === undefined) return undefined
    let url: URL
    try {
      url = new URL(origin)
    } catch {
      return 'foreign_origin' // includes `Origin: null` (sandboxed frames, file: pages)
    }
    return url.host !== '' && url.host === hostWithoutDefaultPort(request.host, url.protocol)
      ? undefined
      : 'foreign_origin'
  }
}
