import { runHttpSuite } from './lib/http-suite.js'

// Every variant gets a limit no benchmark run reaches (BENCH_LIMIT_PER_MINUTE in
// servers/routes.ts), so every request is decided and passes: this measures what deciding costs,
// not what answering 429 costs.
const HIGH = { SECRET_KEY: 'b'.repeat(40) }

/** Rate limiting (issue 6): request throughput with limiting on, memory stores. */
export default () =>
  runHttpSuite({
    name: 'Rate limiting (memory store): Rampart vs @fastify/rate-limit vs rate-limiter-flexible',
    description:
      'Bare Fastify; Fastify with only Rampart’s limiter (exact sliding-window log, `RateLimit-Policy`/`RateLimit` headers); with @fastify/rate-limit (fixed window, its headers); with rate-limiter-flexible’s RateLimiterMemory in an onRequest hook (fixed window, same headers as Rampart); and the whole Rampart plugin (context, access log, limiter). One client IP, one key, every request passes.',
    baseline: 'fastify bare',
    variants: [
      { name: 'fastify bare', server: 'fastify-bare.ts' },
      { name: 'rampart limiter', server: 'ratelimit-rampart-only.ts', env: HIGH },
      { name: '@fastify/rate-limit (peer)', server: 'ratelimit-fastify-rate-limit.ts', env: HIGH },
      { name: 'rate-limiter-flexible (peer)', server: 'ratelimit-flexible.ts', env: HIGH },
      {
        name: 'rampart plugin, limit on',
        server: 'fastify-rampart.ts',
        env: { ...HIGH, BENCH_RATE_LIMIT: 'read' },
      },
    ],
    request: { path: '/items/1' },
    rounds: 3,
  })
