import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type Database from 'better-sqlite3'
import {
  type Generated,
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  sql,
} from 'kysely'
import { importPeer } from '../core/optional-peer.js'
import { RampartError } from '../errors/rampart-error.js'
import type { OutageTracker } from '../resilience/outage.js'
import { createPgPool } from '../resilience/pg-pool.js'
import { type AuditRow, GENESIS_HASH, rowHash } from './canonical.js'

/** A row before it is chained: everything but `id`, `prev_hash` and `hash`. */
export type UnchainedRow = Omit<AuditRow, 'id' | 'prev_hash' | 'hash'>

interface EventLogTable {
  id: Generated<number>
  at: string
  actor: string | null
  action: string
  target: string | null
  outcome: string
  request_id: string | null
  ip_fingerprint: string | null
  details: string
  prev_hash: string
  hash: string
}

// The table name is configurable (tests on a shared Postgres use a unique one per run), so the
// Kysely schema type is keyed by `string`; every query goes through `this.table`.
type Schema = Record<string, EventLogTable>

/**
 * Where audit rows go, shaped like OpenTelemetry's `SpanExporter`: `append` takes a batch and
 * resolves once it is durable; `shutdown` releases the connection. One shared test suite runs
 * against every implementation (SQLite, Postgres).
 */
export interface AuditStore {
  readonly kind: 'sqlite' | 'postgres'
  /** Creates or upgrades the table (idempotent; safe with several processes starting at once). */
  migrate(): Promise<void>
  /** Chains and writes the rows after the current head, atomically; resolves with the stored rows. */
  append(rows: readonly UnchainedRow[]): Promise<AuditRow[]>
  /** Rows with `id > afterId`, ascending, at most `limit`. */
  readPage(afterId: number, limit: number): Promise<AuditRow[]>
  /** The newest row's id and hash, or undefined for an empty table. */
  head(): Promise<{ id: number; hash: string } | undefined>
  /** Number of rows. */
  count(): Promise<number>
  shutdown(): Promise<void>
}

export interface StoreOptions {
  /** `sqlite:<path>` or `postgres://…` */
  url: string
  /** The audit key, Buffer of raw bytes. */
  key: Buffer
  /** Default `event_log`. */
  table?: string
  /** SQLite only: how long to wait for another writer's lock. Default 5000 ms. */
  busyTimeoutMs?: number
  /** SQLite only: fail instead of creating a missing file (the CLI reads existing logs). */
  mustExist?: boolean
  /** Postgres only: bound of every query in ms (`DB_QUERY_TIMEOUT_S`). Default 5000. */
  queryTimeoutMs?: number
  /** Postgres only: told of lost connections and recoveries (one log line per outage). */
  outage?: OutageTracker
}

/** Redacts credentials from a database URL for messages. */
export function describeDb(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@')
}

/**
 * Opens a store for `sqlite:<path>` or a `postgres://` URL (pg is loaded only then).
 *
 * @example
 * const store = await openStore({ url: 'sqlite:data/audit.db', key })
 * await store.migrate()
 */
