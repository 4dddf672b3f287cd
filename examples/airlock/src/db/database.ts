import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely'
import { createPgPool, type OutageTracker } from 'rampart'
import { migrate } from './migrations.js'
import type { Database } from './schema.js'

export interface DatabaseSettings {
  /** `sqlite:<path>` or `postgres://…`. */
  url: string
  /** Postgres only: a schema to create and use (tests use one per run on a shared server). */
  schema?: string
  /** Postgres only: bound of every query in ms (Rampart's `DB_QUERY_TIMEOUT_S`). Default 5000. */
  queryTimeoutMs?: number
  /** Postgres only: told of a lost database and its return (one log line per outage). */
  outage?: OutageTracker
}

/** A display form of the URL with any password removed, for logs. */
export function describeDatabase(url: string): string {
  if (url.startsWith('sqlite:')) return url
  try {
    const u = new URL(url)
    u.password = ''
    return u.toString()
  } catch {
    return 'postgres'
  }
}

/**
 * Opens the database named by the URL and migrates it to the latest schema.
 *
 * @example
 * const db = await openDatabase({ url: 'sqlite:./data/airlock.db' })
 */
export async function openDatabase(settings: DatabaseSettings): Promise<Kysely<Database>> {
  const { url, schema } = settings
  let db: Kysely<Database>
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length)
    if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true })
    const sqlite = new SQLite(file)
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('foreign_keys = ON')
    sqlite.pragma('busy_timeout = 5000')
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  } else if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
      throw new Error(`database schema "${schema}" must be a lower-case SQL identifier`)
    // Rampart's pool: a lost or frozen database fails queries (503) instead of the process,
    // and the pool reconnects on its own once it is back.
    const pool = await createPgPool({
      url,
      max: 10,
      ...(schema ? { schema } : {}),
      ...(settings.queryTimeoutMs ? { queryTimeoutMs: settings.queryTimeoutMs } : {}),
      ...(settings.outage ? { outage: settings.outage } : {}),
    })
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(db)
  } else {
    throw new Error('DATABASE_URL: expected sqlite:<path> or postgres://…')
  }
  try {
    await migrate(db as Kysely<unknown>, url.startsWith('sqlite:') ? 'sqlite' : 'postgres', schema)
  } catch (err) {
    await db.destroy()
    throw err
  }
  return db
}
