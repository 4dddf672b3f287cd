import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

/** One server to measure: a module in bench/servers that default-exports `build(): Promise<FastifyInstance-like>`. */
export interface Variant {
  name: string
  /** File name in bench/servers, e.g. `fastify-bare.ts`. */
  server: string
  env?: Record<string, string>
}

export interface HttpSuite {
  name: string
  /** What the suite shows, printed above the table. */
  description: string
  variants: Variant[]
  /** Ratios are computed against this variant. */
  baseline: string
  request: {
    method?: 'GET' | 'POST'
    path: string
    headers?: Record<string, string>
    body?: string
  }
  /** Rounds; each round measures every variant once, in rotating order (interleaved). */
  rounds?: number
  durationSeconds?: number
  connections?: number
  /** Runs for each process of each variant after the last round, before it is stopped (e.g. to read its counters). */
  beforeStop?: (variant: Variant, port: number) => Promise<void>
}

export interface VariantResult {
  name: string
  /** Requests per second of each round. */
  rps: number[]
  p99: number[]
  /** Server CPU time (user + system) per request, µs, each round: robust to a noisy machine. */
  cpuPerRequest: number[]
  errors: number
  non2xx: number
  /** Responses received, warm-up included. */
  served: number
}

const CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url))

interface Running {
  child: ChildProcess
  port: number
}

function startServer(variant: Variant): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=rampart-source', '--import', 'tsx', CHILD, variant.server],
      {
        env: { ...process.env, NODE_ENV: 'production', ...variant.env },
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      },
    )
    let buffer = ''
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString()
      const m = /^PORT (\d+)$/m.exec(buffer)
      if (m?.[1]) {
        child.stdout?.off('data', onData)
        child.stdout?.resume()
        resolve({ child, port: Number(m[1]) })
      }
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${variant.name} exited early with ${code}`)))
  })
}

/** Asks the server process for its CPU time so far (µs). */
function cpuOf(running: Running): Promise<number> {
  return new Promise((resolve) => {
    running.child.once('message', (m) => resolve(Number(m)))
    running.child.send('cpu')
  })
}

function stopServer(running: Running): Promise<void> {
  return new Promise((resolve) => {
    running.child.removeAllListeners('exit')
    running.child.once('exit', () => resolve())
    running.child.kill('SIGKILL')
  })
}

/**
 * `BENCH_RATE=<req/s>` loads every variant at that fixed overall rate instead of as fast as it
 * goes: no server is saturated, each does the same work at the same pace, and the CPU per request
 * is its own cost rather than an artefact of two cores shared with the load generator.
 */
const FIXED_RATE = Number(process.env.BENCH_RATE ?? 0) || undefined

async function load(suite: HttpSuite, port: number, seconds: number) {
  const { method = 'GET', path, headers, body } = suite.request
  return autocannon({
    ...(FIXED_RATE === undefined ? {} : { overallRate: FIXED_RATE }),
    url: `http://127.0.0.1:${port}${path}`,
    method,
    headers,
    body,
    connections: suite.connections ?? 50,
    pipelining: 1,
    duration: seconds,
  })
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

/**
 * Starts every variant in its own process once, then runs `rounds` rounds; each round loads
 * every variant for `durationSeconds`, rotating the order so no variant always runs first.
 * Reports the median requests/s, its ratio to the baseline, and the median p99 latency.
 */
