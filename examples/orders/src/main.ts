import { isRampartError } from 'rampart'
import { buildApp } from './app.js'

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'

try {
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`PORT: got "${process.env.PORT}"; expected a port number 0-65535`)
  const { rp } = await buildApp()
  // After the routes: the 404 and error handlers, server timeouts, graceful shutdown on
  // SIGTERM/SIGINT (in-flight requests drain, the audit log and logs are flushed, then exit).
  const server = await rp.listen({ port, host })
  const address = server.address()
  const actualPort = typeof address === 'object' && address ? address.port : port
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`
  rp.core.logger.info({ event: 'service.started', url }, `orders listening on ${url}`)
} catch (err) {
  // Configuration errors are one line that names the variable; nothing else to show.
  if (isRampartError(err)) process.stderr.write(`orders: ${err.message}\n`)
  else
    process.stderr.write(
      `orders: failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
    )
  process.exit(1)
}
