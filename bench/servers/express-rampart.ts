// Express 5 + `rampart(app)` with its defaults (tracing off), the route rate limited like Fastify's.
import type { Server } from 'node:http'
import express from 'express'
import { rampart } from 'rampart/express'
import { BENCH_LIMIT_PER_MINUTE, benchLogDestination } from './routes.js'

export default async function build() {
  const app = express()
  const rp = await rampart(app, {
    service: 'bench',
    logFormat: 'json',
    logLevel: (process.env.BENCH_LOG_LEVEL ?? 'info') as 'info',
    logDestination: benchLogDestination('rampart-express'),
    rateLimit: { policies: { read: { perMinute: BENCH_LIMIT_PER_MINUTE } } },
    shutdown: { signals: false },
  })
  const rateLimit = process.env.BENCH_RATE_LIMIT ?? false
  app.get('/items/:id', rp.route({ rateLimit }), (req, res) => {
    res.json({ id: req.params.id, name: 'widget', price: 42, tags: ['a', 'b'] })
  })
  let server: Server | undefined
  return {
    get server() {
      return server as Server
    },
    async listen({ port, host }: { port: number; host: string }) {
      server = await rp.listen({ port, host })
      return `${host}:${port}`
    },
  }
}
