import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli/main.js'
import { defineConfig, type SloConfig } from '../../src/slo/options.js'

/** airlock's SLOs as its rampart.config.ts declares them (the ops test loads the real file). */
export const AIRLOCK_CONFIG_FILE = new URL(
  '../../../../examples/airlock/rampart.config.ts',
  import.meta.url,
).pathname
export const REPO_ROOT = new URL('../../../../', import.meta.url).pathname

/**
 * A config that exercises what airlock's does not: 28d window, integer threshold, a service-wide
 * threshold off the default buckets, a ratio over two metrics.
 */
export const VARIED: SloConfig = defineConfig({
  service: 'orders',
  routes: ['GET /orders/:id', 'POST /orders', '/'],
  slos: [
    {
      name: 'read-latency',
      kind: 'latency',
      route: 'GET /orders/:id',
      thresholdSeconds: 1,
      objective: 99,
      window: '28d',
    },
    { name: 'create-availability', kind: 'availability', route: 'POST /orders', objective: 99.5 },
    { name: 'availability', kind: 'availability', objective: 99.9, window: '4w' },
    // Off the default buckets, service-wide: a boundary of every route's series.
    { name: 'all-latency', kind: 'latency', thresholdSeconds: 0.3, objective: 95 },
    // Two counters, and an inequality matcher.
    {
      name: 'payments',
      kind: 'ratio',
      good: 'orders_paid_total{provider!="test"}',
      total: 'orders_created_total',
      objective: 99,
    },
  ],
})

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'rampart-slo-'))
}

export function writeTemp(dir: string, name: string, text: string): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

/** Runs a tool; resolves with its exit code and output, never rejects. */
export function run(
  bin: string,
  args: string[],
  cwd?: string,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    // Below the slowest test's own limit (240 s): airlock's promtool unit tests took 119 s of wall
    // clock (58 s CPU) on a loaded 2-core machine.
    execFile(bin, args, { cwd, timeout: 230_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({ code, out: `${stdout}${stderr}` })
    })
  })
}

/** Runs the rampart CLI in-process. */
export async function cli(argv: string[], cwd = process.cwd()) {
  let stdout = ''
  let stderr = ''
  const sink = (append: (s: string) => void) =>
    ({
      write: (chunk: string) => {
        append(String(chunk))
        return true
      },
    }) as unknown as NodeJS.WritableStream
  const code = await main(argv, {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    stdin: process.stdin,
    cwd,
    env: process.env,
  })
  return { code, stdout, stderr }
}
