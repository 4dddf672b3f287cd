import { rmSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify'
import pino from 'pino'

/**
 * The `read` limit every rate-limited bench server uses, Rampart's and the peers': far above
 * what any run sends in a minute (a faster machine passes 1,000,000 a minute on one key), so
 * every request is decided and passes, and the suites measure deciding, not answering 429.
 * Rampart's env variable caps a policy at 1,000,000/min; options do not, so the servers pass it
 * as an option.
 */
export const BENCH_LIMIT_PER_MINUTE = Number(process.env.BENCH_LIMIT_PER_MINUTE ?? 100_000_000)

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
