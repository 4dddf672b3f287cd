// One process of the multi-process audit append benchmark: opens the log, says "ready", waits
// for "go" on stdin, appends WRITERS × PER rows with WRITERS concurrent callers, says "done".
import { createAuditLog } from '../../packages/rampart/src/audit/audit-log.js'
import { createLogger } from '../../packages/rampart/src/logging/logger.js'
import { createRedactor } from '../../packages/rampart/src/logging/redact.js'

const { AUDIT_DB, AUDIT_TABLE, WRITERS, PER } = process.env
const redactor = createRedactor()
const audit = createAuditLog(
  {
    config: { audit: { db: AUDIT_DB as string, key: Buffer.from('k'.repeat(40)) } },
    logger: createLogger({ service: 'bench', level: 'silent', format: 'json', redactor }),
    redactor,
    fingerprint: () => '0a1b2c3d',
  },
  { table: AUDIT_TABLE as string, busyTimeoutMs: 30_000 },
)
await audit.open()
process.stdout.write('ready\n')
await new Promise((r) => process.stdin.once('data', r))
process.stdin.pause()
await Promise.all(
  Array.from({ length: Number(WRITERS) }, async (_, w) => {
    for (let i = 0; i < Number(PER); i++)
      await audit.record({
        action: 'request.approved',
        target: `request:${process.pid}-${w}-${i}`,
        details: { i },
      })
  }),
)
await audit.close()
process.stdout.write('done\n')
