import { isRampartError } from '../errors/rampart-error.js'
import type { CommandIO } from './command.js'
import { commands } from './commands/index.js'

const HELP = `rampart — production hardening and observability for TypeScript HTTP services

Usage: rampart <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(18)} ${c.summary}`).join('\n')}

Run "rampart <command> --help" for a command's options.`

/** Finds the longest command name that prefixes argv, runs it, and returns the exit code. */
export async function main(argv: string[], io: CommandIO): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout.write(`${HELP}\n`)
    return argv.length === 0 ? 2 : 0
  }
  const match = [...commands]
    .sort((a, b) => b.name.length - a.name.length)
    .find((c) => {
      const words = c.name.split(' ')
      return words.every((w, i) => argv[i] === w)
    })
  if (!match) {
    io.stderr.write(
      `rampart: unknown command "${argv.join(' ')}"; run "rampart --help" for the list\n`,
    )
    return 2
  }
  const rest = argv.slice(match.name.split(' ').length)
  const command = await match.load()
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage.trimEnd()}\n`)
    return 0
  }
  try {
    return await command.run(rest, io)
  } catch (err) {
    if (isRampartError(err)) {
      io.stderr.write(`rampart ${match.name}: ${err.message}\n`)
      return err.code === 'ERR_RAMPART_USAGE' ? 2 : 1
    }
    const message = err instanceof Error ? err.message : String(err)
    io.stderr.write(`rampart ${match.name}: ${message.split('\n')[0]}\n`)
    return 1
  }
}

const isEntry =
  process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))
if (
  isEntry ||
  process.env.RAMPART_CLI_ENTRY === '1' ||
  process.argv[1]?.endsWith('/bin/rampart.js')
) {
  const code = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    cwd: process.cwd(),
    env: process.env,
  })
  process.exitCode = code
}
