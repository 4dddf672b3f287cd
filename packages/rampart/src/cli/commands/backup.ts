import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { verifyChain } from '../../audit/verify.js'
import { RampartError } from '../../errors/rampart-error.js'
import { usageErrors } from '../args.js'
import { auditTarget, openExisting, TARGET_OPTIONS, TARGET_USAGE } from '../audit-target.js'
import type { Command, CommandIO } from '../command.js'
import { backupSqlite, checkDbUrl, isSqlite, masked, pgDump, sqlitePath } from '../db-copy.js'
import { progressBar, stepLines } from '../progress.js'
import { backupId, isS3Url, openS3Backups, s3Url } from '../s3-store.js'

/** What `backup` writes next to the copies, and `restore` reads. */
export interface BackupManifest {
  version: 1
  created_at: string
  audit: { kind: 'sqlite' | 'postgres'; file: string; table: string; rows: number; head: string }
  app?: { kind: 'sqlite' | 'postgres'; file: string }
}

interface BackupValues {
  db?: string | undefined
  table?: string | undefined
  'app-db'?: string | undefined
}

/**
 * Writes a verified backup into the empty directory `out`: the audit copy is verified before
 * the manifest is written. Returns the manifest and the app database it copied from.
 */
async function writeBackup(
  out: string,
  values: BackupValues,
  io: CommandIO,
): Promise<{ manifest: BackupManifest; appUrl: string }> {
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
  return { manifest, appUrl }
}

const summary = (manifest: BackupManifest, appUrl: string) =>
  `audit (${manifest.audit.rows} rows, head ${manifest.audit.head || 'unverified'})${
    manifest.app ? ` and app (${masked(appUrl)})` : ' (no app database found)'
  }`

/**
 * A backup to S3-compatible storage: written and verified in a temporary local folder first,
 * then uploaded under `<prefix>/<id>/` with the manifest last; then retention keeps the newest
 * `keep`. The local copy is removed whatever happens.
 */
async function backupToS3(
  url: string,
  keep: number | undefined,
  values: BackupValues,
  io: CommandIO,
): Promise<number> {
  const backups = await openS3Backups('--out', url, io.env)
  const step = stepLines(io.stderr)
  const staging = mkdtempSync(join(tmpdir(), 'rampart-backup-'))
  try {
    const { manifest, appUrl } = await writeBackup(staging, values, io)
    step(`verified local copy: ${summary(manifest, appUrl)}`)
    const id = backupId(new Date(manifest.created_at))
    const files = readdirSync(staging)
    const total = files.reduce((n, f) => n + statSync(join(staging, f)).size, 0)
    const bar = progressBar(io.stderr, total, 'uploading')
    try {
      await backups.upload(staging, files, id, (bytes) => bar.update(bytes), step)
    } finally {
      bar.finish()
    }
    const removed = keep === undefined ? [] : await backups.retain(keep)
    if (keep !== undefined)
      step(
        `retention: kept the newest ${keep}, removed ${removed.length ? removed.join(', ') : 'none'}`,
      )
    io.stdout.write(`backed up ${summary(manifest, appUrl)} to ${s3Url(backups.loc, id)}\n`)
    return 0
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}

export const command: Command = {
  name: 'backup',
  summary: 'consistent copy of the audit and app databases, to a folder or s3://',
  usage: `Usage: rampart backup --out <dir | s3://bucket/prefix> [--keep N] [--db <url>] [--app-db <url>]

Copies the audit database and the app database into <dir> (created; must be empty):
SQLite through the online backup API (safe while the service writes), Postgres through
pg_dump --format=custom. The audit copy is verified and its row count and head hash are
written to <dir>/manifest.json.

With an s3:// destination the verified backup is written to a temporary folder, then uploaded
to <prefix>/<time>/ in S3 or S3-compatible storage, manifest.json last (a backup without one
is incomplete and never restored). Needs the optional packages @aws-sdk/client-s3 and
@aws-sdk/lib-storage, and reads AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN and AWS_ENDPOINT_URL_S3 (S3-compatible servers, addressed path-style).

  --out <dir|url>   where to write the backup
  --keep <N>        s3:// only: keep the newest N backups under the prefix, delete older ones
  --app-db <url>    app database (default: DATABASE_URL, else sqlite:<DATA_DIR>/airlock.db,
                    skipped when that default file does not exist)
${TARGET_USAGE}`,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { values } = usageErrors(() =>
      parseArgs({
        args: argv,
        options: {
          ...TARGET_OPTIONS,
          out: { type: 'string' },
          keep: { type: 'string' },
          'app-db': { type: 'string' },
        },
        strict: true,
      }),
    )
    if (!values.out) throw new RampartError('ERR_RAMPART_USAGE', '--out <dir> is required')
    if (values.db) checkDbUrl('--db', values.db)
    let keep: number | undefined
    if (values.keep !== undefined) {
      keep = Number(values.keep)
      if (!/^\d+$/.test(values.keep) || keep < 1)
        throw new RampartError(
          'ERR_RAMPART_USAGE',
          `--keep: got "${values.keep.slice(0, 20)}"; expected a whole number ≥ 1`,
        )
      if (!isS3Url(values.out))
        throw new RampartError('ERR_RAMPART_USAGE', '--keep applies to s3:// destinations only')
    }
    if (isS3Url(values.out)) return backupToS3(values.out, keep, values, io)

    const out = resolve(io.cwd, values.out)
    if (existsSync(out) && readdirSync(out).length > 0)
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `--out: ${out} is not empty; choose a new directory`,
      )
    const { manifest, appUrl } = await writeBackup(out, values, io)
    io.stdout.write(`backed up ${summary(manifest, appUrl)} to ${out}\n`)
    return 0
  },
}
export default command
