import { parseArgs } from 'node:util'
import { RampartError } from '../../errors/rampart-error.js'
import { auditTarget, openExisting, TARGET_OPTIONS, TARGET_USAGE } from '../audit-target.js'
import type { Command, CommandIO } from '../command.js'

export const command: Command = {
  name: 'audit tail',
  summary: 'print the newest audit rows as JSON lines and follow new ones',
  usage: `Usage: rampart audit tail [-n <rows>] [--interval <ms>] [--no-follow] [--db <url>]

Prints the last rows (default 10) as JSON lines, then polls for new rows until interrupted.

  -n, --lines <rows>  how many existing rows to print first (default 10)
  --interval <ms>     poll interval (default 1000)
  --no-follow         print and exit
${TARGET_USAGE}`,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: {
        ...TARGET_OPTIONS,
        lines: { type: 'string', short: 'n', default: '10' },
        interval: { type: 'string', default: '1000' },
        'no-follow': { type: 'boolean', default: false },
      },
      strict: true,
    })
    const lines = Number(values.lines)
    const interval = Number(values.interval)
    if (!Number.isInteger(lines) || lines < 0)
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `--lines: got "${values.lines}"; expected a whole number ≥ 0`,
      )
    if (!Number.isInteger(interval) || interval < 50)
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `--interval: got "${values.interval}"; expected milliseconds ≥ 50`,
      )
    const { url, key } = auditTarget(values, io)
    const store = await openExisting(url, key, values.table)
    let stopped = false
    const stop = () => {
      stopped = true
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      const head = await store.head()
      let after = Math.max(0, (head?.id ?? 0) - lines)
      for (;;) {
        for (;;) {
          const page = await store.readPage(after, 1000)
          for (const row of page) io.stdout.write(`${JSON.stringify(row)}\n`)
          after = page[page.length - 1]?.id ?? after
          if (page.length < 1000) break
        }
        if (values['no-follow'] || stopped) return 0
        await new Promise((r) => setTimeout(r, interval))
        if (stopped) return 0
      }
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      await store.shutdown()
    }
  },
}
export default command
