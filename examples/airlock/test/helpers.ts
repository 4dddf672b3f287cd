import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { type LogCapture, logCapture } from '../../../packages/rampart/test/support/log-capture.js'
import { service } from '../../../packages/rampart/test/support/services.js'
import { type AirlockOptions, buildApp } from '../src/app.js'

export const DEMO_PASSWORD = 'airlock-demo'

/** The databases the end-to-end suites run against: SQLite always, Postgres when provided. */
export const DATABASES: Array<{ name: string; url: string | undefined }> = [
  { name: 'sqlite', url: 'sqlite' },
  { name: 'postgres', url: service('DATABASE_URL') },
]

export interface TestAirlock {
  app: FastifyInstance
  logs: LogCapture
  dataDir: string
  close(): Promise<void>
}

/**
 * airlock on a fresh temporary data directory with the demo users, logs captured. With a
 * Postgres URL it uses a schema of its own (others share that server), dropped on close.
 */
export async function startAirlock(
  database: string | undefined,
  options: AirlockOptions = {},
  env: NodeJS.ProcessEnv = {},
): Promise<TestAirlock> {
  const dataDir = mkdtempSync(join(tmpdir(), 'airlock-test-'))
  const logs = logCapture()
  const schema = `airlock_t_${randomBytes(6).toString('hex')}`
  const postgres = database?.startsWith('postgres') ? database : undefined
  const app = await buildApp(
    {
      dataDir,
      nodeEnv: 'test',
      logDestination: logs.stream,
      logLevel: 'debug',
      seedDemoUsers: true,
      ...(postgres ? { databaseUrl: postgres, databaseSchema: schema } : {}),
      ...options,
    },
    env,
  )
  return {
    app,
    logs,
    dataDir,
    async close() {
      await app.close()
      if (postgres) {
        const client = new pg.Client({ connectionString: postgres })
        await client.connect()
        await client.query(`drop schema if exists ${schema} cascade`)
        await client.end()
      }
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** A multipart body with one `file` part, as a browser sends it. */
export function multipartFile(
  filename: string,
  content: Buffer | string,
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----airlock${randomBytes(8).toString('hex')}`
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`
  const payload = Buffer.concat([
    Buffer.from(head),
    Buffer.isBuffer(content) ? content : Buffer.from(content),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

/** The value of one metric series in Prometheus text, or undefined when absent. */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return undefined
}
