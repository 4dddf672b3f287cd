import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import { Eta } from 'eta'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { type Kysely, sql } from 'kysely'
import { trackOutage } from 'rampart'
import rampart, { csrfField, frameworkErrors, type RampartFastifyOptions } from 'rampart/fastify'
import sloConfig from '../rampart.config.js'
import { installAuthentication } from './auth/authenticate.js'
import { SESSION_COOKIE } from './auth/sessions.js'
import { describeDatabase, openDatabase } from './db/database.js'
import type { Database } from './db/schema.js'
import { startScans } from './domain/scans.js'
import { bootstrapAdmin, seedDemoUsers } from './domain/users.js'
import { Workflow } from './domain/workflow.js'
import { adminRoutes } from './routes/admin.js'
import { apiRoutes } from './routes/api.js'
import { DEBUG_ROUTES, debugRoutes, debugRoutesWanted } from './routes/debug.js'
import type { RouteDeps } from './routes/deps.js'
import { pageRoutes } from './routes/pages.js'
import { createBusinessMetrics } from './support/business-metrics.js'
import { jobsConfig } from './support/jobs-config.js'

function csrfFor(request: FastifyRequest): { csrf: string; csrfToken: string } {
  const csrfToken = request.csrfToken()
  return { csrfToken, csrf: csrfField({ csrfToken: () => csrfToken }) }
}

/** Options of `buildApp`: Rampart's (graceful shutdown included), plus airlock's own. */
export interface AirlockOptions extends RampartFastifyOptions {
  /** `sqlite:<path>` or `postgres://…`. Default: `DATABASE_URL`, else `sqlite:<dataDir>/airlock.db`. */
  databaseUrl?: string
  /** Postgres only: schema to create and use. Default: the server's `search_path`. */
  databaseSchema?: string
  /** Seed the demo users. Default: in development only. */
  seedDemoUsers?: boolean
  /** First-start admin password. Default: `AIRLOCK_ADMIN_PASSWORD`. */
  adminPassword?: string
  /** With Redis: files still pending this long are enqueued again (an enqueue lost to an outage). Default 5000 ms. */
  scanResubmitMs?: number
  /** `GET /debug/error` (see routes/debug.ts). Default: `AIRLOCK_DEBUG_ROUTES`, else off. */
  debugRoutes?: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    /** airlock's own state, for `main.ts` and tests. */
    airlock: {
      db: Kysely<Database>
      databaseUrl: string
      seeded: string[]
      bootstrapped: boolean
      /** Where output checks run, for the start-up banner. */
      scans: string
    }
  }
}

const SRC = new URL('.', import.meta.url).pathname

/**
 * Builds airlock without listening, so tests can `inject` into it: opens and migrates the
 * database, seeds demo users in development, and registers Rampart, sessions and every route.
 *
 * @example
 * const app = await buildApp({ dataDir: tmp, nodeEnv: 'test', seedDemoUsers: true })
 */
