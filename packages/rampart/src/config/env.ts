import { isIP } from 'node:net'
import { z } from 'zod'
import { RampartError } from '../errors/rampart-error.js'
import { PROPAGATOR_NAMES, propagatorsFromEnv } from '../tracing/propagators.js'
import { SAMPLER_NAMES, samplerRatio } from '../tracing/sampler.js'
import { LOG_LEVELS } from './options.js'

/**
 * The environment variables of docs/configuration.md as one zod schema. Each rule's message says what is
 * allowed; `parseEnv` turns the first failure into one line: variable, value given (secrets
 * masked), what is allowed.
 */

const SECRET_VARS = new Set([
  'SECRET_KEY',
  'AUDIT_KEY',
  'METRICS_TOKEN',
  'RAMPART_CONSOLE_TOKEN',
  'SENTRY_DSN',
  'secretKey',
  'audit.key',
  'metrics.token',
  'console.token',
])

/** Shows enough of a bad value to recognise it without leaking a secret. */
export function maskValue(name: string, value: string): string {
  if (SECRET_VARS.has(name)) return value.length === 0 ? '""' : `"***" (${value.length} characters)`
  if (/^[a-z]+:\/\/[^/]*@/i.test(value))
    return JSON.stringify(value.replace(/\/\/[^/@]*@/, '//***@'))
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)
}

const blankToUndefined = (v: unknown) => (v === '' ? undefined : v)
const lower = (v: unknown) => (typeof v === 'string' && v !== '' ? v.trim().toLowerCase() : v)
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess(blankToUndefined, schema.optional())
const choice = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(lower, z.enum(values, { error: `one of ${values.join(', ')}` }).optional())

export const booleanText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes')

export const wholeNumber = (max: number) =>
  z
    .string()
    .regex(/^\d+$/, `a whole number from 1 to ${max}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, `a whole number from 1 to ${max}`)

/** Whole seconds from `min` to `max` (0 allowed when `min` is 0: "off" or "none"). */
export const secondsText = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `a whole number of seconds from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `a whole number of seconds from ${min} to ${max}`)

export const secretText = z
  .string()
  .refine((s) => Buffer.byteLength(s) >= 32, 'at least 32 bytes (try: openssl rand -hex 32)')

export const tokenText = z.string().min(16, 'at least 16 characters')

export const serviceName = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
    'a name of letters, digits, ".", "_" or "-" (at most 64)',
  )

const httpUrl = z.string().regex(/^https?:\/\/.+/, 'an http:// or https:// URL')

/** Normalises a CIDR (`10.0.0.0/8`, `127.0.0.1` → `/32`, `fd00::/8`), or undefined if invalid. */
export function normalizeCidr(value: string): string | undefined {
  const [addr = '', bits, extra] = value.trim().split('/')
  const family = isIP(addr)
  if (family === 0 || extra !== undefined) return undefined
  const max = family === 4 ? 32 : 128
  if (bits === undefined) return `${addr}/${max}`
  if (!/^\d+$/.test(bits) || Number(bits) > max) return undefined
  return `${addr}/${Number(bits)}`
}

export const cidrList = z.string().transform((text, ctx) => {
  const out: string[] = []
  for (const part of text.split(',').map((s) => s.trim())) {
    if (part === '') continue
    const cidr = normalizeCidr(part)
    if (!cidr) {
      ctx.addIssue({
        code: 'custom',
        message: 'comma-separated CIDRs such as 10.0.0.0/8,127.0.0.1/32',
      })
      return z.NEVER
    }
    out.push(cidr)
  }
  return out
})

/** Sentry's rule for environment and release names: no slash, no whitespace, a bounded length. */
const sentryName = (max: number) =>
  z.string().regex(
    // eslint-disable-next-line security/detect-non-literal-regexp -- max is a constant of this module
    new RegExp(`^[^\\s/]{1,${max}}$`),
    `a name without spaces or "/" (at most ${max} characters)`,
  )

/** A share from 0 to 1 (`0.25`). */
export const sampleRate = z
  .string()
  // eslint-disable-next-line security/detect-unsafe-regex -- an environment variable read once at start-up
  .regex(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/, 'a number from 0 to 1')
  .transform(Number)

export const dbUrl = z
  .string()
  .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'sqlite:<path> or a postgres:// URL')

