import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely'

// Migrations live in code (not a folder scanned at run time) so they ship with the bundle and
// run in a fixed order; Kysely's Migrator records them and takes a lock, so two replicas
// starting at once do not both apply one.
const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('api_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('direction', 'text', (c) => c.notNull())
        .addColumn('justification', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('decision_reason', 'text')
        .addColumn('decided_by', 'text', (c) => c.references('users.id'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('requests_owner_created')
        .on('requests')
        .columns(['owner_id', 'created_at'])
        .execute()
      await db.schema
        .createIndex('requests_created')
        .on('requests')
        .columns(['created_at', 'id'])
        .execute()
      await db.schema
        .createTable('request_files')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('request_id', 'text', (c) =>
          c.notNull().references('requests.id').onDelete('cascade'),
        )
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('stored_name', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('request_files_request')
        .on('request_files')
        .column('request_id')
        .execute()
    },
  },
  // Every uploaded file is checked in a background job; until it ran, its scan is `pending`.
  '0002_file_scans': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('request_files')
        .addColumn('scan_status', 'text', (c) => c.notNull().defaultTo('pending'))
        .execute()
      await db.schema.alterTable('request_files').addColumn('scan_findings', 'text').execute()
      await db.schema
        .createIndex('request_files_scan_status')
        .on('request_files')
        .columns(['scan_status', 'created_at'])
        .execute()
    },
  },
}

const provider: MigrationProvider = { getMigrations: async () => migrations }

/**
 * Brings the schema up to date; throws with the failing migration's name. With a Postgres
 * schema, Kysely's bookkeeping tables live in it too: its "does the lock table exist" check
 * looks across every schema, so without this a second airlock schema on the same server
 * would see the first one's lock table and query a table missing from its own search_path.
 */
export async function migrate(
  db: Kysely<unknown>,
  dialect: 'sqlite' | 'postgres',
  schema?: string,
): Promise<void> {
  const own =
    dialect === 'postgres'
      ? (schema ??
        (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]
          ?.schema)
      : undefined
  const migrator = new Migrator({
    db,
    provider,
    ...(own ? { migrationTableSchema: own } : {}),
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new Error(`database migration ${failed} failed: ${String(error)}`, { cause: error })
  }
}
