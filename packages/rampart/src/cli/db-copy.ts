import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { promisify } from 'node:util'
import type Database from 'better-sqlite3'
import { loadSqlite } from '../audit/store.js'
import { RampartError } from '../errors/rampart-error.js'

const run = promisify(execFile)

/** Masks credentials in a database URL for messages. */
export function masked(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@')
}

export function isSqlite(url: string): boolean {
  return url.startsWith('sqlite:')
}

export function sqlitePath(url: string): string {
  return url.slice('sqlite:'.length)
}

/** Checks the shape of a database URL; a bad one is one clear line. */
export function checkDbUrl(name: string, url: string): void {
  if (/^sqlite:.+/.test(url) || /^postgres(ql)?:\/\/.+/.test(url)) return
  throw new RampartError(
    'ERR_RAMPART_USAGE',
    `${name}: got "${masked(url).slice(0, 80)}"; expected sqlite:<path> or a postgres:// URL`,
  )
}

/**
 * A consistent copy of a live SQLite database through SQLite's online backup API
 * (better-sqlite3 `.backup()`): pages are copied while writers keep writing, and the copy is
 * a snapshot of one moment.
 */
export async function backupSqlite(path: string, dest: string): Promise<void> {
  if (!existsSync(path)) throw new RampartError('ERR_RAMPART_USAGE', `no database at ${path}`)
  const { default: SQLite } = await loadSqlite(`sqlite:${path}`)
  let db: Database.Database
  try {
    db = new SQLite(path, { fileMustExist: true })
  } catch (err) {
    throw new RampartError('ERR_RAMPART_USAGE', `cannot open ${path}: ${(err as Error).message}`)
  }
  try {
    await db.backup(dest)
  } catch (err) {
    throw new RampartError(
      'ERR_RAMPART_INTERNAL',
      `backup of ${path} failed: ${(err as Error).message}`,
    )
  } finally {
    db.close()
  }
}

/** Replaces `target` with a copy of the backup file, atomically (copy to a temporary name, rename). */
export async function restoreSqlite(backupFile: string, target: string): Promise<void> {
  const { default: SQLite } = await loadSqlite(`sqlite:${backupFile}`)
  const src = new SQLite(backupFile, { fileMustExist: true, readonly: true })
  const tmp = `${target}.restoring`
  try {
    mkdirSync(dirname(target), { recursive: true })
    rmSync(tmp, { force: true })
    await src.backup(tmp)
  } catch (err) {
    throw new RampartError('ERR_RAMPART_USAGE', `cannot write ${target}: ${(err as Error).message}`)
  } finally {
    src.close()
  }
  // The old file's write-ahead log must not be replayed over the restored pages.
  rmSync(`${target}-wal`, { force: true })
  rmSync(`${target}-shm`, { force: true })
  renameSync(tmp, target)
}

async function tool(bin: string, args: string[]): Promise<void> {
  try {
    await run(bin, args, { maxBuffer: 16 * 1024 * 1024 })
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === 'ENOENT')
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `${bin} is not installed (needed for Postgres backups)`,
      )
    const line = (e.stderr ?? e.message).split('\n').find((l) => l.trim()) ?? e.message
    throw new RampartError('ERR_RAMPART_INTERNAL', `${bin} failed: ${line.trim()}`)
  }
}

/** `pg_dump --format=custom` of the whole database, or of the given tables only. */
export function pgDump(url: string, file: string, tables: readonly string[] = []): Promise<void> {
  return tool('pg_dump', [
    '--format=custom',
    '--no-owner',
    `--file=${file}`,
    ...tables.map((t) => `--table=${t}`),
    `--dbname=${url}`,
  ])
}

/** `pg_restore --clean --if-exists` into the database at `url`. */
export function pgRestore(url: string, file: string): Promise<void> {
  return tool('pg_restore', [
    '--clean',
    '--if-exists',
    '--no-owner',
    '--exit-on-error',
    `--dbname=${url}`,
    file,
  ])
}