export async function openStore(options: StoreOptions): Promise<AuditStore> {
  const table = options.table ?? 'event_log'
  if (!/^[a-z_][a-z0-9_]{0,50}$/.test(table))
    throw new RampartError('ERR_RAMPART_AUDIT', `audit table: got "${table}"; expected [a-z0-9_]`)
  if (options.url.startsWith('sqlite:')) {
    const path = options.url.slice('sqlite:'.length)
    const { default: SQLite } = await loadSqlite(options.url)
    let db: Database.Database
    try {
      // A new database's directory is made (DATA_DIR need not exist yet); an existing one's
      // (the CLI's `mustExist`) is never.
      if (options.mustExist !== true && path !== ':memory:')
        // eslint-disable-next-line security/detect-non-literal-fs-filename -- AUDIT_DB or DATA_DIR, the operator's setting; never request input
        mkdirSync(dirname(path), { recursive: true })
      db = new SQLite(path, { fileMustExist: options.mustExist === true })
    } catch (err) {
      throw new RampartError(
        'ERR_RAMPART_AUDIT',
        `cannot open audit database ${options.url}: ${(err as Error).message}`,
        { cause: err },
      )
    }
    // The busy timeout first: switching to WAL takes a lock that another process opening the
    // same new file may hold, and without the timeout that fails at once (SQLITE_BUSY).
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`)
    // WAL lets readers (verify, tail, export, backup) run beside the writer; synchronous=FULL
    // makes every commit durable before append() resolves.
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    const store = new KyselyStore(
      'sqlite',
      new Kysely<Schema>({ dialect: new SqliteDialect({ database: db }) }),
      table,
      options.key,
      db,
    )
    return store
  }
  if (/^postgres(ql)?:\/\//.test(options.url)) {
    // Errors on idle and checked-out clients are handled, queries bounded, and a lost database
    // is one outage, not a crash (see createPgPool).
    const pool = await createPgPool({
      url: options.url,
      feature: driverFeature(options.url),
      max: 4,
      queryTimeoutMs: options.queryTimeoutMs ?? 5000,
      ...(options.outage ? { outage: options.outage } : {}),
    })
    return new KyselyStore(
      'postgres',
      new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) }),
      table,
      options.key,
    )
  }
  throw new RampartError(
    'ERR_RAMPART_AUDIT',
    `audit database: got "${describeDb(options.url)}"; expected sqlite:<path> or a postgres:// URL`,
  )
}

const driverFeature = (url: string) => `the audit database ${describeDb(url).split('?')[0]}`
/** better-sqlite3, an optional peer, for a `sqlite:` audit database. */
export const loadSqlite = (url: string) =>
  importPeer<{ default: typeof import('better-sqlite3') }>('better-sqlite3', driverFeature(url))
/** pg, an optional peer, for a `postgres://` audit database. */
const loadPg = (url: string) => importPeer<typeof import('pg')>('pg', driverFeature(url))

/**
 * Loads the driver the audit database URL needs, so that a service whose routes are audited
 * fails at start-up (not on its first audited request) when the driver is not installed.
 */
export async function loadDriver(url: string): Promise<void> {
  if (url.startsWith('sqlite:')) await loadSqlite(url)
  else if (/^postgres(ql)?:\/\//.test(url)) await loadPg(url)
}

function migrations(kind: 'sqlite' | 'postgres', table: string): Record<string, Migration> {
  return {
    '0001_create_event_log': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable(table)
          .ifNotExists()
          // ids are assigned by the appender (head id + 1) inside the locked transaction, so a
          // gap in ids is itself evidence of a deleted row.
          .addColumn('id', kind === 'sqlite' ? 'integer' : 'bigint', (c) => c.primaryKey())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('actor', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target', 'text')
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('request_id', 'text')
          .addColumn('ip_fingerprint', 'text')
          // text, not jsonb: the hash covers these exact bytes, and jsonb would re-order keys.
          .addColumn('details', 'text', (c) => c.notNull())
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex(`${table}_action_idx`)
          .ifNotExists()
          .on(table)
          .columns(['action', 'id'])
          .execute()
      },
    },
    '0002_append_only': {
      async up(db: Kysely<unknown>) {
        for (const statement of appendOnlySql(kind, table)) await sql.raw(statement).execute(db)
      },
    },
  }
}

/** The message the database gives for an UPDATE, DELETE or TRUNCATE of the audit table. */
export const APPEND_ONLY_MESSAGE = 'is append-only: audit rows are never updated or deleted'

/**
 * Triggers that make the audit table append-only in the database itself, so a bug or a
 * careless query in the service cannot rewrite history (the hash chain still detects an
 * attacker who drops them: verify does not trust the database). SQLite: BEFORE UPDATE and
 * BEFORE DELETE triggers that abort. Postgres: one trigger function, fired per row on UPDATE and
 * DELETE and per statement on TRUNCATE. A restore copies the triggers with the table.
 */
