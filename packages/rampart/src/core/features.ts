import { auditFeature } from '../audit/feature.js'
import { consoleFeature } from '../console/feature.js'
import { requestContextFeature } from '../context/feature.js'
import { type CsrfFeature, csrfFeature } from '../csrf/feature.js'
import { errorTrackingFeature } from '../error-tracking/feature.js'
import { healthFeature } from '../health/feature.js'
import { metricsFeature } from '../metrics/feature.js'
import { createRedMetrics, type RedMetrics } from '../metrics/red.js'
import type { Feature } from '../pipeline/feature.js'
import { Pipeline } from '../pipeline/pipeline.js'
import { createCoreRateLimiter, rateLimitFeature } from '../ratelimit/feature.js'
import { securityFeature } from '../security/feature.js'
import { sloFeature } from '../slo/feature.js'
import type { SloConfig } from '../slo/options.js'
import { tracingFeature } from '../tracing/feature.js'
import type { Rampart } from './rampart.js'

/** What the adapters mount: the ordered pipeline, and the RED metrics the raw answers count in. */
export interface CoreFeatures {
  readonly pipeline: Pipeline
  readonly red: RedMetrics
  /** Issues CSRF tokens (the adapters' `request.csrfToken()`). */
  readonly csrf: CsrfFeature
}

/**
 * The features of one app, in the order their work runs on every request. One line per
 * capability; a capability that is off contributes nothing (and costs nothing per request).
 */
export async function buildFeatures(
  core: Rampart,
  options: { slo?: SloConfig | undefined },
): Promise<CoreFeatures> {
  const { slo } = options
  // 1. request id, async context, access log (every later step logs with the request id)
  const context = requestContextFeature(core)
  // 2. tracing (server span around everything after it)
  const tracing = await tracingFeature(core)
  // 2b. error tracking (5xx reports carry the trace ids set above) and the crash handlers
  const errors = await errorTrackingFeature(core)
  const red = createRedMetrics(core.metrics, slo)
  const csrf = csrfFeature(core)
  const limiter = await createCoreRateLimiter(core)
  const features: Array<Feature | undefined> = [
    context,
    tracing,
    errors,
    // 3. metrics, /metrics, SLO series, /healthz, /readyz, the /_rampart console
    metricsFeature(core, red),
    sloFeature(core, slo, red),
    healthFeature(core),
    consoleFeature(core, slo),
    // 4. security: client IP, headers, no-store, body and upload limits, security events
    securityFeature(core),
    // 5. CSRF (its guard runs after the upload checks, before the body is read)
    csrf,
    // 6. rate limiting, per route, after the app's own request hooks (authentication)
    rateLimitFeature(core, limiter),
    // 7. audit, per route, right before the handler
    auditFeature(core),
  ]
  return { pipeline: new Pipeline(features.filter((f) => f !== undefined)), red, csrf }
}
