// npm run bench:profile -- <server> [--against <server>] [--against-env KEY=VALUE]… [--top <n>] [KEY=VALUE …]
//
// Where a bench server's instructions go, per request, by function: the server runs under
// callgrind (as in the instructions suite) with V8's `--perf-basic-prof`, and the addresses of
// compiled JavaScript, which callgrind cannot name, are named from V8's map of them. With
// `--against`, prints the difference between two servers, function by function: what one
// feature costs and in which code. KEY=VALUE pairs are set in both servers' environment;
// `--against-env` pairs only in the second's (the same server with one setting changed, say).
// `{receiver}` in a value is the URL of an OTLP receiver this tool runs (for tracing servers).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOtlpReceiver } from '../../packages/rampart/test/support/otlp-receiver.js'
import { countInstructions, haveCallgrind } from '../lib/instruction-count.js'

interface Args {
  server: string
  against: string | undefined
  top: number
  env: Record<string, string>
  againstEnv: Record<string, string>
}

function setPair(env: Record<string, string>, pair: string): void {
  const at = pair.indexOf('=')
  if (at > 0) env[pair.slice(0, at)] = pair.slice(at + 1)
}

function parseArgs(argv: string[]): Args {
  const args: Args = { server: '', against: undefined, top: 40, env: {}, againstEnv: {} }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--against') args.against = argv[++i]
    else if (a === '--top') args.top = Number(argv[++i])
    else if (a === '--against-env') setPair(args.againstEnv, argv[++i] ?? '')
    else if (a.includes('=')) setPair(args.env, a)
    else args.server = a
  }
  if (!args.server || !(args.top > 0)) {
    process.stderr.write(
      'usage: npm run bench:profile -- <server in bench/servers> [--against <server>] [--against-env KEY=VALUE]… [--top <n>] [KEY=VALUE …]\n',
    )
    process.exit(2)
  }
  return args
}

/**
 * Where V8 writes `perf-<pid>.map`: a folder of our own where V8 takes one
 * (`--perf-basic-prof-path`, V8 12 and later: Node 22+), else the system's temporary folder,
 * V8's fixed choice before that.
 */
const ownMapFolder = execFileSync(process.execPath, ['--v8-options'], {
  encoding: 'utf8',
  maxBuffer: 16 * 1024 * 1024,
}).includes('--perf-basic-prof-path')

/**
 * V8's `perf-<pid>.map`: start address, size and name of each compiled function, in the
 * order V8 wrote them. V8 reuses the addresses of code it threw away, so an address can be
 * listed several times; the last entry that covers it is the code that lived there last.
 */
function readCodeMap(
  folder: string,
  pid: number,
): Array<{ start: number; end: number; name: string }> {
  const file = join(folder, `perf-${pid}.map`)
  const entries: Array<{ start: number; end: number; name: string }> = []
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [start, size, ...name] = line.split(' ')
      if (!start || !size || name.length === 0) continue
      const s = Number.parseInt(start, 16)
      entries.push({ start: s, end: s + Number.parseInt(size, 16), name: name.join(' ') })
    }
  } finally {
    rmSync(file, { force: true })
  }
  return entries
}

function nameAt(map: ReturnType<typeof readCodeMap>, address: number): string | undefined {
  for (let i = map.length - 1; i >= 0; i--) {
    const e = map[i] as (typeof map)[number]
    if (address >= e.start && address < e.end) return e.name
  }
  return undefined
}

/** Instructions per request by function name (self cost), compiled JavaScript named. */
async function profile(server: string, env: Record<string, string>): Promise<Map<string, number>> {
  const byName = new Map<string, number>()
  const folder = mkdtempSync(join(tmpdir(), 'rampart-profile-'))
  const mapFolder = ownMapFolder ? folder : tmpdir()
  const r = await countInstructions({
    server,
    env,
    path: '/items/1',
    warmup: 20_000,
    requests: 5_000,
    // `--perf-basic-prof` also turns on V8's event log; keep it out of the working folder.
    nodeFlags: [
      '--perf-basic-prof',
      ...(ownMapFolder ? [`--perf-basic-prof-path=${folder}`] : []),
      '--no-logfile-per-isolate',
      `--logfile=${join(folder, 'v8.log')}`,
    ],
    inspect(files, pid) {
      const map = readCodeMap(mapFolder, pid)
      for (const file of files) {
        const text = execFileSync('callgrind_annotate', ['--threshold=100', file], {
          encoding: 'utf8',
          maxBuffer: 256 * 1024 * 1024,
        })
        for (const line of text.split('\n')) {
          const m = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(line)
          if (!m?.[1] || !m[2] || m[2].includes('PROGRAM TOTALS')) continue
          let name = m[2]
          const jit = /^\?\?\?:0x([0-9a-f]+) \[\?\?\?\]/.exec(name)
          if (jit?.[1]) name = nameAt(map, Number.parseInt(jit[1], 16)) ?? name
          else name = name.replace(/\s*\[[^\]]*\]$/, '').replace(/^\?\?\?:/, '')
          byName.set(name, (byName.get(name) ?? 0) + Number(m[1].replaceAll(',', '')))
        }
      }
    },
  }).finally(() => rmSync(folder, { recursive: true, force: true }))
  for (const [k, v] of byName) byName.set(k, v / Math.max(1, r.requests))
  process.stderr.write(`${server}: ${Math.round(r.perRequest)} instructions/request\n`)
  return byName
}

