import { runHttpSuite } from './lib/http-suite.js'

/** Foundation (issue 2): what Rampart's request context + access log cost against bare Fastify. */
export default () =>
  runHttpSuite({
    name: 'Logging: Fastify + Rampart vs bare Fastify',
    description:
      'Bare Fastify (no logging) vs Fastify with Rampart (request id, async context, one redacted JSON access line per request to a file) vs Fastify’s own pino request logging to a file (two lines per request).',
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
      { name: 'fastify + pino logger (peer)', server: 'fastify-pino.ts' },
    ],
    request: { path: '/items/1' },
  })
