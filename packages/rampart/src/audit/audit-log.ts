import { currentContext } from '../context/context.js'
import { RampartError } from '../errors/rampart-error.js'
import type { Logger } from '../logging/logger.js'
import type { Redactor } from '../logging/redact.js'
import type { RampartMetrics } from '../metrics/registry.js'
import { trackOutage } from '../resilience/outage.js'
import { type AuditRow, canonicalJson, signCheckpoint } from './canonical.js'
import { type AuditOptions, type ResolvedAuditOptions, resolveAuditOptions } from './options.js'
import { type AuditStore, describeDb, openStore, type UnchainedRow } from './store.js'

/** What code passes to `audit.record()`. */
export interface AuditRecord {
  /** Dotted name of what was done, e.g. `request.approved`. */
  action: string
  /** What it was done to, e.g. `request:42`. */
  target?: string
  /** Default `success`. */
  outcome?: string
  /** Extra facts; redacted with the shared policy and stored as canonical JSON. */
  details?: Record<string, unknown>
  /** Default: the request context's user (`bindUser`). */
  actor?: string
}

/** The appended row: its id and chain hash. */
export interface AuditReceipt {
  readonly id: number
  readonly hash: string
}

/**
 * The tamper-evident audit log of one service (docs/audit-log.md).
 *
 * @example
 * await app.rampart.audit.record({ action: 'request.approved', target: `request:${id}`, details: { reason } })
 */
export interface AuditLog {
  /**
   * Appends one row and resolves once it is committed (durable). Rejects with a `RampartError`
   * (`ERR_RAMPART_AUDIT`) when it cannot be written: the caller must then not perform the action.
   */
  record(entry: AuditRecord): Promise<AuditReceipt>
  /** Opens the database and runs migrations (also done lazily by the first `record`). */
  open(): Promise<void>
  /** The store, for verify/export (opened on first use). */
  store(): Promise<AuditStore>
  /** Writes a final checkpoint and closes the database. */
  close(): Promise<void>
}

/** What the audit log needs from the core; `Rampart` satisfies it. */
export interface AuditDeps {
  readonly config: {
    readonly audit: { readonly db: string; readonly key: Buffer }
    /** Bound of every Postgres query (`DB_QUERY_TIMEOUT_S`). Default 5000. */
    readonly dbQueryTimeoutMs?: number
  }
  readonly logger: Logger
  readonly redactor: Redactor
  readonly fingerprint: (value: string) => string
  /** When given, every appended row counts `rampart_audit_events_total{action}`. */
  readonly metrics?: Pick<RampartMetrics, 'counter'>
}

interface Pending {
  row: UnchainedRow
  resolve: (r: AuditReceipt) => void
  reject: (err: unknown) => void
}

/**
 * Creates the audit log. Nothing is opened until `open()` or the first `record()`, so a service
 * that audits nothing never creates the database. Concurrent `record()` calls are group-committed:
 * the calls that arrive while a transaction is running go into the next one, and each promise
 * resolves only after its own transaction committed.
 *
 * @example
 * const audit = createAuditLog(core)
 * await audit.record({ action: 'user.created', target: 'user:7' })
 */
