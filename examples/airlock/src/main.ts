import { join } from 'node:path'
import { isRampartError } from 'rampart'
import { buildApp } from './app.js'
import { DEMO_PASSWORD } from './domain/users.js'

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'

/** What a new user needs on screen: where to go and how to sign in. */
function banner(
  url: string,
  demoUsers: boolean,
  tracing: boolean,
  console: boolean,
  database: string,
  scans: string,
): string {
  const lines = [
    '',
    `  airlock is running on ${url}`,
    `  database: ${database}`,
    `  output checks: ${scans}`,
  ]
  if (demoUsers)
    lines.push(
      '',
      `  demo logins (password "${DEMO_PASSWORD}"):`,
      '    researcher   creates, uploads and submits requests',
      '    checker      approves or rejects them',
      '    admin        manages users',
    )
  lines.push('', `  metrics:      ${url}/metrics`)
  if (console) lines.push(`  ops console:  ${url}/_rampart`)
  lines.push(
    `  tracing:      ${tracing ? 'on' : 'off (set OTEL_EXPORTER_OTLP_ENDPOINT to turn it on)'}`,
  )
  lines.push('')
  return `${lines.join('\n')}\n`
}

try {
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`PORT: got "${process.env.PORT}"; expected a port number 0-65535`)
  // `npm start` runs in examples/airlock; keep ./data where the user typed it (the repository
  // root), where `npx rampart audit verify` and `rampart backup` look for it too.
  const initCwd = process.env.INIT_CWD
  const app = await buildApp(
    process.env.DATA_DIR || !initCwd ? {} : { dataDir: join(initCwd, 'data') },
  )
  await app.listen({ port, host })
  const address = app.server.address()
  const actualPort = typeof address === 'object' && address ? address.port : port
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`
  const { config, logger } = app.rampart
  logger.info({ event: 'service.started', url }, `airlock listening on ${url}`)
  const demo = config.nodeEnv === 'development'
  if (process.stdout.isTTY || config.logFormat === 'pretty')
    process.stdout.write(
      banner(
        url,
        demo,
        config.tracing.enabled,
        config.console.enabled,
        app.airlock.databaseUrl,
        app.airlock.scans,
      ),
    )
  else
    logger.info({
      event: 'service.ready',
      url,
      tracing: config.tracing.enabled,
      console: config.console.enabled ? `${url}/_rampart` : null,
      demo_users: demo ? ['researcher', 'checker', 'admin'] : [],
    })
  // SIGINT/SIGTERM: Rampart drains in-flight requests, closes stores, flushes logs and exits.
} catch (err) {
  // Configuration errors are one line that names the variable; nothing else to show.
  if (isRampartError(err)) process.stderr.write(`airlock: ${err.message}\n`)
  else
    process.stderr.write(
      `airlock: failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
    )
  process.exit(1)
}
