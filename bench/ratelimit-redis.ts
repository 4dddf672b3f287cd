import { type ChildProcess, spawn } from 'node:child_process'
import { Redis } from 'ioredis'
import { freePort } from '../packages/rampart/test/support/free-port.js'
import { runHttpSuite } from './lib/http-suite.js'

// Rate limiting (issue 6), Redis stores: request throughput with limiting on, and the number of
// Redis round trips per request, which must be exactly 1 (the bench fails otherwise). Uses a
// redis-server of its own (REDIS_SERVER_BIN, default redis-server) on a spare port.

function startRedis(port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server'
    const child = spawn(bin, ['--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      if (out.includes('Ready to accept connections')) resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)))
  })
}

/** Sends `n` requests to a server using Rampart's Redis limiter and counts client commands. */
async function roundTrips(
  url: string,
  n: number,
): Promise<{ requests: number; commands: string[] }> {
  process.env.BENCH_STORE = url
  process.env.SECRET_KEY ??= 'b'.repeat(40)
  const { default: build } = await import('./servers/ratelimit-rampart-only.js')
  const app = await build()
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  await fetch(`http://127.0.0.1:${port}/items/0`).then((r) => r.arrayBuffer()) // loads the script
  const admin = new Redis(url)
  const monitor = await admin.monitor()
  const seen: Array<{ command: string; source: string }> = []
  monitor.on('monitor', (_t: string, args: string[], source: string) => {
    if (source !== 'lua') seen.push({ command: String(args[0]).toLowerCase(), source })
  })
  await new Promise((r) => setTimeout(r, 200))
  let ok = 0
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: 10 }, () => fetch(`http://127.0.0.1:${port}/items/1`)),
    )
    for (const r of batch) {
      if (r.status === 200) ok++
      await r.arrayBuffer()
    }
  }
  await new Promise((r) => setTimeout(r, 300))
  // Stop listening before closing the app, whose QUIT goes over the same connection.
  monitor.removeAllListeners('monitor')
  monitor.disconnect()
  admin.disconnect()
  await app.close()
  // The app's connection is the one that sent the EVALSHAs; count everything it sent.
  const sources = new Set(seen.filter((c) => c.command === 'evalsha').map((c) => c.source))
  if (sources.size !== 1)
    throw new Error(`expected one client connection, saw ${[...sources].join(', ')}`)
  const commands = seen.filter((c) => sources.has(c.source)).map((c) => c.command)
  return { requests: ok, commands }
}

export default async function run(): Promise<{ markdown: string }> {
  const port = await freePort()
  const redis = await startRedis(port)
  const url = `redis://127.0.0.1:${port}`
  try {
    const env = {
      BENCH_STORE: url,
      SECRET_KEY: 'b'.repeat(40),
    }
    const { markdown } = await runHttpSuite({
      name: 'Rate limiting (Redis store): Rampart vs @fastify/rate-limit vs rate-limiter-flexible',
      description:
        'Bare Fastify; Fastify with only Rampart’s limiter on Redis (exact sliding-window log, one Lua script, one round trip); with @fastify/rate-limit on Redis (fixed window); with rate-limiter-flexible’s RateLimiterRedis (fixed window). One redis-server of the bench’s own on the same machine; one client IP, one key, every request passes.',
      baseline: 'fastify bare',
      variants: [
        { name: 'fastify bare', server: 'fastify-bare.ts' },
        { name: 'rampart limiter, redis', server: 'ratelimit-rampart-only.ts', env },
        {
          name: '@fastify/rate-limit, redis (peer)',
          server: 'ratelimit-fastify-rate-limit.ts',
          env,
        },
        { name: 'rate-limiter-flexible, redis (peer)', server: 'ratelimit-flexible.ts', env },
      ],
      request: { path: '/items/1' },
      rounds: 3,
    })
    const n = 1000
    const rt = await roundTrips(url, n)
    const evalsha = rt.commands.filter((c) => c === 'evalsha').length
    if (rt.requests !== n || rt.commands.length !== n || evalsha !== n)
      throw new Error(
        `expected ${n} requests to make ${n} EVALSHA round trips; got ${rt.requests} ok requests and ${rt.commands.length} commands (${evalsha} EVALSHA; others: ${rt.commands.filter((c) => c !== 'evalsha').join(', ')})`,
      )
    return {
      markdown: `${markdown}\nRedis round trips per request (MONITOR, ${n} requests after the script was loaded): **${(rt.commands.length / rt.requests).toFixed(2)}** — ${evalsha} × EVALSHA, nothing else.\n`,
    }
  } finally {
    redis.kill('SIGKILL')
  }
}
