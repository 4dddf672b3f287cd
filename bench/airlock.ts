import { runHttpSuite } from './lib/http-suite.js'
import { BENCH_REQUEST_ID, BENCH_TOKEN } from './servers/airlock-fixture.js'

/** airlock (issue 8): GET /api/v1/requests/:id with everything on, against the same handler on bare Fastify. */
export default () =>
  runHttpSuite({
    name: 'airlock: GET /api/v1/requests/:id, everything on vs the same handler on bare Fastify',
    description:
      'Both read one request (bearer-token lookup, request, owner and files) from SQLite. airlock runs with every Rampart capability that has landed (request context, JSON access log to a file, metrics, security, rate limiting with the read policy raised so the load is not refused) and its session/CSRF hooks.',
    baseline: 'bare fastify, same handler',
    variants: [
      { name: 'bare fastify, same handler', server: 'airlock-bare.ts' },
      {
        name: 'airlock, everything on',
        server: 'airlock.ts',
        env: { SECRET_KEY: 'b'.repeat(40), RATE_LIMIT_READ_PER_MINUTE: '1000000' },
      },
    ],
    request: {
      path: `/api/v1/requests/${BENCH_REQUEST_ID}`,
      headers: { authorization: `Bearer ${BENCH_TOKEN}` },
    },
  })
