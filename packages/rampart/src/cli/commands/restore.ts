import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline/promises'
import { parseArgs } from 'node:util'
import { createAppendOnlyFunction } from '../../audit/store.js'
import { verifyChain } from '../../audit/verify.js'
import { RampartError } from '../../errors/rampart-error.js'
import { auditTarget, openExisting, TARGET_OPTIONS, TARGET_USAGE } from '../audit-target.js'
import type { Command, CommandIO } from '../command.js'
import { checkDbUrl, isSqlite, masked, pgRestore, restoreSqlite, sqlitePath } from '../db-copy.js'
import { stepLines } from '../progress.js'
import { isS3Url, openS3Backups, s3Url } from '../s3-store.js'
import type { BackupManifest } from './backup.js'

async function confirm(io: CommandIO, question: string): Promise<boolean> {
  if (io.stdin.isTTY !== true) return false
  const rl = createInterface({ input: io.stdin, output: io.stderr })
  try {
    const answer = await rl.question(`${question} [y/N] `)
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}

/** Where a backup comes from: its manifest now, its files once the restore is confirmed. */
interface BackupSource {
  manifest: BackupManifest
  /** The folder holding the backup's files (downloaded first for s3://). */
  files(): Promise<string>
  cleanup(): void
}

/** The file names `backup` writes: a manifest naming anything else (`../x`) is refused. */
const BACKUP_FILES = new Set(['audit.db', 'audit.dump', 'app.db', 'app.dump'])

function readManifest(file: string): BackupManifest {
  let manifest: BackupManifest
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as BackupManifest
  } catch (err) {
    throw new RampartError(
      'ERR_RAMPART_USAGE',
      `${file}: not valid JSON (${(err as Error).message})`,
    )
  }
  const named = [manifest?.audit?.file, ...(manifest?.app ? [manifest.app.file] : [])]
  for (const name of named)
    if (!BACKUP_FILES.has(String(name)))
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `${file}: not a backup manifest (files must be among ${[...BACKUP_FILES].join(', ')}; got ${JSON.stringify(name ?? null).slice(0, 60)})`,
      )
  return manifest
}

function localSource(dir: string): BackupSource {
  const manifestFile = join(dir, 'manifest.json')
  if (!existsSync(manifestFile))
    throw new RampartError('ERR_RAMPART_USAGE', `${dir} is not a backup (no manifest.json)`)
  return { manifest: readManifest(manifestFile), files: async () => dir, cleanup: () => {} }
}

/**
 * A backup in S3-compatible storage: the one the URL names, or the newest complete one under
 * the prefix. Its manifest is downloaded now; its files after the confirmation.
 */
async function s3Source(url: string, io: CommandIO): Promise<BackupSource> {
  const found = await (await openS3Backups('backup', url, io.env)).resolve()
  if (found === undefined)
    throw new RampartError(
      'ERR_RAMPART_USAGE',
      `no backup at ${url} (no complete backup: none with a manifest.json)`,
    )
  const { backups, id } = found
  const step = stepLines(io.stderr)
  const staging = mkdtempSync(join(tmpdir(), 'rampart-restore-'))
  try {
    step(`restoring ${s3Url(backups.loc, id)}`)
    await backups.download(id, 'manifest.json', join(staging, 'manifest.json'))
    const manifest = readManifest(join(staging, 'manifest.json'))
    return {
      manifest,
      files: async () => {
        for (const file of [manifest.audit.file, ...(manifest.app ? [manifest.app.file] : [])]) {
          step(`downloading ${file}`)
          await backups.download(id, file, join(staging, file))
        }
        return staging
      },
      cleanup: () => rmSync(staging, { recursive: true, force: true }),
    }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true })
    throw err
  }
}

