/** What every `rampart` sub-command exports. */
export interface Command {
  /** e.g. `slo rules`, `audit verify`, `check` */
  readonly name: string
  /** One line for `rampart --help`. */
  readonly summary: string
  /** Full help text printed for `rampart <name> --help`. */
  readonly usage: string
  /**
   * Runs the command. Resolves to the process exit code. Throw a `RampartError` with code
   * `ERR_RAMPART_USAGE` (bad arguments) or any other code: the dispatcher prints its one-line
   * message to stderr and exits 2 (usage) or 1 (anything else).
   */
  run(argv: string[], io: CommandIO): Promise<number>
}

export interface CommandIO {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
}
