// The Express 5 peer stack: what a team stitches by hand to get what Rampart's defaults give
// (request id + access log, RED metrics by route template, security headers, rate limiting,
// CSRF on unsafe methods, a JSON error handler), on the same route as express-bare.ts.
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import cookieParser from 'cookie-parser'
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express'
import { rateLimit } from 'express-rate-limit'
import helmet from 'helmet'
import { pinoHttp } from 'pino-http'
import { Counter, collectDefaultMetrics, Histogram, register } from 'prom-client'
import { BENCH_LIMIT_PER_MINUTE, benchLogDestination } from './routes.js'

// csrf-csrf is loaded untyped: its types declare `req.csrfToken` globally with a signature of
// their own, which would clash with Rampart's `req.csrfToken(sessionId?)` in the one program
// `tsc -p tsconfig.json` checks (bench and packages together).
const { doubleCsrf } = createRequire(import.meta.url)('csrf-csrf') as {
  doubleCsrf(options: {
    getSecret: () => string
    getSessionIdentifier: (req: Request) => string
  }): { doubleCsrfProtection: RequestHandler }
}

export default async function build() {
  const app = express()
  app.disable('x-powered-by')

  // Request id (the caller's, else a new one, echoed back) and one JSON access line per request.
  app.use(
    pinoHttp(
      {
        genReqId(req, res) {
          const incoming = req.headers['x-request-id']
          const id = typeof incoming === 'string' && incoming !== '' ? incoming : randomUUID()
          res.setHeader('x-request-id', id)
          return id
        },
      },
      benchLogDestination('express-peer'),
    ),
  )

  // RED metrics by route template, the way people write it with prom-client directly.
  collectDefaultMetrics()
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests',
    labelNames: ['method', 'route', 'status_code'],
  })
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  })
  app.use((req, res, next) => {
    const end = duration.startTimer()
    res.on('finish', () => {
      const labels = {
        method: req.method,
        route: req.route?.path ? req.baseUrl + String(req.route.path) : 'unmatched',
        status_code: String(res.statusCode),
      }
      requests.inc(labels)
      end(labels)
    })
    next()
  })
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', register.contentType).send(await register.metrics())
  })

  app.use(helmet())
  app.use(express.json({ limit: '1mb' }))
  app.use(express.urlencoded({ extended: false, limit: '1mb' }))

  // Double-submit CSRF (cookie + x-csrf-token header); GET, HEAD and OPTIONS pass unchecked.
  app.use(cookieParser())
  const { doubleCsrfProtection } = doubleCsrf({
    getSecret: () => 'b'.repeat(40),
    getSessionIdentifier: (req) => req.ip ?? '',
  })
  app.use(doubleCsrfProtection)

  // The route rate limited as Rampart's `read` policy: BENCH_LIMIT_PER_MINUTE per client a minute.
  const read = rateLimit({
    windowMs: 60_000,
    limit: BENCH_LIMIT_PER_MINUTE,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
  })
  app.get('/items/:id', read, (req, res) => {
    res.json({ id: req.params.id, name: 'widget', price: 42, tags: ['a', 'b'] })
  })

  // A JSON error handler: the status of an HTTP error, else 500; never a stack trace.
  const errors: ErrorRequestHandler = (err, _req, res, _next) => {
    const status = Number((err as { status?: unknown }).status) || 500
    res.status(status).json({ error: status < 500 ? (err as Error).message : 'Internal Error' })
  }
  app.use((_req, res) => {
    res.status(404).json({ error: 'Not Found' })
  })
  app.use(errors)

  const server: Server = createServer(app)
  return {
    server,
    listen: ({ port, host }: { port: number; host: string }) =>
      new Promise<string>((resolve) => server.listen(port, host, () => resolve(`${host}:${port}`))),
  }
}