export function createAuditLog(deps: AuditDeps, options: AuditOptions = {}): AuditLog {
  const opts: ResolvedAuditOptions = resolveAuditOptions(options)
  const { logger, redactor } = deps
  const key = deps.config.audit.key
  const events = deps.metrics?.counter({
    name: 'rampart_audit_events_total',
    help: 'Audit rows appended (committed), by action',
    labelNames: ['action'] as const,
  })
  // A database that is down is one `dependency.unavailable` line and one counted outage.
  const outage = trackOutage(deps, 'audit-db')
  let storePromise: Promise<AuditStore> | undefined
  let pending: Pending[] = []
  let draining = false
  let lastId = 0
  let lastHash: string | undefined
  let lastCheckpointed = 0
  let closed = false

  const getStore = (): Promise<AuditStore> => {
    storePromise ??= (async () => {
      const store = await openStore({
        url: deps.config.audit.db,
        key,
        table: opts.table,
        busyTimeoutMs: opts.busyTimeoutMs,
        queryTimeoutMs: deps.config.dbQueryTimeoutMs ?? 5000,
        outage,
      })
      try {
        await store.migrate()
      } catch (err) {
        await store.shutdown().catch(() => {})
        throw err
      }
      return store
    })()
    // A failed open is retried by the next call (the database may come back).
    storePromise.catch(() => {
      storePromise = undefined
    })
    return storePromise
  }

  const checkpoint = (reason: 'rows' | 'shutdown'): void => {
    if (lastHash === undefined || lastId === lastCheckpointed) return
    lastCheckpointed = lastId
    logger.info(
      { event: 'audit.checkpoint', reason, ...signCheckpoint(key, lastId, lastHash) },
      `audit chain reached row ${lastId}`,
    )
  }

  const drain = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending.slice(0, opts.maxBatch)
      pending = pending.slice(batch.length)
      let written: AuditRow[]
      const started = performance.now()
      // The Postgres pool reports the same tracker when a call finds the database gone, so
      // "first failure" is judged on the state before this batch, not on failed()'s answer.
      const wasUp = !outage.down
      try {
        const store = await getStore()
        written = await store.append(batch.map((p) => p.row))
      } catch (err) {
        // The first failure of an outage at error level; the rest of it at debug (each
        // request is refused with 503 and has its access line).
        const line = {
          event: 'audit.write_failed',
          rows: batch.length,
          db: describeDb(deps.config.audit.db),
          err,
        }
        if (outage.failed(err) || wasUp) logger.error(line, 'audit rows could not be written')
        else logger.debug(line, 'audit rows could not be written')
        const e = new RampartError(
          'ERR_RAMPART_AUDIT',
          `audit row could not be written: ${(err as Error).message}`,
          { cause: err },
        )
        for (const p of batch) p.reject(e)
        continue
      }
      outage.succeeded(started)
      const before = lastId
      for (let i = 0; i < batch.length; i++) {
        const row = written[i] as AuditRow
        batch[i]?.resolve({ id: row.id, hash: row.hash })
        try {
          events?.inc({ action: row.action })
          opts.onAppend?.(row.action)
        } catch {
          // telemetry never breaks an append
        }
      }
      const tail = written[written.length - 1]
      if (tail && tail.id > lastId) {
        lastId = tail.id
        lastHash = tail.hash
      }
      if (Math.floor(lastId / opts.checkpointEvery) > Math.floor(before / opts.checkpointEvery))
        checkpoint('rows')
    }
    draining = false
  }

  return {
    record(entry) {
      if (closed)
        return Promise.reject(new RampartError('ERR_RAMPART_AUDIT', 'the audit log is closed'))
      if (
        typeof entry?.action !== 'string' ||
        entry.action.length === 0 ||
        entry.action.length > 200
      )
        return Promise.reject(
          new RampartError(
            'ERR_RAMPART_AUDIT',
            'audit.record: action must be a string of 1 to 200 characters',
          ),
        )
      const details = canonicalJson(redactor.redact(entry.details ?? {}))
      if (Buffer.byteLength(details) > opts.maxDetailsBytes)
        return Promise.reject(
          new RampartError(
            'ERR_RAMPART_AUDIT',
            `audit.record: details are larger than ${opts.maxDetailsBytes} bytes`,
          ),
        )
      if (pending.length >= opts.maxQueue)
        return Promise.reject(
          new RampartError(
            'ERR_RAMPART_AUDIT',
            `audit queue full (${opts.maxQueue} rows waiting for the database)`,
          ),
        )
      const ctx = currentContext()
      const row: UnchainedRow = {
        at: opts.now().toISOString(),
        actor: entry.actor ?? ctx?.userId ?? null,
        action: entry.action,
        target: entry.target === undefined ? null : redactor.redactString(entry.target),
        outcome: entry.outcome ?? 'success',
        request_id: ctx?.requestId ?? null,
        ip_fingerprint: ctx?.clientIp ? deps.fingerprint(ctx.clientIp) : null,
        details,
      }
      return new Promise<AuditReceipt>((resolve, reject) => {
        pending.push({ row, resolve, reject })
        if (!draining) {
          draining = true
          // Wait one turn so the calls of the same tick share a transaction.
          setImmediate(() => void drain())
        }
      })
    },
    async open() {
      await getStore()
    },
    store: getStore,
    async close() {
      if (closed) return
      closed = true
      while (draining || pending.length > 0) await new Promise((r) => setImmediate(r))
      const store = await storePromise?.catch(() => undefined)
      storePromise = undefined
      if (!store) return
      try {
        // The head may have moved on through other replicas: checkpoint what the table holds.
        const head = await store.head()
        if (head && head.id > lastId) {
          lastId = head.id
          lastHash = head.hash
        }
      } catch {
        // the database went away; checkpoint what this process wrote
      }
      checkpoint('shutdown')
      await store.shutdown()
    },
  }
}
