import type { DestinationStream } from 'pino'

import type { AuditOptions } from '../audit/options.js'
import type { CsrfOptions } from '../csrf/options.js'
import type { MetricsOptions } from '../metrics/options.js'
import type { Store } from '../ratelimit/store.js'
import type { SloConfig } from '../slo/options.js'

/** Log levels pino knows, lowest first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** What a rate-limit key function sees of a request (`RateLimitPolicyOptions.key`). */
export interface RateLimitKeyRequest {
  /** The bound principal (`bindUser`), if any. */
  readonly userId: string | undefined
  /** The client address (after `TRUSTED_PROXIES`). */
  readonly clientIp: string | undefined
  /** The route's parameters (`/users/:username/password` → `{ username }`). */
  readonly params: Readonly<Record<string, string | undefined>>
}

/** A named rate-limit policy: how many requests one key may make per minute. */
export interface RateLimitPolicyOptions {
  /** Requests allowed per rolling 60 s window. */
  perMinute: number
  /**
   * A credential policy guards password or token checks: it fails closed whatever
   * `RATE_LIMIT_ON_STORE_ERROR` says, and by default keys on the client address (plus the
   * target account), never on the caller's own principal. Default: true for `auth`.
   */
  credential?: boolean
  /** This policy's store-error mode. Default: `closed` for credential policies, else `rateLimit.onStoreError`. */
  onStoreError?: 'open' | 'closed'
  /**
   * Whom a request is counted against: `principal` (the bound user, else the address), `ip`
   * (the address, with the route's `accountParam` when it has one), or a function returning
   * any string (hashed before use). Default: `ip` for credential policies, else `principal`.
   */
  key?: 'principal' | 'ip' | ((request: RateLimitKeyRequest) => string)
  /** With `key: 'ip'`: the route parameter naming the target account. Default: `username`. */
  accountParam?: string
}

/** `RampartOptions.metrics`: the `/metrics` endpoint and the app's registry. */
export interface RampartMetricsOptions extends MetricsOptions {
  /** Serve `/metrics`; `false` makes it a 404. Default: `METRICS_ENABLED`, else `true`. */
  enabled?: boolean
  /** Bearer token `/metrics` requires (≥ 16 characters). Default: `METRICS_TOKEN`, else none. */
  token?: string
}

/** `RampartOptions.audit`: where the audit log lives, its key, and its tuning. */
export interface RampartAuditOptions extends AuditOptions {
  /** `sqlite:<path>` or `postgres://…`. Default: `AUDIT_DB`, else `sqlite:<dataDir>/audit.db`. */
  db?: string
  /** Key for the hash chain (≥ 32 bytes). Default: `AUDIT_KEY`, else derived from the secret key. */
  key?: string
}

/** `RampartOptions.console`: the ops console at `/_rampart` (docs/console.md). */
export interface RampartConsoleOptions {
  /** Default: `RAMPART_CONSOLE`, else on in development only. */
  enabled?: boolean
  /** Bearer token the console requires (≥ 16 characters). Default: `RAMPART_CONSOLE_TOKEN`. Required to turn the console on in production. */
  token?: string
}

/**
 * Everything a service can set in code. Every field is optional: a field left `undefined`
 * falls back to its environment variable (docs/configuration.md), then to the default in `DEFAULTS`.
 *
 * @example
 * await app.register(rampart, { service: 'orders', rateLimit: { policies: { export: { perMinute: 5 } } } })
 */
