import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { main } from '../../src/cli/main.js'

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-audit-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A unique table name so runs sharing one Postgres never see each other's rows. */
export function uniqueTable(): string {
  return `event_log_t${randomBytes(5).toString('hex')}`
}

export const AUDIT_KEY = 'k'.repeat(40)

/** Runs the `rampart` CLI in-process and captures its output. */
export async function cli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; tty?: boolean; stderrTty?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = []
  const err: string[] = []
  const sink = (into: string[]) =>
    new Writable({
      write(chunk, _e, cb) {
        into.push(chunk.toString())
        cb()
      },
    })
  const stdin = Object.assign(new PassThrough(), { isTTY: options.tty ?? false })
  const code = await main(args, {
    stdout: sink(out),
    stderr: Object.assign(sink(err), { isTTY: options.stderrTty ?? false, columns: 80 }),
    stdin,
    cwd: options.cwd ?? process.cwd(),
    env: { AUDIT_KEY, ...options.env },
  })
  return { code, stdout: out.join(''), stderr: err.join('') }
}

/** SQL removing a Postgres audit table of a test run: its tables and its append-only trigger function. */
export function dropAuditTableSql(table: string): string {
  return `drop table if exists ${table}, ${table}_migration, ${table}_migration_lock; drop function if exists "${table}_append_only"()`
}

/**
 * SQL an attacker with write access to the database runs first: dropping the append-only
 * triggers (the hash chain, not the triggers, is what detects tampering).
 */
export function dropAppendOnlySql(kind: 'sqlite' | 'postgres', table: string): string[] {
  return kind === 'sqlite'
    ? [`drop trigger if exists "${table}_no_update"`, `drop trigger if exists "${table}_no_delete"`]
    : [
        `drop trigger if exists "${table}_no_update_delete" on ${table}`,
        `drop trigger if exists "${table}_no_truncate" on ${table}`,
      ]
}

const WRITER = fileURLToPath(new URL('./fixtures/pg-writer.ts', import.meta.url))

/**
 * Starts one writer process (fixtures/pg-writer.ts) appending `count` audited requests at once
 * to `table` of `db`. `ready` resolves when it waits for "go" on its stdin (after opening the
 * database, or before with `gate: 'open'`); `done` with its count of 200 answers.
 */
export function startWriter(db: string, table: string, count: number, gate?: 'open') {
  const child = spawn(
    process.execPath,
    ['--conditions=rampart-source', '--import', 'tsx', WRITER],
    {
      env: {
        ...process.env,
        AUDIT_DB: db,
        AUDIT_TABLE: table,
        COUNT: String(count),
        ...(gate ? { GATE: gate } : {}),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  let out = ''
  let err = ''
  let markReady: () => void = () => {}
  const ready = new Promise<void>((r) => {
    markReady = r
  })
  child.stdout.on('data', (d) => {
    out += d
    if (out.includes('ready\n')) markReady()
  })
  child.stderr.on('data', (d) => (err += d))
  const done = new Promise<{ ok: number }>((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop() as string))
        : reject(new Error(`writer exited ${code}: ${err}`)),
    ),
  )
  return { child, done, ready }
}

/** Waits until every writer waits for "go" (or one exited), releases them together, and resolves with their results. */
export async function releaseTogether(
  writers: ReadonlyArray<ReturnType<typeof startWriter>>,
): Promise<Array<{ ok: number }>> {
  await Promise.race([
    Promise.all(writers.map((w) => w.ready)),
    Promise.all(writers.map((w) => w.done)),
  ])
  for (const w of writers) w.child.stdin.end('go\n')
  return Promise.all(writers.map((w) => w.done))
}
