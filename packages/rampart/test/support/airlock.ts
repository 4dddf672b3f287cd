import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'

export interface ListeningAirlock {
  app: FastifyInstance
  /** `127.0.0.1:<port>` */
  host: string
  url: string
  dataDir: string
  close(): Promise<void>
}

/**
 * The reference service, airlock, built in this process on its own SQLite files (never the
 * shared DATABASE_URL), with its development demo users, listening on a free port.
 */
export async function startAirlock(
  options: Record<string, unknown> = {},
): Promise<ListeningAirlock> {
  const { buildApp } = await import('../../../../examples/airlock/src/app.js')
  const dataDir = mkdtempSync(join(tmpdir(), 'rampart-airlock-'))
  const app = await buildApp(
    {
      logLevel: 'silent',
      dataDir,
      databaseUrl: `sqlite:${join(dataDir, 'airlock.db')}`,
      ...options,
    } as never,
    {},
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return {
    app,
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    async close() {
      await app.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
