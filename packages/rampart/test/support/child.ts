import { type ChildProcess, spawn } from 'node:child_process'

export interface Child extends ChildProcess {
  stdoutText(): string
  stderrText(): string
  /** Resolves with the port once the child printed "PORT <n>" on stderr. */
  port: Promise<number>
  exited: Promise<number | null>
}

/** Runs a TypeScript file with the repo's source conditions, capturing its output. */
export function runTs(
  file: string,
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Child {
  const args = ['--conditions=rampart-source', '--import', 'tsx', ...nodeArgs, file]
  const child = spawn(process.execPath, args, {
    env: { ...process.env, NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as Child
  let out = ''
  let err = ''
  child.stdout?.on('data', (d) => {
    out += d
  })
  let resolvePort: (p: number) => void
  let rejectPort: (e: Error) => void
  child.port = new Promise((resolve, reject) => {
    resolvePort = resolve
    rejectPort = reject
  })
  // Children that never listen (one-shot scripts) reject `port`; nobody awaits it then.
  child.port.catch(() => {})
  child.stderr?.on('data', (d) => {
    err += d
    const m = /PORT (\d+)/.exec(err)
    if (m?.[1]) resolvePort(Number(m[1]))
  })
  child.exited = new Promise((resolve) =>
    child.once('exit', (code) => {
      rejectPort(new Error(`child exited with ${code} before listening: ${err.slice(-500)}`))
      resolve(code)
    }),
  )
  child.stdoutText = () => out
  child.stderrText = () => err
  return child
}
