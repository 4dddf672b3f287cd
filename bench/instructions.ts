import { startOtlpReceiver } from '../packages/rampart/test/support/otlp-receiver.js'
import {
  countVariants,
  haveCallgrind,
  runsInThousands,
  type Variant,
  type VariantCounts,
} from './lib/instruction-count.js'
import { BENCH_LIMIT_PER_MINUTE } from './servers/routes.js'

/**
 * Every variant of the defaults, logging and tracing suites measured in CPU instructions per
 * request (`valgrind --tool=callgrind`), which other load on the machine does not change: the
 * ratios to bare Fastify are repeatable where req/s and CPU time on a shared machine are not.
 * Each variant runs `BENCH_ROUNDS` times (default 2), one at a time, and the lowest count is
 * kept.
 */
export default async () => {
  if (!haveCallgrind()) {
    const markdown =
      '### Instructions per request\n\nskipped: valgrind is not installed (apt-get install -y valgrind)\n'
    process.stderr.write(`${markdown}\n`)
    return { markdown }
  }
  const receiver = await startOtlpReceiver()
  const secret = { SECRET_KEY: 'b'.repeat(40) }
  // The batch processor's default 5 s delay: under valgrind the server is ~50× slower, and a
  // short delay would export many small batches instead of the full ones a real run sends.
  const otel = {
    ...secret,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '5000',
  }
  const variants: Variant[] = [
    { name: 'fastify bare', server: 'fastify-bare.ts' },
    { name: 'fastify + rampart logging only', server: 'fastify-rampart-pillars.ts', env: secret },
    { name: 'fastify + pino logger (peer)', server: 'fastify-pino.ts' },
    { name: 'fastify + rampart defaults', server: 'fastify-rampart.ts', env: secret },
    {
      name: 'fastify + rampart defaults, route rate limited',
      server: 'fastify-rampart.ts',
      env: { ...secret, BENCH_RATE_LIMIT: 'read' },
    },
    { name: 'fastify + peer stack', server: 'fastify-peer-stack.ts' },
    {
      name: 'fastify + rampart (tracing on)',
      server: 'fastify-rampart-tracing.ts',
      env: { ...otel, OTEL_SERVICE_NAME: 'rampart-tracing' },
    },
    {
      name: 'fastify + @opentelemetry/sdk-node (peer)',
      server: 'fastify-otel-peer.ts',
      env: {
        ...otel,
        OTEL_TRACES_SAMPLER: 'always_on',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
      },
    },
  ]
  // BENCH_VARIANTS=bare,tracing measures only the variants whose names contain one of the words.
  const only = process.env.BENCH_VARIANTS?.split(',').filter(Boolean)
  if (only?.length)
    variants.splice(0, Infinity, ...variants.filter((v) => only.some((w) => v.name.includes(w))))
  const rounds = Number(process.env.BENCH_ROUNDS ?? 0) || 2
  const warmup = 20_000
  const requests = 5_000
  let results: VariantCounts[]
  try {
    results = await countVariants(variants, { rounds, warmup, requests })
  } finally {
    await receiver.close()
  }
  const base = Math.min(...(results[0]?.counts ?? [1]))
  const rows = results.map((r) => {
    const best = Math.min(...r.counts)
    return `| ${r.name} | ${(best / 1000).toFixed(1)}k | ${((base / best) * 100).toFixed(1)} % | ${runsInThousands(r.counts)} | ${r.non2xx} | ${r.errors} |`
  })
  const markdown = [
    '### Instructions per request (callgrind)',
    '',
    `Node ${process.version}; each server alone under \`valgrind --tool=callgrind\` with V8's \`--predictable\`, ${warmup.toLocaleString('en')} requests of warm-up, then ${requests.toLocaleString('en')} counted (\`GET /items/1\`, 10 connections), ${rounds} runs per variant, lowest kept. "Share of bare" is bare Fastify's count divided by the variant's: the throughput the variant would keep if instructions were all a request cost. Kernel time (the socket read and write every variant makes) is not counted, so these shares are lower than CPU-time shares. Rate limits as in the other suites (${BENCH_LIMIT_PER_MINUTE.toLocaleString('en')}/min, never reached).`,
    '',
    '| variant | instructions/request | share of bare | runs (k) | non-2xx | errors |',
    '|---|---:|---:|---|---:|---:|',
    ...rows,
    '',
  ].join('\n')
  return { markdown }
}
