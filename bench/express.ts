import { runHttpSuite } from './lib/http-suite.js'

/**
 * The Express bar (issue 19): Express 5 with Rampart's defaults (tracing off) against bare
 * Express 5, on the same simple JSON route as the Fastify suites. Instruction counts of the
 * same two servers: `npm run bench -- express-instructions`.
 */
export default () =>
  runHttpSuite({
    name: 'Rampart defaults vs bare Express',
    description:
      "Bare Express 5 (`x-powered-by` off); Express 5 + `rampart(app)` with its defaults and tracing off (request id, async context, one JSON access line per request to a file, RED metrics, security headers, CSRF check on unsafe methods, body limits, in-memory rate limiting with a limit no run reaches: the route is `rp.route({ rateLimit: 'read' })`); the peer stack a team stitches by hand for the same: pino-http (request id, access log to a file), prom-client RED middleware by route template, helmet, `express.json`/`express.urlencoded` with a 1 MB limit, cookie-parser + csrf-csrf (double submit, unsafe methods only), express-rate-limit on the route with the same limit, a JSON error handler.",
    baseline: 'express bare',
    variants: [
      { name: 'express bare', server: 'express-bare.ts' },
      {
        name: 'express + rampart defaults',
        server: 'express-rampart.ts',
        env: { SECRET_KEY: 'b'.repeat(40), BENCH_RATE_LIMIT: 'read' },
      },
      { name: 'express peer stack', server: 'express-peer-stack.ts' },
    ],
    request: { path: '/items/1' },
  })
