import { pathOf } from '../pipeline/exchange.js'
import type { RateLimitPolicyOptions } from './options.js'

/** Every default in one place (docs/configuration.md, docs/rate-limiting.md). */
export const DEFAULTS = {
  service: 'app',
  nodeEnv: 'development',
  dataDir: './data',
  metricsEnabled: true,
  rateLimitStore: 'memory',
  rateLimitOnStoreError: 'open',
  rateLimitStoreTimeoutMs: 1000,
  dbQueryTimeoutS: 5,
  requestTimeoutS: 30,
  keepAliveTimeoutS: 5,
  headersTimeoutS: 10,
  shutdownDelayS: { production: 5, other: 0 },
  maxUploadMb: 500,
  maxBodyKb: 1024,
  secretKeyMinBytes: 32,
  policies: {
    read: { perMinute: 300 },
    write: { perMinute: 60 },
    auth: { perMinute: 10, credential: true },
    submit: { perMinute: 10 },
  } satisfies Record<string, RateLimitPolicyOptions>,
} as const

/**
 * Buckets of `http_request_duration_seconds`, in seconds. A latency SLO's threshold must be one
 * of these boundaries (docs/slos.md), so changing them is a contract change.
 */
export const DURATION_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const

/** Paths Rampart serves itself; left out of tracing, request metrics and rate limiting. */
export const INTERNAL_PATH_PREFIXES = ['/metrics', '/healthz', '/readyz', '/_rampart'] as const

/** True for `/metrics`, `/healthz`, `/readyz` and anything under `/_rampart`. */
export function isInternalPath(path: string): boolean {
  const p = pathOf(path)
  return (
    p === '/metrics' ||
    p === '/healthz' ||
    p === '/readyz' ||
    p === '/_rampart' ||
    p.startsWith('/_rampart/')
  )
}

/** The methods of RFC 9110; anything else is labelled as one bucket in metrics and spans. */
export const STANDARD_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
])
