import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { AuditStore } from '../audit/store.js'
import { openStore } from '../audit/store.js'
import { resolveConfig } from '../config/resolve.js'
import { RampartError } from '../errors/rampart-error.js'
import type { CommandIO } from './command.js'
import { checkDbUrl } from './db-copy.js'

/** Options every audit/backup command shares. */
export const TARGET_OPTIONS = {
  db: { type: 'string' },
  table: { type: 'string' },
} as const

export const TARGET_USAGE = `  --db <url>        audit database: sqlite:<path> or postgres://… (default: AUDIT_DB, else
                    sqlite:<DATA_DIR>/audit.db)
  --table <name>    audit table (default event_log)

The key comes from AUDIT_KEY, else is derived from SECRET_KEY (or DATA_DIR/.secret in
development), exactly as the service derives it.`

/**
 * Resolves the audit database and key the way the service does (`resolveConfig`), without ever
 * generating a new development secret: a key that the service never used would make every row
 * look forged.
 */
export function auditTarget(
  values: { db?: string | undefined },
  io: CommandIO,
): { url: string; key: Buffer; dataDir: string } {
  if (values.db !== undefined) checkDbUrl('--db', values.db)
  const env = { ...io.env }
  const dataDir = resolve(io.cwd, env.DATA_DIR ?? './data')
  env.DATA_DIR = dataDir
  const hasSecret = env.SECRET_KEY !== undefined && env.SECRET_KEY !== ''
  const hasAuditKey = env.AUDIT_KEY !== undefined && env.AUDIT_KEY !== ''
  if (!hasSecret && !hasAuditKey && !existsSync(join(dataDir, '.secret')))
    throw new RampartError(
      'ERR_RAMPART_USAGE',
      `no audit key: set AUDIT_KEY or SECRET_KEY to the service's value (no ${join(dataDir, '.secret')} either)`,
    )
  const config = resolveConfig(
    {
      console: { enabled: false },
      // With only AUDIT_KEY set, SECRET_KEY is irrelevant here; a placeholder keeps production checks quiet.
      ...(hasSecret
        ? {}
        : hasAuditKey
          ? { secretKey: 'x'.repeat(32) }
          : { nodeEnv: 'development' as const }),
      ...(values.db ? { audit: { db: values.db } } : {}),
    },
    env,
  )
  if (config.audit.db.startsWith('sqlite:')) {
    const path = resolve(io.cwd, config.audit.db.slice('sqlite:'.length))
    return { url: `sqlite:${path}`, key: config.audit.key, dataDir }
  }
  return { url: config.audit.db, key: config.audit.key, dataDir }
}

/** Opens an existing audit database for reading; a missing file or table is one clear line. */
export async function openExisting(url: string, key: Buffer, table?: string): Promise<AuditStore> {
  if (url.startsWith('sqlite:') && !existsSync(url.slice('sqlite:'.length)))
    throw new RampartError(
      'ERR_RAMPART_AUDIT',
      `no audit database at ${url.slice('sqlite:'.length)}`,
    )
  const store = await openStore({ url, key, table, mustExist: true })
  try {
    await store.head()
  } catch (err) {
    await store.shutdown().catch(() => {})
    throw new RampartError(
      'ERR_RAMPART_AUDIT',
      `cannot read the audit table of ${url.replace(/\/\/[^/@]*@/, '//***@')}: ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    )
  }
  return store
}
