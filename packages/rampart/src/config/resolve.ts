import { createHmac, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve as resolvePath } from 'node:path'
import type { DestinationStream } from 'pino'
import { CSRF_DEFAULTS } from '../csrf/options.js'
import { normalizeOrigin } from '../csrf/origin-check.js'
import { RampartError } from '../errors/rampart-error.js'
import { otlpEndpointOf } from '../tracing/endpoint.js'
import { DEFAULTS } from './defaults.js'
import {
  checkOption,
  cidrList,
  configError,
  dbUrl,
  envSchema,
  parseEnv,
  parsePolicyOverrides,
  secretText,
  serviceName,
  tokenText,
} from './env.js'
import type { LogLevel, RampartOptions, RateLimitPolicyOptions } from './options.js'

export type NodeEnv = 'development' | 'production' | 'test'

/** The configuration after options, environment and defaults were merged and validated. */
export interface ResolvedConfig {
  readonly service: string
  readonly nodeEnv: NodeEnv
  readonly isProduction: boolean
  readonly logLevel: LogLevel
  readonly logFormat: 'json' | 'pretty'
  readonly logDestination: DestinationStream | undefined
  readonly metrics: { readonly enabled: boolean; readonly token: string | undefined }
  readonly tracing: { readonly enabled: boolean; readonly endpoint: string | undefined }
  /** Raw bytes of the secret key. Never log this. */
  readonly secretKey: Buffer
  /** Where the secret key came from; `file` and `ephemeral` are for development only. */
  readonly secretKeySource: 'option' | 'env' | 'file' | 'ephemeral'
  readonly dataDir: string
  readonly trustedProxies: readonly string[]
  readonly rateLimit: {
    readonly store: string
    readonly onStoreError: 'open' | 'closed'
    readonly storeTimeoutMs: number
    readonly policies: Readonly<Record<string, RateLimitPolicyOptions>>
  }
  /** Bound of every database query (audit pool, `createPgPool`). */
  readonly dbQueryTimeoutMs: number
  /** HTTP server timeouts in ms; 0 is off. */
  readonly timeouts: {
    readonly requestMs: number
    readonly keepAliveMs: number
    readonly headersMs: number
  }
  /** How long `/readyz` answers 503 on SIGTERM before the listener closes. */
  readonly shutdownDelayMs: number
  readonly maxUploadBytes: number
  readonly maxBodyBytes: number
  readonly audit: { readonly db: string; readonly key: Buffer }
  /** Error tracking: on when `dsn` is set (docs/error-tracking.md). */
  readonly sentry: {
    readonly dsn: string | undefined
    readonly environment: string
    readonly release: string | undefined
    /** The events' `version` tag: the release, else the package version npm ran (`npm_package_version`). */
    readonly version: string | undefined
    readonly sampleRate: number
  }
  /** The process's `uncaughtException`/`unhandledRejection` handlers (docs/error-tracking.md). */
  readonly crash: {
    readonly handlers: boolean
    readonly onUnhandledRejection: 'crash' | 'log'
  }
  readonly console: { readonly enabled: boolean; readonly token: string | undefined }
  readonly redactKeys: readonly string[]
  readonly sensitivePaths: readonly string[]
  readonly csrf: {
    readonly sessionCookie: string
    readonly allowedOrigins: readonly string[]
    readonly ttlSeconds: number
  }
  /** Start-up hints to log once the logger exists (e.g. "generated a development secret"). */
  readonly warnings: readonly string[]
}

/** A number option (else the env/default `fallback`), checked to be a whole number in [min, max]. */
function seconds(name: string, value: number | undefined, fallback: number, min = 0, max = 3600) {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < min || value > max)
    throw configError(name, value, `a whole number from ${min} to ${max}`)
  return value
}