export function appendOnlySql(kind: 'sqlite' | 'postgres', table: string): string[] {
  if (kind === 'sqlite')
    return ['update', 'delete'].map(
      (op) =>
        `create trigger if not exists "${table}_no_${op}" before ${op} on "${table}" ` +
        `begin select raise(abort, '${table} ${APPEND_ONLY_MESSAGE}'); end`,
    )
  return [
    `create or replace function "${table}_append_only"() returns trigger language plpgsql as ` +
      `$$ begin raise exception '% ${APPEND_ONLY_MESSAGE}', tg_table_name ` +
      `using errcode = 'insufficient_privilege'; end $$`,
    `create trigger "${table}_no_update_delete" before update or delete on "${table}" ` +
      `for each row execute function "${table}_append_only"()`,
    `create trigger "${table}_no_truncate" before truncate on "${table}" ` +
      `for each statement execute function "${table}_append_only"()`,
  ]
}

/** SQLite errors of a migration racing another process: a lock held, or a row it just added. */
function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return (
    typeof code === 'string' &&
    (code.startsWith('SQLITE_BUSY') ||
      code.startsWith('SQLITE_LOCKED') ||
      code === 'SQLITE_CONSTRAINT_UNIQUE' ||
      code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
  )
}

function busyTimeoutOf(db: Database.Database): number {
  return Number(db.pragma('busy_timeout', { simple: true })) || 5000
}

class KyselyStore implements AuditStore {
  readonly kind: 'sqlite' | 'postgres'
  readonly #db: Kysely<Schema>
  readonly #table: string
  readonly #key: Buffer

  constructor(
    kind: 'sqlite' | 'postgres',
    db: Kysely<Schema>,
    table: string,
    key: Buffer,
    raw?: Database.Database,
  ) {
    this.kind = kind
    this.#raw = raw
    this.#db = db
    this.#table = table
    this.#key = key
  }

