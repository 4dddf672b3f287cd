import { z } from 'zod'
import { RampartError } from '../errors/rampart-error.js'
import { jobsSloSchema } from './jobs.js'
import { ratioFields, ratioProblem } from './ratio.js'
import { durationSeconds, round } from './windows.js'

/** The methods an SLO route may name. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/**
 * `POST /login` or `/login` (any method); a route template as the router declares it, a last
 * optional parameter included (`/items/:id?`). A `?` anywhere else is a query: refused.
 */
// eslint-disable-next-line security/detect-unsafe-regex -- matches lines of the operator's config file, never request input
const ROUTE = /^(?:(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) )?(\/[^\s?#]*(?::\w+\?)?)$/

const route = z
  .string()
  .regex(ROUTE, 'expected a route template such as "POST /login" or "/requests/:id"')

const common = {
  /** Identifies the SLO in rule labels, dashboards and alerts: lower-case words and dashes. */
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected lower-case letters, digits and dashes'),
  /** One sentence for dashboards and alert descriptions. */
  description: z.string().max(200).optional(),
  /** Route template, optionally with its method (`POST /login`); omitted = the whole service. */
  route: route.optional(),
  /** Percentage of good requests, strictly between 0 and 100 (99.9 means 99.9 %). */
  objective: z
    .number()
    .gt(0, 'must be above 0 %')
    .lt(100, 'must be below 100 %: an objective of 100 % leaves no error budget to alert on'),
  /** Rolling period the objective holds over, in days or weeks. Default `30d`. */
  window: z
    .string()
    .regex(/^\d+[dw]$/, 'expected days or weeks such as "30d" or "4w"')
    .refine(
      (w) => durationSeconds(w) >= 7 * 86_400 && durationSeconds(w) <= 90 * 86_400,
      'must be between 7d and 90d',
    )
    .default('30d'),
}

const availabilitySlo = z.object({
  ...common,
  /** Share of requests answered without a 5xx status. */
  kind: z.literal('availability'),
})

const latencySlo = z.object({
  ...common,
  /**
   * Share of requests answered within `thresholdSeconds`: `objective: 99, thresholdSeconds: 0.2`
   * is "p99 under 200 ms".
   */
  kind: z.literal('latency'),
  /**
   * Any whole number of milliseconds up to 5 minutes. The service reads the same config at
   * start-up and makes it a bucket boundary of `http_request_duration_seconds` (ADR 0016), so
   * the SLI counts requests at exactly this threshold, never an interpolated one.
   */
  thresholdSeconds: z
    .number()
    .positive('must be above 0 s')
    .max(300, 'must be at most 300 s')
    .refine(
      (t) => Math.abs(t * 1000 - Math.round(t * 1000)) < 1e-9,
      'must be a whole number of milliseconds (0.2, not 0.2005)',
    ),
})

const ratioSlo = z.object({ ...common, ...ratioFields }).superRefine((slo, ctx) => {
  const problem = ratioProblem(slo.good, slo.total)
  if (problem) ctx.addIssue({ code: 'custom', path: ['good'], message: problem })
})

// Background jobs of one queue (see jobs.ts).
const jobsSlo = jobsSloSchema(common)

const sloSchema = z.discriminatedUnion('kind', [availabilitySlo, latencySlo, ratioSlo, jobsSlo])

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a Prometheus label name')

const businessMetric = z.object({
  /** A counter the service registers. */
  name: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'expected a Prometheus metric name'),
  /** Panel title. Default: the metric name. */
  title: z.string().min(1).max(80).optional(),
  /** Labels to split the panel's lines by (`['direction']`). Default: one line. */
  by: z.array(labelName).max(3).optional(),
  /** The dashboard row. Default `business`. */
  row: z.enum(['business', 'auth']).optional(),
})

export const configSchema = z
  .object({
    /** Service name: the Prometheus job, rule labels, dashboard title. */
    service: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected lower-case letters, digits, "-" and "_"'),
    /**
     * The service's routes (`"POST /login"`, `"/requests/:id"`). When given, every SLO route must
     * be one of them, so a typo fails at generation instead of alerting on nothing.
     */
    routes: z.array(route).optional(),
    /** Label matchers added to every query. Default: `{ job: <service> }`. */
    selector: z.record(labelName, z.string()).optional(),
    /** Base URL of the runbook; alerts link to `<runbookUrl>#<alert-name>`. Default `runbook.md`. */
    runbookUrl: z.string().min(1).default('runbook.md'),
    /** Thresholds of the saturation alerts. */
    saturation: z
      .object({
        /** Requests in flight on one instance, sustained 10 min. Default 100. */
        inFlight: z.number().int().positive().default(100),
        /** Event-loop lag in seconds, averaged over 5 min, sustained 10 min. Default 0.2. */
        eventLoopLagSeconds: z.number().positive().default(0.2),
      })
      .prefault({}),
    /**
     * The URL users reach the service at, e.g. `https://airlock.example.org`: the blackbox probe
     * requests its `/healthz` and `/readyz`, and checks the certificate's expiry when it is
     * HTTPS. Default: the service inside the ops bundle, `http://<service>:<port>`.
     */
    publicUrl: z
      .string()
      .regex(
        // eslint-disable-next-line security/detect-unsafe-regex -- the operator's config file, never request input
        /^https?:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/,
        'expected an http:// or https:// URL without a query',
      )
      .optional(),
    /** Where the service listens inside the ops bundle (compose, Kubernetes, Prometheus target). */
    port: z.number().int().min(1).max(65_535).default(3000),
    /**
     * A worker process (`rampart/bullmq`) serving `/metrics` on `port`. With `command` (the argv
     * replacing the image's CMD; its entrypoint stays) the ops bundle deploys it next to the service (compose and
     * Kubernetes, with the service's own settings plus `env`, which the web process gets too)
     * and scrapes it as `<service>-worker`; without, the bundle neither runs nor scrapes one.
     */
    worker: z
      .object({
        port: z.number().int().min(1).max(65_535),
        command: z.array(z.string().min(1)).min(1).optional(),
        env: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string()).optional(),
      })
      .optional(),
    slos: z.array(sloSchema).min(1, 'declare at least one SLO'),
    /**
     * The service's own counters (`airlock_requests_submitted_total`), drawn on the dashboard:
     * in the Business row, or the Auth health row with `row: 'auth'` (login attempts). Checked
     * at start-up against the metrics the service registers, like ratio SLOs.
     */
    businessMetrics: z.array(businessMetric).optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>()
    config.slos.forEach((slo, i) => {
      if (seen.has(slo.name))
        ctx.addIssue({ code: 'custom', path: ['slos', i, 'name'], message: 'is used twice' })
      seen.add(slo.name)
      if (slo.route !== undefined && config.routes !== undefined) {
        const want = parseRoute(slo.route)
        const known = config.routes.map(parseRoute)
        const found = known.some(
          (r) =>
            r.path === want.path &&
            (want.method === undefined || r.method === undefined || r.method === want.method),
        )
        if (!found)
          ctx.addIssue({
            code: 'custom',
            path: ['slos', i, 'route'],
            message: `"${slo.route}" is not a route of ${config.service}; its routes: ${config.routes.join(', ')}`,
          })
      }
    })
  })

