import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { verifyChain } from '../../audit/verify.js'
import { RampartError } from '../../errors/rampart-error.js'
import { auditTarget, openExisting, TARGET_OPTIONS, TARGET_USAGE } from '../audit-target.js'
import type { Command, CommandIO } from '../command.js'
import { backupSqlite, checkDbUrl, isSqlite, masked, pgDump, sqlitePath } from '../db-copy.js'

/** What `backup` writes next to the copies, and `restore` reads. */
export interface BackupManifest {
  version: 1
  created_at: string
  audit: { kind: 'sqlite' | 'postgres'; file: string; table: string; rows: number; head: string }
  app?: { kind: 'sqlite' | 'postgres'; file: string }
}

export const command: Command = {
  name: 'backup',
  summary: 'consistent copy of the audit and app databases',
  usage: `Usage: rampart backup --out <dir> [--db <url>] [--app-db <url>]

Copies the audit database and the app database into <dir> (created; must be empty):
SQLite through the online backup API (safe while the service writes), Postgres through
pg_dump --format=custom. The audit copy is verified and its row count and head hash are
written to <dir>/manifest.json.

  --out <dir>       where to write the backup
  --app-db <url>    app database (default: DATABASE_URL, else sqlite:<DATA_DIR>/airlock.db,
                    skipped when that default file does not exist)
${TARGET_USAGE}`,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: { ...TARGET_OPTIONS, out: { type: 'string' }, 'app-db': { type: 'string' } },
      strict: true,
    })
    if (!values.out) throw new RampartError('ERR_RAMPART_USAGE', '--out <dir> is required')
    if (values.db) checkDbUrl('--db', values.db)
    const out = resolve(io.cwd, values.out)
    if (existsSync(out) && readdirSync(out).length > 0)
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `--out: ${out} is not empty; choose a new directory`,
      )
    const { url, key, dataDir } = auditTarget(values, io)
    const table = values.table ?? 'event_log'
    const explicitApp = values['app-db'] ?? (io.env.DATABASE_URL || undefined)
    const appUrl = explicitApp ?? `sqlite:${join(dataDir, 'airlock.db')}`
    checkDbUrl(values['app-db'] ? '--app-db' : 'DATABASE_URL', appUrl)
    const appPath = isSqlite(appUrl) ? resolve(io.cwd, sqlitePath(appUrl)) : undefined
    const skipApp = explicitApp === undefined && appPath !== undefined && !existsSync(appPath)

    // Check the source before creating anything.
    const source = await openExisting(url, key, table)
    await source.shutdown()
    try {
      mkdirSync(out, { recursive: true })
    } catch (err) {
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `--out: cannot create ${out}: ${(err as Error).message}`,
      )
    }

    const manifest: BackupManifest = {
      version: 1,
      created_at: new Date().toISOString(),
      audit: { kind: isSqlite(url) ? 'sqlite' : 'postgres', file: '', table, rows: 0, head: '' },
    }
    let verifyUrl: string
    if (isSqlite(url)) {
      manifest.audit.file = 'audit.db'
      await backupSqlite(sqlitePath(url), join(out, 'audit.db'))
      verifyUrl = `sqlite:${join(out, 'audit.db')}`
    } else {
      manifest.audit.file = 'audit.dump'
      await pgDump(url, join(out, 'audit.dump'), [
        table,
        `${table}_migration`,
        `${table}_migration_lock`,
      ])
      // pg_dump is one snapshot; the rows at or before it are what the dump holds.
      verifyUrl = url
    }
    const store = await openExisting(verifyUrl, key, table)
    try {
      const result = await verifyChain(store, key)
      if (!result.ok) {
        io.stderr.write(
          `warning: the audit chain being backed up is broken: first bad row: ${result.badRow}: ${result.reason}\n`,
        )
        manifest.audit.rows = result.rows
      } else {
        manifest.audit.rows = result.rows
        manifest.audit.head = result.head
      }
    } finally {
      await store.shutdown()
    }

    if (!skipApp) {
      if (appPath !== undefined) {
        await backupSqlite(appPath, join(out, 'app.db'))
        manifest.app = { kind: 'sqlite', file: 'app.db' }
      } else {
        await pgDump(appUrl, join(out, 'app.dump'))
        manifest.app = { kind: 'postgres', file: 'app.dump' }
      }
    }
    writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    io.stdout.write(
      `backed up audit (${manifest.audit.rows} rows, head ${manifest.audit.head || 'unverified'})${
        manifest.app ? ` and app (${masked(appUrl)})` : ' (no app database found)'
      } to ${out}\n`,
    )
    return 0
  },
}
export default command
