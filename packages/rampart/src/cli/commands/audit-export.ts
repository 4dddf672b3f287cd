import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { RampartError } from '../../errors/rampart-error.js'
import { auditTarget, openExisting, TARGET_OPTIONS, TARGET_USAGE } from '../audit-target.js'
import type { Command, CommandIO } from '../command.js'
import { progressBar } from '../progress.js'

export const command: Command = {
  name: 'audit export',
  summary: 'write the audit rows as JSON lines (with a progress bar on long exports)',
  usage: `Usage: rampart audit export [--out <file>] [--after <id>] [--db <url>]

Writes every row (id, at, actor, action, target, outcome, request_id, ip_fingerprint,
details, prev_hash, hash) as one JSON object per line, oldest first. The export keeps the
hashes, so it can be checked against a pinned head later. Progress goes to stderr when it
is a terminal.

  --out <file>   write here instead of standard output
  --after <id>   only rows with a larger id (incremental exports)
${TARGET_USAGE}`,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: {
        ...TARGET_OPTIONS,
        out: { type: 'string' },
        after: { type: 'string', default: '0' },
      },
      strict: true,
    })
    const after = Number(values.after)
    if (!Number.isInteger(after) || after < 0)
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `--after: got "${values.after}"; expected a row id ≥ 0`,
      )
    const { url, key } = auditTarget(values, io)
    const store = await openExisting(url, key, values.table)
    const out = values.out ? createWriteStream(resolve(io.cwd, values.out)) : io.stdout
    if (values.out)
      await once(out, 'open').catch((err: Error) => {
        throw new RampartError(
          'ERR_RAMPART_USAGE',
          `--out: cannot write ${values.out}: ${err.message}`,
        )
      })
    try {
      const head = await store.head()
      const total = Math.max(0, (head?.id ?? 0) - after)
      const bar = progressBar(io.stderr, total, 'exporting')
      let last = after
      let n = 0
      for (;;) {
        const page = await store.readPage(last, 5000)
        if (page.length === 0) break
        // Respect back-pressure so a slow consumer never makes the export buffer the table.
        if (!out.write(page.map((r) => `${JSON.stringify(r)}\n`).join(''))) await once(out, 'drain')
        last = page[page.length - 1]?.id ?? last
        n += page.length
        bar.update(n)
      }
      bar.finish()
      io.stderr.write(`exported ${n} rows\n`)
      return 0
    } finally {
      if (values.out) {
        out.end()
        await once(out, 'finish')
      }
      await store.shutdown()
    }
  },
}
export default command