export type SloConfigInput = z.input<typeof configSchema>
export type SloConfig = z.output<typeof configSchema>
export type Slo = SloConfig['slos'][number]
export type LatencySlo = Extract<Slo, { kind: 'latency' }>

/** `POST /login` → `{ method: 'POST', path: '/login' }`; `/login` → any method. */
export function parseRoute(r: string): { method?: (typeof HTTP_METHODS)[number]; path: string } {
  const m = ROUTE.exec(r)
  if (!m?.[2]) return { path: r }
  return m[1] ? { method: m[1] as (typeof HTTP_METHODS)[number], path: m[2] } : { path: m[2] }
}

/** The SLO's error budget as a fraction: objective 99.9 → 0.001 (rounded, never 0.000999…). */
export function errorBudget(slo: Slo): number {
  return round((100 - slo.objective) / 100)
}

/**
 * Declares a service and its SLOs in `rampart.config.ts`; the `rampart` CLI and the running
 * service read the same file. Validates at once and throws one line naming the field.
 *
 * @example
 * export default defineConfig({
 *   service: 'airlock',
 *   slos: [
 *     { name: 'login-latency', kind: 'latency', route: 'POST /login', thresholdSeconds: 0.5, objective: 95 },
 *     { name: 'availability', kind: 'availability', objective: 99.9, window: '30d' },
 *   ],
 * })
 */
export function defineConfig(input: SloConfigInput): SloConfig {
  return parseConfig(input)
}

/** Validates an unknown value as a Rampart config (what `defineConfig` and the CLI use). */
export function parseConfig(input: unknown, source = 'config'): SloConfig {
  const result = configSchema.safeParse(input)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const path = issue?.path ?? []
  let where = ''
  for (const p of path)
    where += typeof p === 'number' ? `[${p}]` : where ? `.${String(p)}` : String(p)
  const sloIndex = path[0] === 'slos' && typeof path[1] === 'number' ? path[1] : undefined
  const sloName =
    sloIndex !== undefined && typeof input === 'object' && input !== null
      ? (input as { slos?: Array<{ name?: unknown }> }).slos?.[sloIndex]?.name
      : undefined
  const named = typeof sloName === 'string' ? ` (${sloName})` : ''
  throw new RampartError(
    'ERR_RAMPART_SLO',
    `${source}: ${where || 'config'}${named}: ${issue?.message ?? 'invalid'}`,
  )
}
