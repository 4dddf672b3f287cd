// The peer for logging: Fastify's own pino request logging, JSON to a file.
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import pino from 'pino'
import { jsonRoutes } from './routes.js'

export default async function build() {
  const app = Fastify({
    loggerInstance: pino(
      pino.destination({
        dest: join(tmpdir(), `peer-bench-${process.pid}.log`),
        sync: true,
        minLength: 4096,
      }),
    ),
  })
  jsonRoutes(app)
  return app
}
