import {
  countVariants,
  haveCallgrind,
  runsInThousands,
  type Variant,
} from './lib/instruction-count.js'

/**
 * Bare Express 5 against Express 5 + Rampart's defaults (route rate limited), and against the
 * peer stack a team stitches by hand for the same (pino-http, prom-client middleware, helmet,
 * express-rate-limit, csrf-csrf), in CPU instructions per request under callgrind, as
 * `instructions` does for Fastify. The bar (issue 19): Rampart's defaults keep at least 85 % of
 * bare Express.
 */
export default async () => {
  if (!haveCallgrind()) {
    const markdown =
      '### Express: instructions per request\n\nskipped: valgrind is not installed (apt-get install -y valgrind)\n'
    process.stderr.write(`${markdown}\n`)
    return { markdown }
  }
  const variants: Variant[] = [
    { name: 'express bare', server: 'express-bare.ts', env: {} },
    {
      name: 'express + rampart defaults, route rate limited',
      server: 'express-rampart.ts',
      env: { SECRET_KEY: 'b'.repeat(40), BENCH_RATE_LIMIT: 'read' },
    },
    {
      name: 'express peer stack, route rate limited',
      server: 'express-peer-stack.ts',
      env: {},
    },
  ]
  const rounds = Number(process.env.BENCH_ROUNDS ?? 0) || 2
  const warmup = 20_000
  const requests = 5_000
  const results = await countVariants(variants, { rounds, warmup, requests })
  const base = Math.min(...(results[0]?.counts ?? [1]))
  const markdown = [
    '### Express: instructions per request (callgrind)',
    '',
    `Node ${process.version}; as \`instructions\` (${warmup.toLocaleString('en')} warm-up requests, ${requests.toLocaleString('en')} counted, \`GET /items/1\`, ${rounds} runs, lowest kept). "Share of bare" is bare Express's count divided by the variant's.`,
    '',
    '| variant | instructions/request | share of bare | runs (k) | non-2xx | errors |',
    '|---|---:|---:|---|---:|---:|',
    ...results.map((r) => {
      const best = Math.min(...r.counts)
      return `| ${r.name} | ${(best / 1000).toFixed(1)}k | ${((base / best) * 100).toFixed(1)} % | ${runsInThousands(r.counts)} | ${r.non2xx} | ${r.errors} |`
    }),
    '',
  ].join('\n')
  return { markdown }
}
