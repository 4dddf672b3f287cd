import { randomBytes } from 'node:crypto'

/** One check of `rampart check`: its name, whether it held, and why (one line). */
export interface CheckOutcome {
  name: string
  ok: boolean
  detail: string
}

export interface CheckOptions {
  /** The service's METRICS_TOKEN, when /metrics is gated. */
  metricsToken?: string
  /** Name of the session cookie the CSRF check guards. Default `session`. */
  sessionCookie?: string
  /**
   * A path that takes POST, for the CSRF check (an unrouted path answers 404, not a CSRF 403).
   * Default `/login`.
   */
  csrfPath?: string
  /**
   * Path of a debug route that throws on purpose (airlock's `/debug/error`): it must answer 500
   * with a problem body, and the service's `rampart_error_reports_total` must grow by one.
   */
  expectErrorRoute?: string
  /** Per-request timeout. Default 5000 ms. */
  timeoutMs?: number
  /** Called after each check, for progress output. */
  onResult?: (outcome: CheckOutcome) => void
}

interface Answer {
  status: number
  headers: Headers
  body: string
}

/** Headers helmet-style protection must set on every answer (docs/errors.md). */
const REQUIRED_HEADERS: Array<[string, (v: string) => boolean, string]> = [
  ['x-content-type-options', (v) => v.toLowerCase() === 'nosniff', 'nosniff'],
  ['content-security-policy', (v) => v.length > 0, 'a policy'],
  ['referrer-policy', (v) => v.length > 0, 'a policy'],
  ['x-frame-options', (v) => /^(deny|sameorigin)$/i.test(v), 'DENY or SAMEORIGIN'],
]

/**
 * The post-deploy smoke test of docs/ops.md against a running service: liveness, readiness, the
 * /metrics gate, 404 shapes (HTML and problem+json), security headers and CSRF refusal. Every
 * check runs (one failing does not hide the others); the caller exits 0 only if all passed.
 */
