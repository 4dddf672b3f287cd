import { RateLimiterMemory } from 'rate-limiter-flexible'
import { MemoryStore } from '../packages/rampart/src/ratelimit/index.js'

/**
 * Rate limiting (issue 6): decisions per second of Rampart's memory store (exact sliding-window
 * log) against rate-limiter-flexible's RateLimiterMemory (fixed window), in one process,
 * interleaved rounds. Three workloads: one hot key that always passes, 100,000 rotating keys,
 * and one key that is over its limit (every decision a block).
 */
type Decide = (key: string) => unknown
interface Contender {
  name: string
  make(limit: number): Decide
}

const contenders: Contender[] = [
  {
    name: 'rampart MemoryStore',
    make(limit) {
      const store = new MemoryStore()
      const spec = { limit, windowMs: 60_000 }
      return (key) => store.increment(key, spec)
    },
  },
  {
    name: 'rate-limiter-flexible RateLimiterMemory',
    make(limit) {
      const rl = new RateLimiterMemory({ points: limit, duration: 60 })
      return (key) => rl.consume(key).catch(() => undefined)
    },
  },
]

const workloads = [
  { name: 'one hot key, passing', limit: 1e9, key: (_i: number) => 'hot' },
  { name: '10,000 rotating keys', limit: 300, key: (i: number) => `k${i % 10_000}` },
  { name: 'a new key every time', limit: 300, key: (i: number) => `n${i}` },
  { name: 'one key over its limit', limit: 10, key: (_i: number) => 'blocked' },
]

async function measure(decide: Decide, key: (i: number) => string, ms: number): Promise<number> {
  let i = 0
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    // Await in batches so promise-returning contenders are not flattered or punished.
    const batch: unknown[] = []
    for (let j = 0; j < 1000; j++) batch.push(decide(key(i++)))
    await Promise.all(batch)
    now = performance.now()
  }
  return (i / (now - start)) * 1000
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

export default async function run(): Promise<{ markdown: string }> {
  const rounds = 5
  const rows: string[] = []
  for (const w of workloads) {
    const results = new Map<string, number[]>(contenders.map((c) => [c.name, []]))
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < contenders.length; k++) {
        const c = contenders[(k + round) % contenders.length] as Contender
        const rate = await measure(c.make(w.limit), w.key, 1000)
        results.get(c.name)?.push(rate)
        process.stderr.write(`  ${w.name.padEnd(24)} ${c.name.padEnd(40)} ${Math.round(rate)} /s\n`)
      }
    }
    const base = median(results.get('rate-limiter-flexible RateLimiterMemory') ?? [])
    for (const c of contenders) {
      const m = median(results.get(c.name) ?? [])
      rows.push(
        `| ${w.name} | ${c.name} | ${Math.round(m).toLocaleString('en')} | ${(m / base).toFixed(2)}× |`,
      )
    }
  }
  const markdown = [
    '### Rate limiting: memory-store decisions per second',
    '',
    `In-process, ${rounds} interleaved rounds of 1 s per contender and workload; median. Rampart's store is exact (sliding-window log); rate-limiter-flexible's is a fixed window.`,
    '',
    '| workload | store | decisions/s | vs rate-limiter-flexible |',
    '|---|---|---:|---:|',
    ...rows,
    '',
  ].join('\n')
  return { markdown }
}
