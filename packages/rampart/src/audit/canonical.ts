import { createHmac, timingSafeEqual } from 'node:crypto'

/** Version tag that starts every canonical form; a new format gets a new tag, never a silent change. */
export const CANONICAL_VERSION = 'rampart-audit-v1'

/** `prev_hash` of the first row of a chain. */
export const GENESIS_HASH = '0'.repeat(64)

/** One stored row of `event_log`, exactly as the database holds it. */
export interface AuditRow {
  readonly id: number
  /** ISO 8601 UTC with milliseconds, e.g. `2026-11-23T00:40:31.123Z`. */
  readonly at: string
  readonly actor: string | null
  readonly action: string
  readonly target: string | null
  readonly outcome: string
  readonly request_id: string | null
  readonly ip_fingerprint: string | null
  /** Canonical JSON text of the redacted details (keys sorted), `{}` when there were none. */
  readonly details: string
  readonly prev_hash: string
  readonly hash: string
}

/**
 * JSON with object keys sorted at every depth, so equal values always give equal text.
 * `undefined`, functions and symbols are dropped as `JSON.stringify` drops them; numbers,
 * strings, booleans and null are written as `JSON.stringify` writes them.
 *
 * @example
 * canonicalJson({ b: 1, a: { d: 2, c: 3 } }) // '{"a":{"c":3,"d":2},"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null'
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value === null || typeof value !== 'object') return value
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function')
    return sortKeys((value as { toJSON(): unknown }).toJSON())
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort())
    out[key] = sortKeys((value as Record<string, unknown>)[key])
  return out
}

/**
 * The canonical content of a row, the bytes its `hash` is computed over: a JSON array of the
 * version tag, then `id` (decimal string), `at`, `actor`, `action`, `target`, `outcome`,
 * `request_id`, `ip_fingerprint`, `details` (the stored canonical JSON text) and `prev_hash`,
 * in that order, nulls as `null`. Including `id` and `prev_hash` binds each row to its place.
 */
export function canonicalRow(row: Omit<AuditRow, 'hash'>): string {
  return JSON.stringify([
    CANONICAL_VERSION,
    String(row.id),
    row.at,
    row.actor,
    row.action,
    row.target,
    row.outcome,
    row.request_id,
    row.ip_fingerprint,
    row.details,
    row.prev_hash,
  ])
}

/**
 * HMAC-SHA256 (keyed with the audit key) of the row's canonical content, lowercase hex.
 *
 * @example
 * const ok = rowHash(key, row) === row.hash
 */
export function rowHash(key: Buffer, row: Omit<AuditRow, 'hash'>): string {
  return createHmac('sha256', key).update(canonicalRow(row)).digest('hex')
}

/** A signed statement "the chain reached row `row_id` with head `head`", written to the logs. */
export interface Checkpoint {
  readonly row_id: number
  readonly head: string
  /** HMAC-SHA256 over `rampart-audit-checkpoint-v1|<row_id>|<head>` keyed with the audit key. */
  readonly mac: string
}

function checkpointMac(key: Buffer, rowId: number, head: string): string {
  return createHmac('sha256', key)
    .update(`rampart-audit-checkpoint-v1|${rowId}|${head}`)
    .digest('hex')
}

/**
 * Signs a checkpoint for the given head.
 *
 * @example
 * logger.info({ event: 'audit.checkpoint', ...signCheckpoint(key, 5000, head) })
 */
export function signCheckpoint(key: Buffer, rowId: number, head: string): Checkpoint {
  return { row_id: rowId, head, mac: checkpointMac(key, rowId, head) }
}

/**
 * True when the checkpoint was signed with this key (constant-time comparison).
 *
 * @example
 * if (!checkpointIsValid(key, JSON.parse(logLine))) throw new Error('forged checkpoint')
 */
export function checkpointIsValid(key: Buffer, cp: Checkpoint): boolean {
  const expected = Buffer.from(checkpointMac(key, cp.row_id, cp.head), 'hex')
  const given = Buffer.from(String(cp.mac), 'hex')
  return given.length === expected.length && timingSafeEqual(given, expected)
}
