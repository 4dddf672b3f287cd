import { parseArgs } from 'node:util'
import { RampartError } from '../../errors/rampart-error.js'
import { runChecks } from '../../ops/smoke-check.js'
import { usageErrors } from '../args.js'
import type { Command } from '../command.js'

const command: Command = {
  name: 'check',
  summary: 'Post-deploy smoke test of a running service',
  usage: `Usage: rampart check <base-url> [--metrics-token <token>] [--session-cookie <name>] [--csrf-path <path>] [--expect-error-route [path]] [--timeout <ms>]

Checks a running service and prints one line per check (passed or failed, and why):
GET /healthz, GET /readyz, the /metrics gate, 404 as problem+json and as HTML, security
headers, and that a cross-site form POST carrying the session cookie is refused (403).

Options:
  --metrics-token <token>   the service's METRICS_TOKEN (then /metrics must refuse requests without it)
  --session-cookie <name>   the session cookie the CSRF check guards (default: session)
  --csrf-path <path>        a path that takes POST, for the CSRF check (default: /login)
  --expect-error-route[=<path>]
                            also GET a route that throws on purpose (default /debug/error): it must
                            answer 500 as problem+json and count one error report (SENTRY_DSN set)
  --timeout <ms>            per request (default: 5000)
  -h, --help                this help

Exit codes: 0 every check passed, 1 a check failed, 2 bad arguments.`,
  async run(argv, io) {
    const { values, positionals } = usageErrors(() =>
      parseArgs({
        args: withErrorRouteDefault(argv),
        options: {
          'metrics-token': { type: 'string' },
          'session-cookie': { type: 'string' },
          'csrf-path': { type: 'string' },
          'expect-error-route': { type: 'string' },
          timeout: { type: 'string' },
        },
        allowPositionals: true,
      }),
    )
    const [base, ...extra] = positionals
    if (base === undefined || extra.length > 0)
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        'expected exactly one <base-url>, e.g. rampart check http://127.0.0.1:3000',
      )
    if (!/^https?:\/\/[^/\s]+/.test(base))
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `<base-url> must be an http:// or https:// URL, got "${base}"`,
      )
    const timeoutMs = values.timeout === undefined ? 5000 : Number(values.timeout)
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `--timeout must be a positive whole number of ms, got "${values.timeout}"`,
      )
    const errorRoute = values['expect-error-route']
    if (errorRoute !== undefined && !errorRoute.startsWith('/'))
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `--expect-error-route takes a path such as ${DEFAULT_ERROR_ROUTE}, got "${errorRoute}"`,
      )
    const results = await runChecks(base, {
      ...(values['metrics-token'] !== undefined ? { metricsToken: values['metrics-token'] } : {}),
      ...(values['session-cookie'] !== undefined
        ? { sessionCookie: values['session-cookie'] }
        : {}),
      ...(values['csrf-path'] !== undefined ? { csrfPath: values['csrf-path'] } : {}),
      ...(errorRoute === undefined ? {} : { expectErrorRoute: errorRoute }),
      timeoutMs,
      onResult: (r) => io.stdout.write(`${r.ok ? 'passed' : 'FAILED'}  ${r.name}: ${r.detail}\n`),
    })
    const failed = results.filter((r) => !r.ok)
    io.stdout.write(
      failed.length === 0
        ? `all ${results.length} checks passed\n`
        : `${failed.length} of ${results.length} checks failed: ${failed.map((r) => r.name).join('; ')}\n`,
    )
    return failed.length === 0 ? 0 : 1
  },
}
/** The route `--expect-error-route` probes when given no path. */
const DEFAULT_ERROR_ROUTE = '/debug/error'

/**
 * parseArgs has no option with an optional value: a bare `--expect-error-route` (last, or
 * followed by anything but a path) is rewritten to carry the default path.
 */
function withErrorRouteDefault(argv: readonly string[]): string[] {
  return argv.map((a, i) =>
    a === '--expect-error-route' && !(argv[i + 1] ?? '').startsWith('/')
      ? `--expect-error-route=${DEFAULT_ERROR_ROUTE}`
      : a,
  )
}

export default command