/** Reads or creates the development secret in `DATA_DIR/.secret` (mode 0600). */
function developmentSecret(dataDir: string): Buffer {
  const file = join(dataDir, '.secret')
  if (existsSync(file)) {
    const value = readFileSync(file, 'utf8').trim()
    if (Buffer.byteLength(value) >= DEFAULTS.secretKeyMinBytes) return Buffer.from(value)
  }
  mkdirSync(dataDir, { recursive: true })
  const value = randomBytes(32).toString('hex')
  writeFileSync(file, `${value}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
  return Buffer.from(value)
}

/**
 * Merges options (highest), environment variables and defaults, validates every value once,
 * and throws a `RampartError` (`ERR_RAMPART_CONFIG`) whose one-line message names the
 * variable, what was given (secrets masked) and what is allowed.
 *
 * @example
 * const config = resolveConfig({ service: 'orders' }, process.env)
 */
export function resolveConfig(
  options: RampartOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedConfig {
  // Validate every variable before any side effect (such as creating the development secret).
  const e = parseEnv(env)
  const policyOverrides = parsePolicyOverrides(env)
  const warnings: string[] = []

  const nodeEnv: NodeEnv = options.nodeEnv ?? e.NODE_ENV ?? DEFAULTS.nodeEnv
  const isProduction = nodeEnv === 'production'
  const logLevel: LogLevel =
    options.logLevel ?? e.LOG_LEVEL ?? (nodeEnv === 'development' ? 'debug' : 'info')
  const logFormat =
    options.logFormat ?? e.LOG_FORMAT ?? (nodeEnv === 'development' ? 'pretty' : 'json')
  const dataDir = resolvePath(options.dataDir ?? e.DATA_DIR ?? DEFAULTS.dataDir)

  const metricsToken =
    options.metricsToken === undefined
      ? e.METRICS_TOKEN
      : checkOption('metricsToken', tokenText, options.metricsToken)
  const endpoint = otlpEndpointOf(e)

  let secretKey: Buffer
  let secretKeySource: ResolvedConfig['secretKeySource']
  if (options.secretKey !== undefined) {
    secretKey = Buffer.from(checkOption('secretKey', secretText, options.secretKey))
    secretKeySource = 'option'
  } else if (e.SECRET_KEY !== undefined) {
    secretKey = Buffer.from(e.SECRET_KEY)
    secretKeySource = 'env'
  } else if (isProduction) {
    throw new RampartError(
      'ERR_RAMPART_CONFIG',
      'SECRET_KEY: not set; required in production, at least 32 bytes (try: openssl rand -hex 32)',
    )
  } else if (nodeEnv === 'test') {
    secretKey = randomBytes(32)
    secretKeySource = 'ephemeral'
  } else {
    secretKey = developmentSecret(dataDir)
    secretKeySource = 'file'
    warnings.push(
      `SECRET_KEY is not set; using the development secret kept in ${join(dataDir, '.secret')}. Set SECRET_KEY in production.`,
    )
  }

  const trustedProxies =
    options.trustedProxies === undefined
      ? (e.TRUSTED_PROXIES ?? [])
      : checkOption('trustedProxies', cidrList, options.trustedProxies.join(','))

  const policies: Record<string, RateLimitPolicyOptions> = {
    ...DEFAULTS.policies,
    ...options.rateLimit?.policies,
  }
  for (const [name, perMinute] of Object.entries(policyOverrides)) {
    // Only the rate changes: a credential policy stays one.
    policies[name] = { ...policies[name], perMinute }
  }
  for (const [name, p] of Object.entries(policies)) {
    if (!Number.isInteger(p.perMinute) || p.perMinute < 1)
      throw configError(`rateLimit.policies.${name}.perMinute`, p.perMinute, 'a whole number ≥ 1')
  }
  const store =
    options.rateLimit?.store === undefined
      ? (e.RATE_LIMIT_STORE ?? DEFAULTS.rateLimitStore)
      : (checkOption(
          'rateLimit.store',
          envSchema.shape.RATE_LIMIT_STORE,
          options.rateLimit.store,
        ) ?? DEFAULTS.rateLimitStore)
  const onStoreError =
    options.rateLimit?.onStoreError ?? e.RATE_LIMIT_ON_STORE_ERROR ?? DEFAULTS.rateLimitOnStoreError

  const storeTimeoutMs = seconds(
    'rateLimit.storeTimeoutMs',
    options.rateLimit?.storeTimeoutMs,
    e.RATE_LIMIT_STORE_TIMEOUT_MS ?? DEFAULTS.rateLimitStoreTimeoutMs,
    1,
    60_000,
  )
  const dbQueryTimeoutS = seconds(
    'dbQueryTimeoutS',
    options.dbQueryTimeoutS,
    e.DB_QUERY_TIMEOUT_S ?? DEFAULTS.dbQueryTimeoutS,
    1,
    3600,
  )
  const t = options.timeouts
  const timeouts = {
    requestMs:
      1000 *
      seconds('timeouts.requestS', t?.requestS, e.REQUEST_TIMEOUT_S ?? DEFAULTS.requestTimeoutS),
    keepAliveMs:
      1000 *
      seconds(
        'timeouts.keepAliveS',
        t?.keepAliveS,
        e.KEEP_ALIVE_TIMEOUT_S ?? DEFAULTS.keepAliveTimeoutS,
      ),
    headersMs:
      1000 *
      seconds('timeouts.headersS', t?.headersS, e.HEADERS_TIMEOUT_S ?? DEFAULTS.headersTimeoutS),
  }
  const shutdownDelayS = seconds(
    'shutdownDelayS',
    options.shutdownDelayS,
    e.SHUTDOWN_DELAY_S ??
      (isProduction ? DEFAULTS.shutdownDelayS.production : DEFAULTS.shutdownDelayS.other),
    0,
    600,
  )

  const maxUploadMb = options.maxUploadMb ?? e.MAX_UPLOAD_MB ?? DEFAULTS.maxUploadMb
  const maxBodyKb = options.maxBodyKb ?? e.MAX_BODY_KB ?? DEFAULTS.maxBodyKb
  for (const [name, n] of [
    ['maxUploadMb', maxUploadMb],
    ['maxBodyKb', maxBodyKb],
  ] as const) {
    if (!Number.isInteger(n) || n < 1) throw configError(name, n, 'a whole number ≥ 1')
  }

  const auditDb =
    options.audit?.db === undefined
      ? (e.AUDIT_DB ?? `sqlite:${join(dataDir, 'audit.db')}`)
      : checkOption('audit.db', dbUrl, options.audit.db)
  const auditKeyText =
    options.audit?.key === undefined
      ? e.AUDIT_KEY
      : checkOption('audit.key', secretText, options.audit.key)
  const auditKey = auditKeyText
    ? Buffer.from(auditKeyText)
    : createHmac('sha256', secretKey).update('rampart:audit-key:v1').digest()

  const consoleEnabled = options.console ?? e.RAMPART_CONSOLE ?? !isProduction
  const consoleToken =
    options.consoleToken === undefined
      ? e.RAMPART_CONSOLE_TOKEN
      : checkOption('consoleToken', tokenText, options.consoleToken)
  if (consoleEnabled && isProduction && consoleToken === undefined) {
    throw new RampartError(
      'ERR_RAMPART_CONFIG',
      'RAMPART_CONSOLE_TOKEN: not set; required to turn the console on in production (or set RAMPART_CONSOLE=false)',
    )
  }

  const csrf = {
    sessionCookie: options.csrf?.sessionCookie ?? CSRF_DEFAULTS.sessionCookie,
    allowedOrigins: (options.csrf?.allowedOrigins ?? []).map((o) => {
      try {
        return normalizeOrigin(o)
      } catch {
        throw configError('csrf.allowedOrigins', o, 'origins such as https://app.example.com')
      }
    }),
    ttlSeconds: options.csrf?.ttlSeconds ?? CSRF_DEFAULTS.ttlSeconds,
  }
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/.test(csrf.sessionCookie))
    throw configError('csrf.sessionCookie', csrf.sessionCookie, 'a cookie name')
  if (!Number.isInteger(csrf.ttlSeconds) || csrf.ttlSeconds < 1)
    throw configError('csrf.ttlSeconds', csrf.ttlSeconds, 'a whole number ≥ 1')

  const service =
    options.service === undefined
      ? (e.OTEL_SERVICE_NAME ?? options.slo?.service ?? DEFAULTS.service)
      : checkOption('service', serviceName, options.service)

  const sentryDsn =
    options.sentryDsn === undefined
      ? e.SENTRY_DSN
      : checkOption('sentryDsn', envSchema.shape.SENTRY_DSN, options.sentryDsn)
  const sentry = {
    dsn: sentryDsn,
    environment:
      options.sentryEnvironment === undefined
        ? (e.SENTRY_ENVIRONMENT ?? nodeEnv)
        : (checkOption(
            'sentryEnvironment',
            envSchema.shape.SENTRY_ENVIRONMENT,
            options.sentryEnvironment,
          ) ?? nodeEnv),
    release:
      options.sentryRelease === undefined
        ? e.SENTRY_RELEASE
        : checkOption('sentryRelease', envSchema.shape.SENTRY_RELEASE, options.sentryRelease),
    version: undefined as string | undefined,
    sampleRate: options.sentrySampleRate ?? e.SENTRY_SAMPLE_RATE ?? 1,
  }
  sentry.version = sentry.release ?? (env.npm_package_version || undefined)
  if (!(sentry.sampleRate >= 0 && sentry.sampleRate <= 1))
    throw configError('sentrySampleRate', sentry.sampleRate, 'a number from 0 to 1')
  const crash = {
    handlers: options.crashHandlers ?? nodeEnv !== 'test',
    onUnhandledRejection:
      options.onUnhandledRejection ??
      e.RAMPART_ON_UNHANDLED_REJECTION ??
      (isProduction ? ('crash' as const) : ('log' as const)),
  }
  if (crash.onUnhandledRejection !== 'crash' && crash.onUnhandledRejection !== 'log')
    throw configError('onUnhandledRejection', crash.onUnhandledRejection, 'crash or log')

  return {
    service,
    nodeEnv,
    isProduction,
    logLevel,
    logFormat,
    logDestination: options.logDestination,
    metrics: {
      enabled: options.metricsEnabled ?? e.METRICS_ENABLED ?? DEFAULTS.metricsEnabled,
      token: metricsToken,
    },
    tracing: {
      enabled: options.tracing ?? (endpoint !== undefined && e.OTEL_SDK_DISABLED !== true),
      endpoint,
    },
    secretKey,
    secretKeySource,
    dataDir,
    trustedProxies,
    rateLimit: { store, onStoreError, storeTimeoutMs, policies },
    dbQueryTimeoutMs: dbQueryTimeoutS * 1000,
    timeouts,
    shutdownDelayMs: shutdownDelayS * 1000,
    maxUploadBytes: maxUploadMb * 1024 * 1024,
    maxBodyBytes: maxBodyKb * 1024,
    audit: { db: auditDb, key: auditKey },
    sentry,
    crash,
    console: { enabled: consoleEnabled, token: consoleToken },
    redactKeys: [...(options.redactKeys ?? [])],
    sensitivePaths: [...(options.sensitivePaths ?? [])],
    csrf,
    warnings,
  }
}