export async function runChecks(
  baseUrl: string,
  options: CheckOptions = {},
): Promise<CheckOutcome[]> {
  const base = new URL(baseUrl)
  const timeoutMs = options.timeoutMs ?? 5000
  const results: CheckOutcome[] = []
  const call = async (path: string, init: RequestInit = {}): Promise<Answer> => {
    const res = await fetch(new URL(path, base), {
      ...init,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    })
    return { status: res.status, headers: res.headers, body: await res.text() }
  }
  const check = async (name: string, fn: () => Promise<string>) => {
    let outcome: CheckOutcome
    try {
      outcome = { name, ok: true, detail: await fn() }
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } }
      const detail =
        e.name === 'TimeoutError'
          ? `no answer within ${timeoutMs} ms`
          : e.cause?.code
            ? `${e.message} (${e.cause.code})`
            : e.message
      outcome = { name, ok: false, detail }
    }
    results.push(outcome)
    options.onResult?.(outcome)
  }
  const fail = (why: string): never => {
    throw new Error(why)
  }
  const snippet = (s: string) => (s.length > 80 ? `${s.slice(0, 77)}...` : s).replace(/\s+/g, ' ')
  const missing = `/rampart-check-${randomBytes(6).toString('hex')}`

  await check('liveness GET /healthz', async () => {
    const r = await call('/healthz')
    if (r.status !== 200) fail(`expected 200, got ${r.status}`)
    const body = safeJson(r.body) as { status?: unknown } | undefined
    if (body?.status !== 'ok') fail(`expected {"status":"ok"}, got ${snippet(r.body)}`)
    return '200 {"status":"ok"}'
  })
  await check('readiness GET /readyz', async () => {
    const r = await call('/readyz')
    if (r.status !== 200) fail(`expected 200, got ${r.status} ${snippet(r.body)}`)
    return '200, every readiness check passes'
  })
  await check('metrics GET /metrics', async () => {
    const open = await call('/metrics')
    let scraped = open
    let gate = 'no METRICS_TOKEN gate'
    if (options.metricsToken !== undefined) {
      if (open.status !== 401)
        fail(`without the token expected 401, got ${open.status}: /metrics is not gated`)
      scraped = await call('/metrics', {
        headers: { authorization: `Bearer ${options.metricsToken}` },
      })
      if (scraped.status === 401) fail('the token given with --metrics-token was refused (401)')
      gate = '401 without the token'
    } else if (open.status === 401) {
      fail('401: /metrics is gated; pass --metrics-token')
    }
    if (scraped.status !== 200) fail(`expected 200, got ${scraped.status}`)
    for (const name of [
      'http_requests_total',
      'http_request_duration_seconds',
      'http_requests_in_flight',
    ])
      if (!scraped.body.includes(`# TYPE ${name} `)) fail(`the exposition has no ${name}`)
    return `200 with the RED metrics, ${gate}`
  })
  await check('404 as problem+json', async () => {
    const r = await call(missing, { headers: { accept: 'application/json' } })
    if (r.status !== 404) fail(`expected 404, got ${r.status}`)
    const type = r.headers.get('content-type') ?? ''
    if (!type.startsWith('application/problem+json'))
      fail(`expected application/problem+json, got ${type || 'no content-type'}`)
    const body = safeJson(r.body) as Record<string, unknown> | undefined
    for (const field of ['type', 'title', 'status', 'request_id'])
      if (body?.[field] === undefined) fail(`the problem has no "${field}": ${snippet(r.body)}`)
    if (body?.status !== 404) fail(`"status" is ${String(body?.status)}, not 404`)
    return '404 application/problem+json with type, title, status, request_id'
  })
  await check('404 as an HTML page', async () => {
    const r = await call(missing, { headers: { accept: 'text/html,application/xhtml+xml' } })
    if (r.status !== 404) fail(`expected 404, got ${r.status}`)
    const type = r.headers.get('content-type') ?? ''
    if (!type.startsWith('text/html')) fail(`expected text/html, got ${type || 'no content-type'}`)
    if (/\bat .+:\d+:\d+/.test(r.body)) fail('the page shows a stack trace')
    return '404 text/html'
  })
  await check('security headers', async () => {
    const r = await call(missing, { headers: { accept: 'text/html' } })
    const bad = REQUIRED_HEADERS.filter(([h, ok]) => !ok(r.headers.get(h) ?? '')).map(
      ([h, , want]) => `${h} (want ${want})`,
    )
    if (base.protocol === 'https:' && !r.headers.get('strict-transport-security'))
      bad.push('strict-transport-security')
    if (r.headers.get('x-powered-by')) bad.push('x-powered-by must not be sent')
    if (bad.length > 0) fail(`missing or wrong: ${bad.join(', ')}`)
    return REQUIRED_HEADERS.map(([h]) => h).join(', ')
  })
  await check('CSRF refusal of a cross-site POST', async () => {
    const cookie = options.sessionCookie ?? 'session'
    const path = options.csrfPath ?? '/login'
    const r = await call(path, {
      method: 'POST',
      headers: {
        cookie: `${cookie}=rampart-check`,
        'sec-fetch-site': 'cross-site',
        origin: 'https://attacker.invalid',
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: 'rampart=check',
    })
    if (r.status === 404 || r.status === 405)
      fail(
        `POST ${path} is not a route here (${r.status}); pass --csrf-path <a path that takes POST>`,
      )
    if (r.status !== 403)
      fail(
        `expected 403 for a cross-site form POST to ${path} carrying the "${cookie}" cookie, got ${r.status}`,
      )
    return `403 for a cross-site POST to ${path} with the "${cookie}" cookie`
  })
  if (options.expectErrorRoute !== undefined) {
    const path = options.expectErrorRoute
    await check(`error route GET ${path}`, async () => {
      const reports = async (): Promise<number | undefined> => {
        const r = await call('/metrics', {
          headers:
            options.metricsToken === undefined
              ? {}
              : { authorization: `Bearer ${options.metricsToken}` },
        })
        if (r.status !== 200) return undefined
        // eslint-disable-next-line security/detect-unsafe-regex -- linear; reads the operator's own service's /metrics
        const m = /^rampart_error_reports_total(?:\{[^}]*\})? (\d+)/m.exec(r.body)
        if (!m?.[1])
          fail(
            'error tracking is off: /metrics has no rampart_error_reports_total (is SENTRY_DSN set?)',
          )
        return Number(m?.[1])
      }
      const before = await reports()
      const r = await call(path, { headers: { accept: 'application/json' } })
      if (r.status === 404) fail(`404: the route is not on (AIRLOCK_DEBUG_ROUTES?)`)
      if (r.status !== 500) fail(`expected 500, got ${r.status}`)
      const type = r.headers.get('content-type') ?? ''
      if (!type.startsWith('application/problem+json'))
        fail(`expected application/problem+json, got ${type || 'no content-type'}`)
      const body = safeJson(r.body) as { request_id?: unknown } | undefined
      if (typeof body?.request_id !== 'string')
        fail(`the problem has no request_id: ${snippet(r.body)}`)
      if (/\bat .+:\d+:\d+/.test(r.body)) fail('the answer shows a stack trace')
      const id = String(body?.request_id)
      if (before === undefined) return `500 problem+json; look for request_id ${id} in Sentry`
      // The report is counted when it is handed to Sentry, just after the answer went out.
      let after = before
      for (let i = 0; i < 20 && after === before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        after = (await reports()) ?? before
      }
      if (after !== before + 1)
        fail(`rampart_error_reports_total went from ${before} to ${after}, expected one report`)
      return `500 problem+json, one error report; look for request_id ${id} in Sentry`
    })
  }
  return results
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