const args = parseArgs(process.argv.slice(2))
if (!haveCallgrind()) {
  process.stderr.write('bench:profile: valgrind is not installed (apt-get install -y valgrind)\n')
  process.exit(1)
}
const receiver = await startOtlpReceiver()
const withReceiver = (env: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, v.replaceAll('{receiver}', receiver.url)]),
  )
const main = await profile(args.server, withReceiver(args.env))
const base = args.against
  ? await profile(args.against, withReceiver({ ...args.env, ...args.againstEnv }))
  : new Map<string, number>()
await receiver.close()
const rows = [...new Set([...main.keys(), ...base.keys()])]
  .map((name) => ({ name, a: main.get(name) ?? 0, b: base.get(name) ?? 0 }))
  .sort((x, y) => Math.abs(y.a - y.b) - Math.abs(x.a - x.b))
  .slice(0, args.top)
const n = (x: number) => Math.round(x).toString().padStart(8)
process.stdout.write(
  args.against
    ? `instructions per request by function: a = ${args.server}, b = ${args.against}\n${'a - b'.padStart(8)} ${'a'.padStart(8)} ${'b'.padStart(8)}  function\n`
    : `instructions per request by function (self cost): ${args.server}\n`,
)
for (const r of rows) {
  process.stdout.write(
    args.against
      ? `${(r.a - r.b >= 0 ? '+' : '') + Math.round(r.a - r.b)}`.padStart(8) +
          ` ${n(r.a)} ${n(r.b)}  ${r.name}\n`
      : `${n(r.a)}  ${r.name}\n`,
  )
}

/**
 * Whose code the instructions ran in (self cost, summed over every function, not only the top
 * rows): Rampart's JavaScript, the framework's and other packages', Node's JavaScript, V8
 * (builtins such as property access and string work, the runtime, the compiler, the garbage
 * collector, regular expressions), and native libraries (libc, simdutf, Node's C++). A
 * function's calls into V8 count as V8's: Rampart's row is what its own code executes, the rest
 * of its cost shows in the rows it calls into.
 */
function ownerOf(name: string): string {
  if (name.includes('/packages/rampart/') || name.includes('/rampart/dist/')) return 'Rampart (JS)'
  if (name.includes('/node_modules/')) return 'packages (framework, pino, …)'
  if (name.includes('node:')) return "Node's JavaScript"
  if (
    /^(Builtins_|RegExp|v8::|heap::|cppgc::|Stub:|BytecodeHandler:)/.test(name) ||
    name.includes('v8::internal')
  )
    return 'V8 (builtins, runtime, compiler, GC, regexps)'
  return 'native (libc, simdutf, Node C++, …)'
}
const owners = new Map<string, { a: number; b: number }>()
for (const name of new Set([...main.keys(), ...base.keys()])) {
  const o = owners.get(ownerOf(name)) ?? { a: 0, b: 0 }
  o.a += main.get(name) ?? 0
  o.b += base.get(name) ?? 0
  owners.set(ownerOf(name), o)
}
process.stdout.write('\nby owner (self cost, every function):\n')
for (const [owner, o] of [...owners].sort((x, y) => y[1].a - y[1].b - (x[1].a - x[1].b)))
  process.stdout.write(
    args.against
      ? `${(o.a - o.b >= 0 ? '+' : '') + Math.round(o.a - o.b)}`.padStart(8) +
          ` ${n(o.a)} ${n(o.b)}  ${owner}\n`
      : `${n(o.a)}  ${owner}\n`,
  )
