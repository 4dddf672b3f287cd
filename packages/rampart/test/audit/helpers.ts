import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
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