  async migrate(): Promise<void> {
    const provider: MigrationProvider = {
      getMigrations: async () => migrations(this.kind, this.#table),
    }
    // Kysely looks for its bookkeeping tables in every schema unless told which one; on a
    // server shared by several schemas (search_path per service) it would find another's.
    const schema =
      this.kind === 'postgres'
        ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(this.#db))
            .rows[0]?.schema
        : undefined
    const migrator = new Migrator({
      db: this.#db,
      provider,
      migrationTableName: `${this.#table}_migration`,
      migrationLockTableName: `${this.#table}_migration_lock`,
      ...(schema ? { migrationTableSchema: schema } : {}),
    })
    // SQLite: several processes creating the schema at once race in Kysely's migrator: two run
    // the same migration and the second one's bookkeeping row is refused (UNIQUE constraint),
    // or a deferred transaction's read lock cannot become a write lock (SQLITE_BUSY at once:
    // SQLite skips the busy handler there to avoid a deadlock). Every statement is CREATE …
    // IF NOT EXISTS, so trying again after a short random pause is safe, and the next attempt
    // finds the migration recorded.
    const giveUpAt = Date.now() + (this.#raw ? busyTimeoutOf(this.#raw) : 0)
    let { error } = await migrator.migrateToLatest()
    for (let attempt = 1; error && this.#raw && isBusy(error) && Date.now() < giveUpAt; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(200, 10 * attempt) + Math.random() * 20))
      ;({ error } = await migrator.migrateToLatest())
    }
    if (error) {
      throw new RampartError(
        'ERR_RAMPART_AUDIT',
        `audit migrations failed: ${(error as Error).message ?? String(error)}`,
        { cause: error },
      )
    }
  }

  async append(rows: readonly UnchainedRow[]): Promise<AuditRow[]> {
    if (rows.length === 0) return []
    const chain = async (trx: Kysely<Schema>): Promise<AuditRow[]> => {
      const head = await trx
        .selectFrom(this.#table)
        .select(['id', 'hash'])
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst()
      let id = head ? Number(head.id) : 0
      let prev = head ? head.hash : GENESIS_HASH
      const out: AuditRow[] = []
      for (const r of rows) {
        id += 1
        const unhashed = { id, ...r, prev_hash: prev }
        const hash = rowHash(this.#key, unhashed)
        out.push({ ...unhashed, hash })
        prev = hash
      }
      // SQLite allows 32,766 bound parameters per statement; 11 per row.
      for (let i = 0; i < out.length; i += 2000)
        await trx
          .insertInto(this.#table)
          .values(out.slice(i, i + 2000))
          .execute()
      return out
    }
    if (this.kind === 'postgres') {
      return this.#db.transaction().execute(async (trx) => {
        // Serialises appenders across every process and replica for this table until COMMIT or
        // ROLLBACK (docs/adr/0007-audit-append-serialisation.md). Readers are not blocked.
        await sql`select pg_advisory_xact_lock(hashtext(${`rampart.audit:${this.#table}`}))`.execute(
          trx,
        )
        return chain(trx)
      })
    }
    // SQLite: BEGIN IMMEDIATE takes the database's single write lock before reading the head,
    // so another process cannot append between our read and our insert.
    return this.#db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn)
      try {
        const out = await chain(conn)
        await sql`commit`.execute(conn)
        return out
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => {})
        throw err
      }
    })
  }

  /** SQLite only: the handle behind Kysely, for the bulk read path of `readPage`. */
  readonly #raw: Database.Database | undefined
  #rawPage: Database.Statement<[number, number], unknown[]> | undefined

  async readPage(afterId: number, limit: number): Promise<AuditRow[]> {
    const raw = this.#raw
    if (raw && !raw.inTransaction) {
      // Verifying 1,000,000 rows in < 10 s: rows as arrays cost half of rows as objects in
      // better-sqlite3, and verify reads every row. Skipped while an append transaction is open on
      // this connection (Kysely would wait for it; a raw read would see its uncommitted rows).
      this.#rawPage ??= raw
        .prepare<[number, number], unknown[]>(
          `select id, at, actor, action, target, outcome, request_id, ip_fingerprint, details, prev_hash, hash from "${this.#table}" where id > ? order by id limit ?`,
        )
        .raw(true)
      return this.#rawPage.all(afterId, limit).map((r) => ({
        id: r[0] as number,
        at: r[1] as string,
        actor: r[2] as string | null,
        action: r[3] as string,
        target: r[4] as string | null,
        outcome: r[5] as string,
        request_id: r[6] as string | null,
        ip_fingerprint: r[7] as string | null,
        details: r[8] as string,
        prev_hash: r[9] as string,
        hash: r[10] as string,
      }))
    }
    const rows = await this.#db
      .selectFrom(this.#table)
      .selectAll()
      .where('id', '>', afterId)
      .orderBy('id', 'asc')
      .limit(limit)
      .execute()
    if (this.kind === 'postgres') for (const r of rows) (r as { id: number }).id = Number(r.id)
    return rows as AuditRow[]
  }

  async head(): Promise<{ id: number; hash: string } | undefined> {
    const h = await this.#db
      .selectFrom(this.#table)
      .select(['id', 'hash'])
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst()
    return h ? { id: Number(h.id), hash: h.hash } : undefined
  }

  async count(): Promise<number> {
    const r = await this.#db
      .selectFrom(this.#table)
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow()
    return Number(r.n)
  }

  async shutdown(): Promise<void> {
    await this.#db.destroy()
  }
}

/**
 * Creates the Postgres append-only trigger function of `table` (idempotent). `pg_dump --table`
 * copies a table's triggers but not the function they call, so a restore creates it first.
 */
export async function createAppendOnlyFunction(url: string, table: string): Promise<void> {
  const { default: pg } = await loadPg(url)
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    await client.query(appendOnlySql('postgres', table)[0] as string)
  } finally {
    await client.end()
  }
}