export async function runHttpSuite(
  suite: HttpSuite,
): Promise<{ results: VariantResult[]; markdown: string }> {
  // BENCH_ROUNDS / BENCH_SECONDS override every suite's, for a tighter median on a noisy machine.
  const rounds = Number(process.env.BENCH_ROUNDS ?? 0) || (suite.rounds ?? 5)
  const seconds = Number(process.env.BENCH_SECONDS ?? 0) || (suite.durationSeconds ?? 5)
  // BENCH_PROCESSES: each variant runs in that many processes, each loaded every round. Two
  // processes of the same code have differed by up to 10 % in CPU per request on this machine
  // (JIT and memory layout are decided per process), more than many differences worth measuring.
  const processes = Math.max(1, Number(process.env.BENCH_PROCESSES ?? 0) || 1)
  const running = new Map<string, Running[]>()
  for (const v of suite.variants) {
    const list: Running[] = []
    for (let i = 0; i < processes; i++) list.push(await startServer(v))
    running.set(v.name, list)
  }
  const results = new Map<string, VariantResult>(
    suite.variants.map((v) => [
      v.name,
      { name: v.name, rps: [], p99: [], cpuPerRequest: [], errors: 0, non2xx: 0, served: 0 },
    ]),
  )
  const serversOf = (v: Variant) => running.get(v.name) as Running[]
  try {
    // Warm-up: JIT, connection pools, lazy imports.
    for (const v of suite.variants) {
      for (const server of serversOf(v)) {
        const warm = await load(suite, server.port, 2)
        ;(results.get(v.name) as VariantResult).served += warm.requests.total
      }
    }
    for (let round = 0; round < rounds; round++) {
      const order = suite.variants.map(
        (_, i) => suite.variants[(i + round) % suite.variants.length] as Variant,
      )
      for (const v of order) {
        const servers = serversOf(v)
        for (let i = 0; i < servers.length; i++) {
          const server = servers[(i + round) % servers.length] as Running
          const cpuBefore = await cpuOf(server)
          const r = await load(suite, server.port, seconds)
          const cpu = (await cpuOf(server)) - cpuBefore
          const acc = results.get(v.name) as VariantResult
          acc.rps.push(r.requests.average)
          acc.cpuPerRequest.push(cpu / Math.max(1, r.requests.total))
          acc.p99.push(r.latency.p99)
          acc.errors += r.errors + r.timeouts
          acc.non2xx += r.non2xx
          acc.served += r.requests.total
          process.stderr.write(
            `  round ${round + 1}/${rounds} ${v.name.padEnd(36)} ${Math.round(r.requests.average)} req/s  p99 ${r.latency.p99} ms\n`,
          )
        }
      }
    }
    if (suite.beforeStop) {
      for (const v of suite.variants) {
        for (const server of serversOf(v)) await suite.beforeStop(v, server.port)
      }
    }
  } finally {
    for (const list of running.values()) for (const r of list) await stopServer(r)
  }
  const list = [...results.values()]
  const baseline = results.get(suite.baseline) as VariantResult
  const base = median(baseline.rps)
  const baseCpu = median(baseline.cpuPerRequest)
  const rows = list.map((r) => {
    const rps = median(r.rps)
    const spread = Math.round(((Math.max(...r.rps) - Math.min(...r.rps)) / rps) * 100)
    const cpu = median(r.cpuPerRequest)
    return `| ${r.name} | ${Math.round(rps)} | ${((rps / base) * 100).toFixed(1)} % | ±${spread} % | ${cpu.toFixed(1)} | ${((baseCpu / cpu) * 100).toFixed(1)} % | ${median(r.p99)} | ${r.errors} | ${r.non2xx} |`
  })
  const markdown = [
    `### ${suite.name}`,
    '',
    suite.description,
    '',
    `Node ${process.version}; ${rounds} interleaved rounds × ${seconds} s${processes > 1 ? `, ${processes} processes per variant (each loaded every round; medians over all)` : ''}, ${suite.connections ?? 50} connections${FIXED_RATE === undefined ? '' : `, at a fixed ${FIXED_RATE} req/s (\`BENCH_RATE\`: compare the CPU columns, not req/s)`}, \`${suite.request.method ?? 'GET'} ${suite.request.path}\`; median of rounds. "CPU-bound share" is the baseline's server CPU per request divided by the variant's: the throughput ratio the variant would keep if the server were the only thing using the CPU, and much less sensitive to other load on the machine than req/s.`,
    '',
    `| variant | req/s | vs ${suite.baseline} | spread (max−min) | server CPU µs/req | CPU-bound share of ${suite.baseline} | p99 ms | errors | non-2xx |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n')
  return { results: list, markdown }
}
