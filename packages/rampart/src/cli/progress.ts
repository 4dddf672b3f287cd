/**
 * A minimal progress bar for long CLI work, on stderr, drawn only when stderr is a terminal
 * (a redirected stderr gets no control characters) and only once the work has run for a second.
 * Hand-written instead of cli-progress: it is 30 lines, needs no dependency, and the CLI
 * needs exactly one bar shape.
 */
export interface Progress {
  update(done: number): void
  finish(): void
}

export function progressBar(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  total: number,
  label: string,
  now: () => number = Date.now,
): Progress {
  const started = now()
  let drawn = false
  let lastDraw = 0
  return {
    update(done) {
      const t = now()
      if (stream.isTTY !== true || t - started < 1000 || t - lastDraw < 100) return
      lastDraw = t
      drawn = true
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 40))
      const share = total > 0 ? Math.min(1, done / total) : 0
      const filled = Math.round(share * width)
      const rate = Math.round(done / ((t - started) / 1000))
      stream.write(
        `\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${rate}/s `,
      )
    },
    finish() {
      if (drawn) stream.write('\n')
    },
  }
}

/**
 * One line per step on a stream that is not a terminal (a log file, CI), so a long job shows
 * where it is; on a terminal the progress bar says it and these lines stay out of its way.
 */
export function stepLines(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
): (line: string) => void {
  return (line) => {
    if (stream.isTTY !== true) stream.write(`${line}\n`)
  }
}
