import { Writable } from 'node:stream'
import { createLogger, type Logger } from '../../src/logging/logger.js'
import { createRedactor } from '../../src/logging/redact.js'

export interface LogCapture {
  /** Pass as `logDestination`. */
  readonly stream: Writable & { write(chunk: string): boolean }
  /** Every line written so far, parsed. */
  lines(): Array<Record<string, unknown>>
  /** Every line written so far, raw text joined. */
  text(): string
}

/** A pino destination that keeps every JSON line in memory for assertions. */
export function logCapture(): LogCapture {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk.toString())
      cb()
    },
  })
  return {
    stream: stream as LogCapture['stream'],
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim().length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  }
}

/** A JSON logger at `level` whose lines a test reads back from `logs`. */
export function capturedLogger(level: 'info' | 'silent' = 'info'): {
  logger: Logger
  logs: LogCapture
} {
  const logs = logCapture()
  const logger = createLogger({
    service: 'test',
    level,
    format: 'json',
    redactor: createRedactor([]),
    destination: logs.stream,
  })
  return { logger, logs }
}
