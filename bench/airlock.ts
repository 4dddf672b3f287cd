import { startOtlpReceiver } from '../packages/rampart/test/support/otlp-receiver.js'
import { runHttpSuite } from './lib/http-suite.js'
import { BENCH_REQUEST_ID, BENCH_TOKEN } from './servers/airlock-fixture.js'

/**
 * airlock (issue 8): GET /api/v1/requests/:id with everything on (tracing too, exported to a
 * local OTLP receiver), against the same handler on bare Fastify.
 */
export default async () => {
  const receiver = await startOtlpReceiver()
  const env = { SECRET_KEY: 'b'.repeat(40), RATE_LIMIT_READ_PER_MINUTE: '1000000' }
  try {
    const suite = await runHttpSuite({
      name: 'airlock: GET /api/v1/requests/:id, everything on vs the same handler on bare Fastify',
      description:
        'Both read one request (bearer-token lookup, request, owner and files) from SQLite. airlock runs with every Rampart capability (request context, JSON access log to a file, metrics, security headers, error pages, CSRF, rate limiting with the read policy raised so the load is not refused, audit) and its session hooks; once with tracing off (the default) and once with tracing on (100 % sampled, batch-exported over OTLP/HTTP to a receiver in the bench process).',
      baseline: 'bare fastify, same handler',
      variants: [
        { name: 'bare fastify, same handler', server: 'airlock-bare.ts' },
        { name: 'airlock, everything on, tracing off', server: 'airlock.ts', env },
        {
          name: 'airlock, everything on, tracing on',
          server: 'airlock.ts',
          env: {
            ...env,
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            OTEL_BSP_SCHEDULE_DELAY: '200',
          },
        },
      ],
      request: {
        path: `/api/v1/requests/${BENCH_REQUEST_ID}`,
        headers: { authorization: `Bearer ${BENCH_TOKEN}` },
      },
    })
    // Tracing really was on: every request the traced variant served reached the receiver.
    const traced = suite.results.find((r) => r.name === 'airlock, everything on, tracing on')
    const served = traced?.served ?? 0
    await receiver.waitFor((spans) => spans.length >= served, 10_000).catch(() => undefined)
    const line = `Spans received from the tracing-on variant: ${receiver.spans.length} for ${served} requests the load generator counted (its warm-up included; the harness's own probes add a few).`
    return { markdown: `${suite.markdown}\n${line}\n` }
  } finally {
    await receiver.close()
  }
}
