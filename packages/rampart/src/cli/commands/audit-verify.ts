import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { AuditRow, Checkpoint } from '../../audit/canonical.js'
import { verifyChain } from '../../audit/verify.js'
import { RampartError } from '../../errors/rampart-error.js'
import { auditTarget, openExisting, TARGET_OPTIONS, TARGET_USAGE } from '../audit-target.js'
import type { Command, CommandIO } from '../command.js'
import { progressBar } from '../progress.js'

/**
 * Reads a checkpoint given inline as JSON or as a file of log lines (the last
 * `audit.checkpoint` line wins).
 */
export function parseCheckpoint(value: string, cwd: string): Checkpoint {
  const trimmed = value.trim()
  const text = trimmed.startsWith('{') ? trimmed : readCheckpointFile(resolve(cwd, trimmed))
  let found: Checkpoint | undefined
  for (const line of text.split('\n')) {
    if (!line.trim().startsWith('{')) continue
    try {
      const o = JSON.parse(line) as Record<string, unknown>
      if (typeof o.row_id === 'number' && typeof o.head === 'string' && typeof o.mac === 'string')
        found = { row_id: o.row_id, head: o.head, mac: o.mac }
    } catch {
      // not a JSON line; log files hold other text too
    }
  }
  if (!found)
    throw new RampartError(
      'ERR_RAMPART_USAGE',
      '--checkpoint: no audit.checkpoint line (row_id, head, mac) found',
    )
  return found
}

function readCheckpointFile(path: string): string {
  if (!existsSync(path))
    throw new RampartError('ERR_RAMPART_USAGE', `--checkpoint: not JSON and no file at ${path}`)
  return readFileSync(path, 'utf8')
}

export const command: Command = {
  name: 'audit verify',
  summary: 'check the audit hash chain; print rows checked and the head to pin',
  usage: `Usage: rampart audit verify [--expect-head <hex>] [--checkpoint <json-or-file>] [--list] [--db <url>]

Recomputes every row's HMAC and link from the first row. Prints "verified N rows, head <hex>"
and exits 0, or prints "first bad row: <id>" and why and exits 1.

  --expect-head <hex>        a head printed by an earlier verify and kept elsewhere; it must
                             still be in the chain (catches rows deleted from the end)
  --checkpoint <json|file>   a signed audit.checkpoint log line, or a log file (the last
                             checkpoint in it is used); its row must exist with that hash
  --list                     also print each verified row: id, time, actor, action, target,
                             outcome (tab-separated), before the result line
${TARGET_USAGE}`,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: {
        ...TARGET_OPTIONS,
        'expect-head': { type: 'string' },
        checkpoint: { type: 'string' },
        list: { type: 'boolean', default: false },
      },
      strict: true,
    })
    const expectHead = values['expect-head']
    if (expectHead !== undefined && !/^[0-9a-fA-F]{64}$/.test(expectHead))
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `--expect-head: got "${expectHead.slice(0, 80)}"; expected 64 hex characters`,
      )
    const checkpoint = values.checkpoint ? parseCheckpoint(values.checkpoint, io.cwd) : undefined
    const { url, key } = auditTarget(values, io)
    const store = await openExisting(url, key, values.table)
    try {
      const total = await store.count()
      const bar = progressBar(io.stderr, total, 'verifying')
      const result = await verifyChain(store, key, {
        ...(expectHead ? { expectHead } : {}),
        ...(checkpoint ? { checkpoint } : {}),
        onProgress: (n) => bar.update(n),
        ...(values.list
          ? {
              onRow: (row: AuditRow) =>
                io.stdout.write(
                  `${[row.id, row.at, row.actor ?? '-', row.action, row.target ?? '-', row.outcome].join('\t')}\n`,
                ),
            }
          : {}),
      })
      bar.finish()
      if (result.ok) {
        io.stdout.write(`verified ${result.rows} rows, head ${result.head}\n`)
        return 0
      }
      io.stdout.write(`first bad row: ${result.badRow}: ${result.reason}\n`)
      return 1
    } finally {
      await store.shutdown()
    }
  },
}
export default command