export const envSchema = z.object({
  NODE_ENV: choice(['development', 'production', 'test']),
  LOG_LEVEL: choice(LOG_LEVELS),
  LOG_FORMAT: choice(['json', 'pretty']),
  METRICS_ENABLED: z.preprocess(lower, booleanText.optional()),
  METRICS_TOKEN: optional(tokenText),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(httpUrl),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(httpUrl),
  OTEL_SERVICE_NAME: optional(serviceName),
  OTEL_EXPORTER_OTLP_PROTOCOL: choice(['http/protobuf', 'http/json', 'grpc']),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: choice(['http/protobuf', 'http/json', 'grpc']),
  OTEL_SDK_DISABLED: z.preprocess(lower, booleanText.optional()),
  OTEL_PROPAGATORS: optional(
    z.string().refine(
      (v) => {
        try {
          propagatorsFromEnv(v)
          return true
        } catch {
          return false
        }
      },
      `a comma-separated list of ${PROPAGATOR_NAMES.join(', ')}`,
    ),
  ),
  OTEL_TRACES_SAMPLER: choice(SAMPLER_NAMES),
  OTEL_TRACES_SAMPLER_ARG: optional(
    z.string().refine((v) => {
      try {
        samplerRatio(v)
        return true
      } catch {
        return false
      }
    }, 'a number from 0 to 1'),
  ),
  SECRET_KEY: optional(secretText),
  DATA_DIR: optional(z.string()),
  TRUSTED_PROXIES: optional(cidrList),
  RATE_LIMIT_STORE: optional(
    z.string().regex(/^(memory|rediss?:\/\/.+)$/, 'memory or a redis:// URL'),
  ),
  RATE_LIMIT_ON_STORE_ERROR: choice(['open', 'closed']),
  RATE_LIMIT_STORE_TIMEOUT_MS: optional(wholeNumber(60_000)),
  DB_QUERY_TIMEOUT_S: optional(secondsText(1, 3600)),
  REQUEST_TIMEOUT_S: optional(secondsText(0, 3600)),
  KEEP_ALIVE_TIMEOUT_S: optional(secondsText(0, 3600)),
  HEADERS_TIMEOUT_S: optional(secondsText(0, 3600)),
  SHUTDOWN_DELAY_S: optional(secondsText(0, 600)),
  MAX_UPLOAD_MB: optional(wholeNumber(1_048_576)),
  MAX_BODY_KB: optional(wholeNumber(1_048_576)),
  AUDIT_DB: optional(dbUrl),
  AUDIT_KEY: optional(secretText),
  SENTRY_DSN: optional(
    z.string().regex(/^https?:\/\/.+@.+/, 'a DSN such as https://<key>@<host>/<project>'),
  ),
  SENTRY_ENVIRONMENT: optional(sentryName(64)),
  SENTRY_RELEASE: optional(sentryName(200)),
  SENTRY_SAMPLE_RATE: optional(sampleRate),
  RAMPART_ON_UNHANDLED_REJECTION: choice(['crash', 'log']),
  RAMPART_CONSOLE: z.preprocess(lower, booleanText.optional()),
  RAMPART_CONSOLE_TOKEN: optional(tokenText),
})

export type Env = z.output<typeof envSchema>

/** One line naming the variable, the masked value and what is allowed. */
export function configError(name: string, value: unknown, allowed: string): RampartError {
  const shown = value === undefined ? 'nothing' : maskValue(name, String(value))
  return new RampartError('ERR_RAMPART_CONFIG', `${name}: got ${shown}; expected ${allowed}`)
}

/** Validates a value from code (an option) against the same rule as its variable. */
export function checkOption<T extends z.ZodType>(
  name: string,
  schema: T,
  value: unknown,
): z.output<T> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw configError(name, value, result.error.issues[0]?.message ?? 'a valid value')
}

/** Parses and validates the environment once. Throws `ERR_RAMPART_CONFIG` with one line on the first bad variable. */
export function parseEnv(env: NodeJS.ProcessEnv): Env {
  const result = envSchema.safeParse(env)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const name = String(issue?.path[0] ?? 'environment')
  throw configError(name, env[name], issue?.message ?? 'a valid value')
}

/** `RATE_LIMIT_<POLICY>_PER_MINUTE` overrides, keyed by lower-case policy name. */
export function parsePolicyOverrides(env: NodeJS.ProcessEnv): Record<string, number> {
  const out: Record<string, number> = {}
  const perMinute = wholeNumber(1_000_000)
  for (const [key, value] of Object.entries(env)) {
    const m = /^RATE_LIMIT_([A-Z0-9_]+)_PER_MINUTE$/.exec(key)
    if (!m?.[1] || value === undefined || value === '') continue
    out[m[1].toLowerCase()] = checkOption(key, perMinute, value)
  }
  return out
}