export const command: Command = {
  name: 'restore',
  summary: 'restore a backup over the audit and app databases, then verify the chain',
  usage: `Usage: rampart restore <backup-dir | s3://bucket/prefix[/<time>]> [--yes] [--db <url>] [--app-db <url>]

Overwrites the audit database (and the app database, when the backup holds one) with the
backup in <backup-dir>, then verifies the restored chain and compares it with the head
recorded at backup time. Stop the service first. Asks for confirmation; without a terminal
it refuses unless --yes is given.

An s3:// URL restores the newest complete backup under the prefix, or the one a full backup
URL (s3://bucket/prefix/<time>) names, with the same AWS variables as rampart backup.

  --yes             do not ask
  --app-db <url>    app database to overwrite (default: DATABASE_URL, else
                    sqlite:<DATA_DIR>/airlock.db)
${TARGET_USAGE}`,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        ...TARGET_OPTIONS,
        yes: { type: 'boolean', default: false },
        'app-db': { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    })
    if (positionals.length !== 1)
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        'expected one argument: the backup directory or s3:// URL',
      )
    const arg = positionals[0] as string
    if (values.db) checkDbUrl('--db', values.db)
    const source = isS3Url(arg) ? await s3Source(arg, io) : localSource(resolve(io.cwd, arg))
    try {
      return await restore(source, values, io)
    } finally {
      source.cleanup()
    }
  },
}

async function restore(
  source: BackupSource,
  values: {
    db?: string | undefined
    table?: string | undefined
    yes?: boolean | undefined
    'app-db'?: string | undefined
  },
  io: CommandIO,
): Promise<number> {
  const { manifest } = source
  const { url, key, dataDir } = auditTarget(values, io)
  const table = values.table ?? manifest.audit.table
  const appUrl =
    values['app-db'] ?? (io.env.DATABASE_URL || `sqlite:${join(dataDir, 'airlock.db')}`)
  checkDbUrl(values['app-db'] ? '--app-db' : 'DATABASE_URL', appUrl)
  if ((manifest.audit.kind === 'sqlite') !== isSqlite(url))
    throw new RampartError(
      'ERR_RAMPART_USAGE',
      `the backup holds a ${manifest.audit.kind} audit database but the target ${masked(url)} is not`,
    )
  if (manifest.app && (manifest.app.kind === 'sqlite') !== isSqlite(appUrl))
    throw new RampartError(
      'ERR_RAMPART_USAGE',
      `the backup holds a ${manifest.app.kind} app database but the target ${masked(appUrl)} is not`,
    )

  const targets = [masked(url), ...(manifest.app ? [masked(appUrl)] : [])].join(' and ')
  if (
    !values.yes &&
    !(await confirm(io, `Overwrite ${targets} with the backup of ${manifest.created_at}?`))
  ) {
    io.stderr.write(
      `rampart restore: refusing to overwrite ${targets} without confirmation; pass --yes${io.stdin.isTTY === true ? '' : ' (no terminal to ask)'}\n`,
    )
    return 1
  }

  const dir = await source.files()
  if (isSqlite(url))
    await restoreSqlite(join(dir, manifest.audit.file), resolve(io.cwd, sqlitePath(url)))
  else {
    // The dump's append-only triggers call a function pg_dump --table does not copy.
    await createAppendOnlyFunction(url, manifest.audit.table)
    await pgRestore(url, join(dir, manifest.audit.file))
  }
  if (manifest.app) {
    if (isSqlite(appUrl))
      await restoreSqlite(join(dir, manifest.app.file), resolve(io.cwd, sqlitePath(appUrl)))
    else await pgRestore(appUrl, join(dir, manifest.app.file))
  }

  const restoredUrl = isSqlite(url) ? `sqlite:${resolve(io.cwd, sqlitePath(url))}` : url
  const store = await openExisting(restoredUrl, key, table)
  try {
    const result = await verifyChain(
      store,
      key,
      manifest.audit.head ? { expectHead: manifest.audit.head } : {},
    )
    if (!result.ok) {
      io.stdout.write(
        `restored, but the chain does not verify: first bad row: ${result.badRow}: ${result.reason}\n`,
      )
      return 1
    }
    io.stdout.write(`restored ${targets}; verified ${result.rows} rows, head ${result.head}\n`)
    return 0
  } finally {
    await store.shutdown()
  }
}
export default command
