/**
 * Options of the audit log beyond `config.audit.{db,key}` (which come from `AUDIT_DB` and
 * `AUDIT_KEY`, docs/configuration.md). Every field is optional; defaults are in `AUDIT_DEFAULTS`.
 */
export interface AuditOptions {
  /** Write a signed `audit.checkpoint` log line every N rows. Default 1000. */
  checkpointEvery?: number
  /** Most rows chained and committed in one transaction. Default 500. */
  maxBatch?: number
  /** Most rows waiting for a transaction; past it `record()` rejects at once (memory stays bounded). Default 10000. */
  maxQueue?: number
  /** Largest canonical `details` JSON in bytes; larger is refused. Default 16384. */
  maxDetailsBytes?: number
  /** Clock for `at`. Default `() => new Date()`. */
  now?: () => Date
  /** Table name. Default `event_log` (tests on a shared Postgres use their own). */
  table?: string
  /** SQLite only: how long an append waits for another writer's lock. Default 5000 ms. */
  busyTimeoutMs?: number
  /** Called once per appended row (the Fastify adapter counts `rampart_audit_events_total`). */
  onAppend?: (action: string) => void
}

export const AUDIT_DEFAULTS = {
  checkpointEvery: 1000,
  maxBatch: 500,
  maxQueue: 10_000,
  maxDetailsBytes: 16_384,
  table: 'event_log',
  busyTimeoutMs: 5000,
} as const

export type ResolvedAuditOptions = Required<Omit<AuditOptions, 'onAppend'>> &
  Pick<AuditOptions, 'onAppend'>

export function resolveAuditOptions(options: AuditOptions = {}): ResolvedAuditOptions {
  return {
    checkpointEvery: options.checkpointEvery ?? AUDIT_DEFAULTS.checkpointEvery,
    maxBatch: options.maxBatch ?? AUDIT_DEFAULTS.maxBatch,
    maxQueue: options.maxQueue ?? AUDIT_DEFAULTS.maxQueue,
    maxDetailsBytes: options.maxDetailsBytes ?? AUDIT_DEFAULTS.maxDetailsBytes,
    now: options.now ?? (() => new Date()),
    table: options.table ?? AUDIT_DEFAULTS.table,
    busyTimeoutMs: options.busyTimeoutMs ?? AUDIT_DEFAULTS.busyTimeoutMs,
    onAppend: options.onAppend,
  }
}