export interface RampartOptions {
  /** Service name used in logs, metrics and traces. Default: `OTEL_SERVICE_NAME`, else `app`. */
  service?: string
  /** `development`, `production` or `test`. Default: `NODE_ENV`, else `development`. */
  nodeEnv?: 'development' | 'production' | 'test'
  /** Default: `LOG_LEVEL`, else `debug` in development and `info` otherwise. */
  logLevel?: LogLevel
  /** Default: `LOG_FORMAT`, else `json` in production and `pretty` in development. */
  logFormat?: 'json' | 'pretty'
  /** Where log lines go. Default: standard output. Tests pass a stream to read lines back. */
  logDestination?: DestinationStream
  /** `/metrics` on or off and its token; series cap, default process metrics and default labels of the app's registry. */
  metrics?: RampartMetricsOptions
  /** Turns tracing on. Default: on exactly when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. */
  tracing?: boolean
  /** Key for CSRF tokens, sessions and fingerprints, ≥ 32 bytes. Default: `SECRET_KEY`. */
  secretKey?: string
  /** Default: `DATA_DIR`, else `./data`. */
  dataDir?: string
  /** CIDRs whose `X-Forwarded-For` is believed. Default: `TRUSTED_PROXIES` (comma-separated), else none. */
  trustedProxies?: string[]
  rateLimit?: {
    /**
     * `memory`, a `redis://` URL, or a `Store` of your own (src/ratelimit/store.ts: `increment`
     * and `reset`, optional `shutdown`, called once at close). Default: `RATE_LIMIT_STORE`, else `memory`.
     */
    store?: string | Store
    /** Default: `RATE_LIMIT_ON_STORE_ERROR`, else `open`. Credential policies are always `closed` unless they set their own. */
    onStoreError?: 'open' | 'closed'
    /** Longest wait for the store's answer, in ms (the deadline adapts below it). Default: `RATE_LIMIT_STORE_TIMEOUT_MS`, else 1000. */
    storeTimeoutMs?: number
    /** Extra or overridden policies. `RATE_LIMIT_<NAME>_PER_MINUTE` still wins over the built-in defaults. */
    policies?: Record<string, RateLimitPolicyOptions>
  }
  /** MiB for one multipart body. Default: `MAX_UPLOAD_MB`, else 500. */
  maxUploadMb?: number
  /** KiB for any other body. Default: `MAX_BODY_KB`, else 1024. */
  maxBodyKb?: number
  /** The audit log's database and key, and its tuning (checkpoint interval, batch size, table name). */
  audit?: RampartAuditOptions
  /** Bound of every database query in seconds (audit pool, `createPgPool`). Default: `DB_QUERY_TIMEOUT_S`, else 5. */
  dbQueryTimeoutS?: number
  /**
   * HTTP server timeouts in seconds (0 turns one off): the whole request, headers and body
   * (`REQUEST_TIMEOUT_S`, else 30); an idle keep-alive connection (`KEEP_ALIVE_TIMEOUT_S`,
   * else 5); the request headers (`HEADERS_TIMEOUT_S`, else 10).
   */
  timeouts?: { requestS?: number; keepAliveS?: number; headersS?: number }
  /** Seconds `/readyz` answers 503 before the listener closes on SIGTERM. Default: `SHUTDOWN_DELAY_S`, else 5 in production and 0 otherwise. */
  shutdownDelayS?: number
  /** Turns error tracking on (docs/error-tracking.md). Default: `SENTRY_DSN`. */
  sentryDsn?: string
  /** Default: `SENTRY_ENVIRONMENT`, else the Node environment (`production`, …). */
  sentryEnvironment?: string
  /** Default: `SENTRY_RELEASE`, else none. */
  sentryRelease?: string
  /** Share of error events sent, 0 to 1. Default: `SENTRY_SAMPLE_RATE`, else 1. */
  sentrySampleRate?: number
  /**
   * Log (and report) an uncaught exception as `process.crashed` and exit 1 after a short flush;
   * log and report unhandled rejections. Default: on, except when the Node environment is
   * `test` (the test runner owns the process's handlers). `false` installs no handler.
   */
  crashHandlers?: boolean
  /** Whether an unhandled rejection also exits. Default: `RAMPART_ON_UNHANDLED_REJECTION`, else `crash` in production and `log` otherwise. */
  onUnhandledRejection?: 'crash' | 'log'
  /** Ops console at `/_rampart`: `{ enabled, token }`. */
  console?: RampartConsoleOptions
  /**
   * Extra key names the service treats as private: never logged, traced or reported.
   * Matched case-insensitively, ignoring `-` and `_`, at any depth.
   */
  redactKeys?: string[]
  /** Paths whose 4xx answers are logged as security events (prefix match, e.g. `/login`). */
  sensitivePaths?: string[]
  /** CSRF: session cookie name, extra allowed origins, token lifetime. See docs/security.md. */
  csrf?: CsrfOptions
  /**
   * The service's SLO declaration: the default export of `rampart.config.ts`, the file the
   * `rampart slo rules` and `rampart dashboard` commands read. At start-up every SLO route must be
   * a route of the app (else start-up fails naming it), and its request and duration series are
   * created at 0 so that Prometheus' `rate()` counts the very first request. Its `service` is
   * the default service name.
   */
  slo?: SloConfig
}
