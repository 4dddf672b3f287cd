import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino'
import pretty from 'pino-pretty'
import type { LogLevel } from '../config/options.js'
import { currentContext, currentSpanIds } from '../context/context.js'
import { isFileDestination, LineBatcher } from './line-batcher.js'
import type { Redactor } from './redact.js'

export type { Logger } from 'pino'

export interface LoggerSettings {
  service: string
  level: LogLevel
  format: 'json' | 'pretty'
  redactor: Redactor
  /** Default: standard output. */
  destination?: DestinationStream | undefined
}

/**
 * Builds the service's pino logger: ISO `time`, `level` as a word, the request context
 * (`request_id`, `trace_id`, `span_id`, `user_id`) mixed into every line written inside a
 * request, and the redaction policy applied to every object, message and error before it is
 * written — at every level, so debug lines leak no more than info lines.
 *
 * @example
 * const logger = createLogger({ service: 'orders', level: 'info', format: 'json', redactor: createRedactor() })
 * logger.info({ event: 'order.created', order_id: 42 })
 */
export function createLogger(settings: LoggerSettings): Logger {
  return createLogging(settings).logger
}

/** The fields of the one access line written per request. */
export interface AccessLine {
  /** Validated (`[A-Za-z0-9._:-]{1,128}`, see `requestIdFrom`) or minted: written unescaped. */
  request_id: string
  /** An HTTP method token (RFC 9110 token characters: never a quote, backslash or control). */
  method: string
  route: string
  status: number
  latency_ms: number
  user_id?: string | undefined
  trace_id?: string | undefined
  span_id?: string | undefined
}

export interface Logging {
  logger: Logger
  /**
   * Writes `event: "request.completed"` at `level`. It is the hottest line of a service (one
   * per request) and its fields are known and safe (validated ids, route templates, numbers),
   * so in JSON format it is serialised directly instead of through pino's generic path
   * (mixin, redaction walk, per-key stringify): same shape, a fraction of the cost.
   */
  writeAccess(level: 'debug' | 'info' | 'error', line: AccessLine): void
  /** Writes any line still gathered for the current loop turn; call once the logger is done. */
  release(): void
}

// `Date.prototype.toISOString` costs about 0.4 µs here, more than the rest of an access line.
// The date and time down to the second are formatted once a second; the milliseconds are
// appended by hand.
let lastSecond = -1
let secondPrefix = ''
const MS = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(3, '0')}Z`)

/** The current time as ISO 8601 UTC with milliseconds (`2026-12-05T23:59:59.123Z`). */
export function isoNow(now = Date.now()): string {
  const second = Math.floor(now / 1000)
  if (second !== lastSecond) {
    lastSecond = second
    // "2026-12-05T23:59:59." — years 0–9999, the range log times live in.
    secondPrefix = new Date(second * 1000).toISOString().slice(0, 20)
  }
  return secondPrefix + MS[now - second * 1000]
}

// `latency_ms` is written from whole microseconds with integer arithmetic: turning a float
// such as 0.123 into text costs several times more.
const FRACTIONS = Array.from({ length: 1000 }, (_, i) =>
  i === 0 ? '' : `.${String(i).padStart(3, '0').replace(/0+$/, '')}`,
)

/** The text of a millisecond count rounded to the microsecond, as `String()` would write it. */
export function millisText(ms: number): string {
  const us = Math.round(ms * 1000)
  if (!(us >= 0 && us < 2 ** 31)) return String(Math.round(ms * 1000) / 1000)
  const whole = (us / 1000) | 0
  return `${whole}${FRACTIONS[us - whole * 1000]}`
}

/** Builds the logger and the access-line writer that shares its destination. */
export function createLogging(settings: LoggerSettings): Logging {
  const { redactor } = settings
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: settings.service },
    timestamp: () => `,"time":"${isoNow()}"`,
    messageKey: 'msg',
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => redactor.redact(bindings),
      log: (obj) => redactor.redact(obj),
    },
    mixin() {
      const ctx = currentContext()
      const span = currentSpanIds(ctx)
      if (!ctx && !span) return {}
      const out: Record<string, string> = {}
      if (ctx) out.request_id = ctx.requestId
      if (span?.traceId) out.trace_id = span.traceId
      if (span?.spanId) out.span_id = span.spanId
      if (ctx?.userId) out.user_id = ctx.userId
      return out
    },
    hooks: {
      // Messages and printf-style arguments are scrubbed too ("login for alice password=…").
      logMethod(args, method) {
        // logger.error(err) would copy err.message into `msg` unscrubbed: wrap it first.
        const first: unknown = args[0]
        if (first instanceof Error) {
          ;(args as unknown[])[0] = { err: first }
          if (typeof args[1] !== 'string') (args as unknown[]).splice(1, 0, first.message)
        }
        for (let i = 0; i < args.length; i++) {
          const a = args[i]
          if (typeof a === 'string') args[i] = redactor.redactString(a)
        }
        return method.apply(this, args as Parameters<typeof method>)
      },
    },
  }
  const given =
    settings.destination ??
    (settings.format === 'pretty'
      ? pretty({
          colorize: process.stdout.isTTY === true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,service,event',
          messageFormat: '{if event}{event}{end}{if msg} {msg}{end}',
          sync: true,
        })
      : pino.destination({ dest: 1, sync: true }))
  const destination = isFileDestination(given) ? new LineBatcher(given) : given
  const logger = pino(options, destination)
  const head = `"service":${JSON.stringify(settings.service)},"event":"request.completed","request_id":`
  const json = settings.format === 'json' || settings.destination !== undefined
  const q = JSON.stringify
  // Route templates are few and repeat on every line: quote each once.
  const quotedRoutes = new Map<string, string>()
  const quoteRoute = (route: string): string => {
    let quoted = quotedRoutes.get(route)
    if (quoted === undefined) {
      quoted = q(route)
      if (quotedRoutes.size < 1000) quotedRoutes.set(route, quoted)
    }
    return quoted
  }
  const writeAccess = (level: 'debug' | 'info' | 'error', l: AccessLine): void => {
    if (!logger.isLevelEnabled(level)) return
    if (!json) {
      logger[level]({ event: 'request.completed', ...l })
      return
    }
    // Request id, method and trace ids hold no character JSON escapes (see AccessLine); the
    // user id is the service's own value and is escaped.
    let line = `{"level":"${level}","time":"${isoNow()}",${head}"${l.request_id}","method":"${l.method}","route":${quoteRoute(l.route)},"status":${l.status},"latency_ms":${millisText(l.latency_ms)}`
    if (l.user_id !== undefined) line += `,"user_id":${q(l.user_id)}`
    if (l.trace_id !== undefined) line += `,"trace_id":"${l.trace_id}","span_id":"${l.span_id}"`
    destination.write(`${line}}\n`)
  }
  const release = (): void => {
    if (destination instanceof LineBatcher) destination.release()
  }
  return { logger, writeAccess, release }
}
