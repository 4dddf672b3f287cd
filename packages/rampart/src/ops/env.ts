import { envSchema } from '../config/env.js'
import type { SloConfig } from '../slo/options.js'

/**
 * Environment variables that hold secrets: the deploy files read them from a Kubernetes Secret
 * or the operator's shell, never from a committed file.
 */
export const SECRET_VARS: ReadonlySet<string> = new Set([
  'SECRET_KEY',
  'METRICS_TOKEN',
  'AUDIT_KEY',
  'AUDIT_DB',
  'SENTRY_DSN',
  'RAMPART_CONSOLE_TOKEN',
])

/** Where the bundle's shared state lives: one Redis and one PostgreSQL for every replica. */
export const SHARED_STORES = {
  redis: 'redis://redis:6379',
  postgresHost: 'postgres:5432',
} as const

/** Seconds a stopping pod keeps serving while load balancers drop it (preStop and the app's own delay). */
export const SHUTDOWN_DELAY_S = 5

/**
 * Production values for every variable of the configuration schema that is not a secret
 * (`""` = unset). Built from the schema, so a variable added there appears in the ConfigMap
 * (and a test fails until it is given a value or left unset on purpose).
 */
export function productionEnv(config: SloConfig): Record<string, string> {
  const chosen: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    METRICS_ENABLED: 'true',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
    OTEL_SERVICE_NAME: config.service,
    DATA_DIR: '/data',
    TRUSTED_PROXIES: '10.0.0.0/8',
    // Every replica counts against the same limits.
    RATE_LIMIT_STORE: SHARED_STORES.redis,
    RATE_LIMIT_ON_STORE_ERROR: 'open',
    MAX_UPLOAD_MB: '500',
    MAX_BODY_KB: '1024',
    RAMPART_CONSOLE: 'false',
    SHUTDOWN_DELAY_S: String(SHUTDOWN_DELAY_S),
  }
  const env: Record<string, string> = {}
  for (const name of Object.keys(envSchema.shape))
    if (!SECRET_VARS.has(name)) env[name] = chosen[name] ?? ''
  // The service's own settings for handing jobs to a worker the bundle runs (both processes).
  if (config.worker?.command !== undefined) Object.assign(env, config.worker.env)
  return env
}
