import client from 'prom-client'
import { createMetrics } from 'rampart'
import { createRedMetrics, recordRequest } from '../packages/rampart/src/metrics/red.js'
import { runHttpSuite } from './lib/http-suite.js'

/** Render time of 10,000 series: Rampart's registry (both formats) against prom-client used directly. */
async function renderSuite(): Promise<string> {
  const series = 10_000
  const rampart = createMetrics({ defaultMetrics: false, seriesCap: series + 10 })
  const c = rampart.counter({
    name: 'bench_requests_total',
    help: 'b',
    labelNames: ['route', 'status'] as const,
  })
  const plain = new client.Registry()
  const pc = new client.Counter({
    name: 'bench_requests_total',
    help: 'b',
    labelNames: ['route', 'status'],
    registers: [plain],
  })
  // 1,000 routes × 10 statuses: 10,000 distinct label sets.
  for (let i = 0; i < series; i++) {
    const route = `/r/${i % 1000}`
    const status = 200 + Math.floor(i / 1000)
    c.inc({ route, status })
    pc.labels(route, String(status)).inc()
  }
  const rendered = (await plain.metrics()).split('\n').filter((l) => l.startsWith('bench_'))
  if (rendered.length !== series)
    throw new Error(`render bench: expected ${series} series, prom-client has ${rendered.length}`)
  const variants: Array<[string, () => Promise<unknown>]> = [
    ['prom-client text (peer)', () => plain.metrics()],
    ['rampart text 0.0.4', () => rampart.render(false)],
    ['rampart OpenMetrics', () => rampart.render(true)],
  ]
  const times = new Map<string, number[]>(variants.map(([n]) => [n, []]))
  for (let round = 0; round < 30; round++) {
    for (let i = 0; i < variants.length; i++) {
      const [name, fn] = variants[(i + round) % variants.length] as [string, () => Promise<unknown>]
      const t0 = performance.now()
      await fn()
      ;(times.get(name) as number[]).push(performance.now() - t0)
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
  const base = median(times.get('prom-client text (peer)') as number[])
  const rows = [...times].map(
    ([n, t]) => `| ${n} | ${median(t).toFixed(2)} | ${(median(t) / base).toFixed(2)}× |`,
  )
  return [
    '### Metrics: rendering 10,000 series',
    '',
    '30 interleaved rounds in one process; median time per render.',
    '',
    '| variant | ms per render | vs prom-client |',
    '|---|---:|---:|',
    ...rows,
    '',
  ].join('\n')
}

/** CPU per request of what the RED metrics record (label object, counter, histogram). */
function recordSuite(): string {
  const red = createRedMetrics(createMetrics({ defaultMetrics: false }))
  const calls = 2_000_000
  const perCall: number[] = []
  for (let round = 0; round < 5; round++) {
    const t0 = process.cpuUsage()
    for (let i = 0; i < calls; i++)
      recordRequest(red, 'GET', '/items/:id', 200, 0.0012 + (i & 7) * 0.001, undefined)
    const t = process.cpuUsage(t0)
    perCall.push(((t.user + t.system) * 1000) / calls)
  }
  const sorted = perCall.sort((a, b) => a - b)
  return [
    '### Metrics: recording one request',
    '',
    `\`recordRequest\` (what the metrics observer does per answered request), ${calls.toLocaleString('en')} calls × 5 rounds in one process, CPU time per call: median ${Math.round(sorted[2] ?? 0)} ns (min ${Math.round(sorted[0] ?? 0)}, max ${Math.round(sorted[4] ?? 0)}).`,
    '',
  ].join('\n')
}

export default async () => {
  const render = `${await renderSuite()}\n${recordSuite()}`
  const http = await runHttpSuite({
    name: 'Metrics: request throughput',
    description:
      'Bare Fastify vs Fastify + Rampart (all defaults) vs Rampart’s logging pillar alone and with the RED metrics added (their difference is what metrics cost) vs Fastify + fastify-metrics (the peer, metrics only).',
    baseline: 'fastify bare',
    variants: [
      { name: 'fastify bare', server: 'fastify-bare.ts' },
      {
        name: 'fastify + rampart',
        server: 'fastify-rampart.ts',
        env: { SECRET_KEY: 'b'.repeat(40) },
      },
      {
        name: 'fastify + rampart logging only',
        server: 'fastify-rampart-pillars.ts',
        env: { SECRET_KEY: 'b'.repeat(40) },
      },
      {
        name: 'fastify + rampart logging + metrics',
        server: 'fastify-rampart-pillars.ts',
        env: { SECRET_KEY: 'b'.repeat(40), BENCH_PILLARS: 'metrics' },
      },
      { name: 'fastify + fastify-metrics (peer)', server: 'fastify-metrics-peer.ts' },
    ],
    request: { path: '/items/1' },
  })
  return { markdown: `${render}\n${http.markdown}` }
}
