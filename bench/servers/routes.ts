import { rmSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify'
import pino from 'pino'

/** The simple JSON route every HTTP suite measures. */
export function jsonRoutes<Logger extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>,
  config: Record<string, unknown> = {},
): void {
  app.get<{ Params: { id: string } }>('/items/:id', { config }, async (request) => ({
    id: request.params.id,
    name: 'widget',
    price: 42,
    tags: ['a', 'b'],
  }))
}

/**
 * The log destination every bench server writes to, Rampart's and the peers' alike: pino's
 * synchronous file destination with a 4 KiB buffer, in the temp folder, removed at exit.
 */
export function benchLogDestination(
  name: string,
  dir = tmpdir(),
): ReturnType<typeof pino.destination> {
  const file = join(dir, `${name}-bench-${process.pid}.log`)
  process.once('exit', () => rmSync(file, { force: true }))
  return pino.destination({ dest: file, sync: true, minLength: 4096 })
}
