import { runHttpSuite } from './lib/http-suite.js'

/**
 * The product bar: Fastify with Rampart's defaults (tracing off) against bare Fastify and the
 * usual hand-stitched peer stack, on the simple JSON route.
 */
export default () =>
  runHttpSuite({
    name: 'Rampart defaults vs bare Fastify and the peer stack',
    description:
      'Bare Fastify; Fastify + `app.register(rampart)` with its defaults and tracing off (request id, async context, one JSON access line per request to a file, RED metrics, security headers, CSRF check on unsafe methods, body limits, in-memory rate limiting with a limit no run reaches); the peer stack: Fastify’s pino request logging to a file + fastify-metrics + @fastify/rate-limit (same unreachable limit) + @fastify/helmet + @fastify/csrf-protection.',
    baseline: 'fastify bare',
    variants: [
      { name: 'fastify bare', server: 'fastify-bare.ts' },
      {
        name: 'fastify + rampart defaults',
        server: 'fastify-rampart.ts',
        // The route is rate limited (policy `read`) with a limit no run reaches, like the peer's
        // (BENCH_LIMIT_PER_MINUTE in servers/routes.ts).
        env: { SECRET_KEY: 'b'.repeat(40), BENCH_RATE_LIMIT: 'read' },
      },
      { name: 'fastify + peer stack', server: 'fastify-peer-stack.ts' },
    ],
    request: { path: '/items/1' },
  })
