import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../../packages/rampart/test/support/free-port.js'

// The service as `npm run start -w orders` runs it (main.ts, a real process on a real port).
const MAIN = new URL('../src/main.ts', import.meta.url).pathname
// tsx by absolute path: the process runs in a fresh directory (its own ./data).
const TSX = createRequire(import.meta.url).resolve('tsx')

export interface Service {
  url: string
  dataDir: string
  child: ChildProcess
  out(): string
  err(): string
  stop(): Promise<number | null>
}

const started: Service[] = []
const dirs: string[] = []

/** A fresh temporary directory, removed by `stopAll()`. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

/** Stops every service started (SIGTERM) and removes the temporary directories: `afterAll`. */
export async function stopAll(): Promise<void> {
  await Promise.all(started.map((s) => s.stop()))
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
}

/** Starts orders with only PATH, a free PORT and `env`; resolves once it prints its URL. */
export async function start(env: Record<string, string>): Promise<Service> {
  const port = await freePort()
  const cwd = tempDir('orders-test-')
  const child = spawn(process.execPath, ['--conditions=rampart-source', '--import', TSX, MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d) => {
    out += d
  })
  child.stderr?.on('data', (d) => {
    err += d
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const service: Service = {
    url: `http://127.0.0.1:${port}`,
    dataDir: env.DATA_DIR ?? join(cwd, 'data'),
    child,
    out: () => out,
    err: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return exited
    },
  }
  started.push(service)
  const end = Date.now() + 30_000
  while (!out.includes(`orders listening on ${service.url}`)) {
    if (child.exitCode !== null) throw new Error(`orders exited ${child.exitCode}:\n${out}${err}`)
    if (Date.now() > end) throw new Error(`orders printed no URL:\n${out}${err}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return service
}

/** The JSON lines the service logged. */
export function logLines(service: Service): Record<string, unknown>[] {
  return service
    .out()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}