export async function buildApp(
  options: AirlockOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<FastifyInstance> {
  const {
    databaseUrl: urlOption,
    databaseSchema,
    seedDemoUsers: seedOption,
    adminPassword,
    scanResubmitMs,
    debugRoutes: debugOption,
    ...rampartOptions
  } = options
  // Checked before anything starts: a bad job variable or a refused setting is one line, and
  // leaves nothing half-started.
  const jobs = jobsConfig(env)
  const production = (rampartOptions.nodeEnv ?? env.NODE_ENV?.trim().toLowerCase()) === 'production'
  const debug = debugRoutesWanted(debugOption, env.AIRLOCK_DEBUG_ROUTES, production)
  // frameworkErrors: malformed URLs and headers Fastify rejects before any hook get Rampart's
  // error page too, instead of Fastify's JSON echoing the raw path.
  const app = Fastify({ trustProxy: false, frameworkErrors })
  await app.register(rampart, {
    service: 'airlock',
    sensitivePaths: ['/login', '/api/v1/tokens', '/admin'],
    csrf: { sessionCookie: SESSION_COOKIE },
    // The SLOs `rampart slo rules` reads: checked against the routes, series created at 0.
    // The debug route, when on, is a real route of the app for that run, not one SLOs are on.
    slo: debug
      ? { ...sloConfig, routes: [...(sloConfig.routes ?? []), ...DEBUG_ROUTES] }
      : sloConfig,
    ...rampartOptions,
  })
  const core = app.rampart
  const { config } = core

  const databaseUrl =
    urlOption ?? env.DATABASE_URL ?? `sqlite:${join(config.dataDir, 'airlock.db')}`
  const db = await openDatabase({
    url: databaseUrl,
    ...(databaseSchema ? { schema: databaseSchema } : {}),
    queryTimeoutMs: config.dbQueryTimeoutMs,
    outage: trackOutage(core, 'database'),
  })
  app.addHook('onClose', async () => {
    await db.destroy()
  })
  // /readyz (and the console) report the database: a replica that cannot query it is not ready.
  core.health.addCheck({
    name: 'database',
    check: () => sql`select 1`.execute(db),
    timeoutMs: 1000,
  })

  const seeded = (seedOption ?? config.nodeEnv === 'development') ? await seedDemoUsers(db) : []
  const password = adminPassword ?? env.AIRLOCK_ADMIN_PASSWORD
  const bootstrapped = password ? await bootstrapAdmin(db, password) : false
  if (bootstrapped)
    core.logger.info(
      { event: 'user.bootstrapped', username: 'admin' },
      'created the admin user from AIRLOCK_ADMIN_PASSWORD',
    )
  const scansWhere =
    jobs.redisUrl === undefined
      ? 'in this process (set REDIS_URL for a BullMQ queue)'
      : `BullMQ queue "scans" (prefix ${jobs.prefix}), ${jobs.worker ? 'worker in this process' : 'run `npm run worker -w airlock`'}`
  app.decorate('airlock', {
    db,
    databaseUrl: describeDatabase(databaseUrl),
    seeded,
    bootstrapped,
    scans: scansWhere,
  })

  await app.register(cookie, { secret: config.secretKey.toString('hex') })
  await app.register(formbody)
  // Rampart's limits (MAX_UPLOAD_MB per file, field sizes), narrowed to airlock's one-file forms.
  await app.register(multipart, {
    limits: { ...core.limits.multipart, files: 1, fields: 4, parts: 5 },
  })
  installAuthentication(app, db)

  const eta = new Eta({ views: join(SRC, 'views'), cache: config.nodeEnv !== 'development' })
  const stylesheet = readFileSync(join(SRC, 'public', 'airlock.css'))
  // The same stylesheet for everyone: cacheable even when a signed-in browser asks for it.
  app.get(
    '/static/airlock.css',
    { config: { rateLimit: false, noStore: false } },
    async (_request, reply) =>
      reply
        .type('text/css; charset=utf-8')
        .header('cache-control', 'public, max-age=3600')
        .send(stylesheet),
  )

  const metrics = createBusinessMetrics(core)
  const scans = await startScans(db, core, jobs, scanResubmitMs ?? 5000)
  // Registered after the database's hook, so it runs first (Fastify closes last-in, first-out).
  app.addHook('onClose', () => scans.close())
  const deps: RouteDeps = {
    db,
    core,
    metrics,
    workflow: new Workflow(db, core, metrics, scans.scans),
    showDemoLogins: seedOption ?? config.nodeEnv === 'development',
    render(request: FastifyRequest, reply: FastifyReply, view, data, status = 200) {
      const html = eta.render(view, {
        ...data,
        user: request.user && request.authMethod === 'session' ? request.user : undefined,
        // One token per page: the hidden field and the upload form's query carry the same one.
        ...csrfFor(request),
      })
      return reply.code(status).type('text/html; charset=utf-8').send(html)
    },
  }
  pageRoutes(app, deps)
  adminRoutes(app, deps)
  apiRoutes(app, deps)
  if (debug) {
    debugRoutes(app)
    core.logger.warn(
      { event: 'debug_routes.enabled', routes: ['/debug/error'] },
      'debug routes are on (AIRLOCK_DEBUG_ROUTES): turn them off when the check is done',
    )
  }
  return app
}
