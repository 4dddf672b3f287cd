import type { Pool, PoolClient, PoolConfig } from 'pg'
import { importPeer } from '../core/optional-peer.js'
import { RampartError } from '../errors/rampart-error.js'
import type { OutageTracker } from './outage.js'

/** Options of `createPgPool`. */
export interface PgPoolOptions {
  /** What needs the database, named in the one-line error when `pg` is not installed. */
  feature?: string
  /** A `postgres://` URL. */
  url: string
  /** Most connections. Default 10. */
  max?: number
  /**
   * Bound of every query, in ms: the server cancels a statement running longer
   * (`statement_timeout`), and the client gives up on a connection that stays silent that long
   * (`query_timeout`, for a frozen server or network) and drops it. Default 5000
   * (`DB_QUERY_TIMEOUT_S`).
   */
  queryTimeoutMs?: number
  /** Bound of opening a connection, in ms. Default: `queryTimeoutMs`. */
  connectTimeoutMs?: number
  /** Postgres schema to use (`search_path`). */
  schema?: string
  /** Reports failures and recoveries: one log line per outage (see `trackOutage`). */
  outage?: OutageTracker
  /** Extra `pg.Pool` options, merged over Rampart's. */
  pool?: PoolConfig
}

/** Status of an error that means "the database is unavailable" (see `markUnavailable`). */
export const UNAVAILABLE_STATUS = 503

/** Node socket errors and pg client messages of a lost, refused or silent connection. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
])
const CONNECTION_MESSAGES =
  /^(Connection terminated|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended)/

/**
 * True for an error that says the database cannot be reached or is not answering, as opposed
 * to an error of the statement itself (a constraint, a syntax error): socket errors, pg's
 * connection and timeout errors, and the SQLSTATE classes 08 (connection exception),
 * 57P01-57P03 (server shutting down, cannot connect now) and 53300 (too many connections).
 */
export function isUnavailableError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const { code, message } = err as { code?: unknown; message?: unknown }
  if (typeof code === 'string') {
    if (CONNECTION_CODES.has(code) || code.startsWith('08') || code === '53300') return true
    if (code === '57P01' || code === '57P02' || code === '57P03') return true
  }
  return typeof message === 'string' && CONNECTION_MESSAGES.test(message)
}

/**
 * Gives an unavailable-database error the status 503, which Rampart's error pages answer with
 * a problem body and `Retry-After` instead of a 500 (the request may be retried).
 */
function markUnavailable(err: unknown): void {
  if (isUnavailableError(err) && typeof err === 'object' && err !== null)
    Object.defineProperty(err, 'status', { value: UNAVAILABLE_STATUS, configurable: true })
}

const WATCHED = Symbol('rampart.pgWatched')
type WatchedClient = PoolClient & {
  [WATCHED]?: true
  connection?: { stream?: { destroy(): void } }
}

/**
 * A `pg.Pool` that survives its database going away (pg is loaded only here):
 *
 * - every client, idle or checked out, has an `error` listener: pg emits `error` on a client
 *   whose connection drops, and an unheard `error` event ends the process;
 * - queries are bounded (`queryTimeoutMs`), and a connection that timed out is dropped, not
 *   handed to the next caller behind the stuck query;
 * - errors that mean "unavailable" carry status 503 and are reported to `outage` (one line per
 *   outage), successes end the outage;
 * - the pool reconnects on its own: a broken client is removed and the next checkout opens a
 *   new connection.
 *
 * Hand-written because pg's pool leaves checked-out clients without an error listener and keeps
 * a timed-out client; Kysely's `PostgresDialect` takes the returned pool as is.
 *
 * @example
 * const pool = await createPgPool({ url: process.env.DATABASE_URL, outage: trackOutage(core, 'database') })
 * const db = new Kysely({ dialect: new PostgresDialect({ pool }) })
 */
export async function createPgPool(options: PgPoolOptions): Promise<Pool> {
  const { default: pg } = await importPeer<typeof import('pg')>(
    'pg',
    options.feature ?? 'a postgres:// database',
  )
  const queryTimeoutMs = options.queryTimeoutMs ?? 5000
  const { outage } = options
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema))
    throw new RampartError(
      'ERR_RAMPART_CONFIG',
      `database schema: got "${options.schema}"; expected a lower-case SQL identifier`,
    )
  const searchPath = options.schema ? ` -c search_path=${options.schema}` : ''
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? queryTimeoutMs,
    // The server cancels a statement after queryTimeoutMs (a clean error, the connection
    // kept); the client gives up 500 ms later, which only happens when nothing answers at all.
    query_timeout: queryTimeoutMs + 500,
    options: `-c statement_timeout=${queryTimeoutMs}${searchPath}`,
    keepAlive: true,
    ...options.pool,
  })
  /** A call failed: an outage starts when it says the database is unavailable. */
  const failed = (err: unknown): void => {
    markUnavailable(err)
    if (isUnavailableError(err)) outage?.failed(err)
  }
  // A connection dying is heard but is not itself an outage: only calls that fail are (a
  // connection dropped after a timeout would otherwise restart an outage that just ended).
  const heard = (): void => {}
  // Idle clients: the pool removes the broken one and emits here.
  pool.on('error', heard)
  pool.on('connect', (raw) => {
    const client = raw as WatchedClient
    if (client[WATCHED]) return
    Object.defineProperty(client, WATCHED, { value: true })
    // Checked-out clients: pg emits `error` on them too, and the pool listens only while idle.
    client.on('error', heard)
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    ;(client as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const started = performance.now()
      const result = query(...args)
      if (!(result instanceof Promise)) return result
      return result.then(
        (value) => {
          outage?.succeeded(started)
          return value
        },
        (err: unknown) => {
          // A query that timed out leaves its connection waiting for an answer that may never
          // come: close it so the pool drops it instead of queueing the next query behind it.
          if ((err as Error)?.message === 'Query read timeout') client.connection?.stream?.destroy()
          failed(err)
          throw err
        },
      )
    }
  })
  const connect = pool.connect.bind(pool) as () => Promise<PoolClient>
  ;(pool as { connect: unknown }).connect = (...args: unknown[]) => {
    // The callback form is used by pool.query(); it reports errors through the same client.
    if (args.length > 0) return (connect as (...a: unknown[]) => unknown)(...args)
    return connect().catch((err: unknown) => {
      failed(err)
      throw err
    })
  }
  return pool
}
