import { startSentryReceiver } from '../packages/rampart/test/support/sentry-receiver.js'
import { runHttpSuite } from './lib/http-suite.js'

/**
 * Error tracking (issue 20): what a failing request costs with Sentry off, with Sentry on and its
 * endpoint answering, and with the endpoint hung (answers after 10 s). Every request fails (500)
 * and so is reported: the worst case. Run it at a fixed rate (`BENCH_RATE=500`) and compare p99:
 * a hung endpoint must not make requests wait. After the rounds it reads each server's
 * `rampart_error_reports_total` and `rampart_error_reports_dropped_total`.
 */
export default async () => {
  const up = await startSentryReceiver()
  const hung = await startSentryReceiver()
  hung.delayMs = 10_000
  const secret = { SECRET_KEY: 'e'.repeat(40) }
  const counts = new Map<string, { reports: number; dropped: string }>()
  try {
    const { markdown } = await runHttpSuite({
      name: 'Error tracking: a failing route with Sentry off, on, and with its endpoint hung',
      description:
        'Fastify + Rampart defaults, `GET /fail/:id` throws (500, one report per request). Sentry off (no `SENTRY_DSN`); Sentry on, sending to a local envelope receiver; Sentry on with the receiver holding every envelope 10 s (a hung endpoint: 30 sends in flight, the rest dropped and counted).',
      baseline: 'rampart, Sentry off',
      variants: [
        { name: 'rampart, Sentry off', server: 'fastify-rampart-errors.ts', env: secret },
        {
          name: 'rampart, Sentry on',
          server: 'fastify-rampart-errors.ts',
          env: { ...secret, SENTRY_DSN: up.dsn },
        },
        {
          name: 'rampart, Sentry on, endpoint hung',
          server: 'fastify-rampart-errors.ts',
          env: { ...secret, SENTRY_DSN: hung.dsn },
        },
      ],
      request: { path: '/fail/1' },
      async beforeStop(variant, port) {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
        const reports = Number(/^rampart_error_reports_total (\d+)/m.exec(text)?.[1] ?? 0)
        const dropped = [
          ...text.matchAll(/^rampart_error_reports_dropped_total\{reason="(\w+)"\} (\d+)/gm),
        ]
          .filter((m) => m[2] !== '0')
          .map((m) => `${m[1]} ${m[2]}`)
          .join(', ')
        counts.set(variant.name, { reports, dropped: dropped || 'none' })
      },
    })
    const rows = [...counts].map(([name, c]) => `| ${name} | ${c.reports} | ${c.dropped} |`)
    const table = [
      '',
      '| variant | reports handed to Sentry | dropped (reason count) |',
      '|---|---:|---|',
      ...rows,
      `| (receivers) | ${up.events().length} events received (endpoint up), ${hung.events().length} (hung) | |`,
      '',
    ].join('\n')
    return { markdown: `${markdown}${table}` }
  } finally {
    await up.close()
    await hung.close()
  }
}
