import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

/**
 * Counts the CPU instructions a server process executes per request, under
 * `valgrind --tool=callgrind`. Unlike CPU time, the count does not move with other load on the
 * machine: the same build, inputs and Node give the same count to within about 0.3 % (with
 * V8's `--predictable`), which makes it the measure to compare variants, or one change before
 * and after, on a shared machine whose speed changes several-fold between days.
 *
 * What it leaves out: time in the kernel (the socket read and write of each request cost the
 * same for every variant, so ratios of instruction counts understate how close variants are in
 * CPU time), and anything whose cost depends on the clock (caches refreshed each millisecond,
 * batch timers): under valgrind a server runs about 50× slower, so give time-driven batching
 * (`OTEL_BSP_SCHEDULE_DELAY`) its default so batches fill by size, as they do at full speed.
 */
export interface CountOptions {
  /** File in bench/servers. */
  server: string
  env?: Record<string, string>
  /** Requests before counting (JIT warm-up). */
  warmup: number
  /** Requests counted. */
  requests: number
  path: string
  /** Extra flags for the server's Node (e.g. `--perf-basic-prof` to name compiled functions). */
  nodeFlags?: string[]
  /** Callgrind's output files of the counted requests are read by this before they are removed. */
  inspect?: (files: string[], pid: number) => void
}

const CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url))

/** True when valgrind and callgrind_control are on the PATH. */
export function haveCallgrind(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' })
    execFileSync('callgrind_control', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function waitForPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffer = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      const m = /^PORT (\d+)$/m.exec(buffer)
      if (m?.[1]) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`server exited early with ${code}`)))
  })
}

/** Instructions per request of one server process (all its threads), and the requests counted. */
export async function countInstructions(
  options: CountOptions,
): Promise<{ perRequest: number; requests: number; non2xx: number; errors: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-callgrind-'))
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
      process.execPath,
      // V8 compiles and collects garbage on the main thread at points fixed by the program, and
      // fixes its hash seed: the same run then counts the same to within about 0.3 % (without
      // it, two runs of bare Fastify differed by up to 70 %, depending on when optimised code
      // arrived from the compiler threads).
      '--predictable',
      ...(options.nodeFlags ?? []),
      '--conditions=rampart-source',
      '--import',
      'tsx',
      CHILD,
      options.server,
    ],
    {
      env: { ...process.env, NODE_ENV: 'production', ...options.env },
      stdio: ['ignore', 'pipe', 'ignore', 'ipc'],
    },
  )
  try {
    const port = await waitForPort(child)
    // A generous timeout: under valgrind a request that meets a garbage collection or a
    // compilation can take seconds, and a timed-out request would reconnect and count twice.
    const load = (amount: number) =>
      autocannon({
        url: `http://127.0.0.1:${port}${options.path}`,
        connections: 10,
        amount,
        timeout: 120,
      })
    await load(options.warmup)
    const control = (...args: string[]) =>
      execFileSync('callgrind_control', [...args, String(child.pid)], { stdio: 'ignore' })
    control('--instr=on')
    control('--zero')
    const result = await load(options.requests)
    control('--instr=off')
    control('--dump')
    let total = 0
    const dumps: string[] = []
    for (const file of readdirSync(dir).map((f) => join(dir, f))) {
      const m = /^totals: (\d+)$/m.exec(readFileSync(file, 'utf8'))
      if (m?.[1]) {
        total += Number(m[1])
        dumps.push(file)
      }
    }
    options.inspect?.(dumps, child.pid ?? 0)
    return {
      perRequest: total / Math.max(1, result.requests.total),
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
    }
  } finally {
    child.removeAllListeners('exit')
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

/** One server of an instructions suite, and what it is called in the table. */
export interface Variant {
  readonly name: string
  readonly server: string
  readonly env?: Record<string, string>
}

/** Every run's count of one variant, with its non-2xx answers and errors summed over the runs. */
export interface VariantCounts {
  readonly name: string
  readonly counts: number[]
  non2xx: number
  errors: number
}

/**
 * Counts each variant `rounds` times, one run at a time (two callgrind runs side by side change
 * each other's counts), `GET /items/1` after `warmup` requests, printing every run as it ends.
 */
export async function countVariants(
  variants: readonly Variant[],
  { rounds, warmup, requests }: { rounds: number; warmup: number; requests: number },
): Promise<VariantCounts[]> {
  const results: VariantCounts[] = []
  for (const v of variants) {
    const result: VariantCounts = { name: v.name, counts: [], non2xx: 0, errors: 0 }
    for (let round = 0; round < rounds; round++) {
      const r = await countInstructions({
        server: v.server,
        env: v.env,
        warmup,
        requests,
        path: '/items/1',
      })
      result.counts.push(r.perRequest)
      result.non2xx += r.non2xx
      result.errors += r.errors
      process.stderr.write(
        `  ${round + 1}/${rounds} ${v.name.padEnd(48)} ${Math.round(r.perRequest)} instructions/request (${r.requests} requests, ${r.errors} errors)\n`,
      )
    }
    results.push(result)
  }
  return results
}

/** The runs of one variant, lowest first, in thousands (`97.4, 97.9`). */
export function runsInThousands(counts: readonly number[]): string {
  return [...counts]
    .sort((a, b) => a - b)
    .map((c) => (c / 1000).toFixed(1))
    .join(', ')
}
