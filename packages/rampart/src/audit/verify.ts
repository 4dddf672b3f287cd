import {
  type AuditRow,
  type Checkpoint,
  checkpointIsValid,
  GENESIS_HASH,
  rowHash,
} from './canonical.js'
import type { AuditStore } from './store.js'

export interface VerifyOptions {
  /** A head hash pinned elsewhere: it must be the hash of a row in the chain. */
  expectHead?: string
  /** A signed checkpoint from the logs: row `row_id` must exist with hash `head`. */
  checkpoint?: Checkpoint
  /** Called with each row once it verified, in chain order. */
  onRow?: (row: AuditRow) => void
  /** Called after each page with the rows checked so far. */
  onProgress?: (checked: number) => void
  /** Rows per read. Default 10,000. */
  pageSize?: number
}

export type VerifyResult =
  | { ok: true; rows: number; head: string; headId: number }
  | { ok: false; rows: number; badRow: number; reason: string }

/**
 * Walks the chain from the first row and reports the first row that breaks it: a wrong `hash`
 * (edited, or written without the key), a `prev_hash` that is not the previous row's `hash`
 * (a row deleted, inserted or moved), or a gap in ids. Then checks the pinned head and the
 * checkpoint, which is what catches rows deleted from the end.
 *
 * @example
 * const result = await verifyChain(store, key, { expectHead: 'ab12…' })
 * if (!result.ok) console.error(`first bad row: ${result.badRow}: ${result.reason}`)
 */
export async function verifyChain(
  store: AuditStore,
  key: Buffer,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 10_000
  if (options.checkpoint && !checkpointIsValid(key, options.checkpoint)) {
    return {
      ok: false,
      rows: 0,
      badRow: Number(options.checkpoint.row_id) || 0,
      reason: 'the checkpoint signature is not valid for this key (forged, or another key)',
    }
  }
  const expectHead = options.expectHead?.toLowerCase()
  let prev: AuditRow | undefined
  let rows = 0
  // The head of an empty chain (a backup taken before the first row) is the genesis hash: every
  // chain, empty or not, starts from it.
  let seenExpected = expectHead === GENESIS_HASH
  let checkpointRow: AuditRow | undefined
  for (;;) {
    const page = await store.readPage(prev?.id ?? 0, pageSize)
    for (const row of page) {
      const bad = checkRow(key, row, prev)
      if (bad) return { ok: false, rows, badRow: row.id, reason: bad }
      if (expectHead !== undefined && row.hash === expectHead) seenExpected = true
      if (options.checkpoint && row.id === Number(options.checkpoint.row_id)) checkpointRow = row
      options.onRow?.(row)
      prev = row
      rows++
    }
    options.onProgress?.(rows)
    if (page.length < pageSize) break
  }
  const lastId = prev?.id ?? 0
  if (options.checkpoint) {
    const cp = options.checkpoint
    if (!checkpointRow)
      return {
        ok: false,
        rows,
        badRow: lastId + 1,
        reason: `missing: the signed checkpoint says the chain reached row ${cp.row_id}, but it ends at row ${lastId} (rows were deleted from the end)`,
      }
    if (checkpointRow.hash !== cp.head)
      return {
        ok: false,
        rows,
        badRow: cp.row_id,
        reason: `hash differs from the signed checkpoint's head ${cp.head}`,
      }
  }
  if (expectHead !== undefined && !seenExpected)
    return {
      ok: false,
      rows,
      badRow: lastId + 1,
      reason: `the expected head ${expectHead} is not in the chain, which ends at row ${lastId} (rows were deleted from the end, or the chain was rewritten)`,
    }
  return { ok: true, rows, head: prev?.hash ?? GENESIS_HASH, headId: lastId }
}

function checkRow(key: Buffer, row: AuditRow, prev: AuditRow | undefined): string | undefined {
  if (prev === undefined) {
    if (row.id !== 1)
      return `the chain starts at row ${row.id}, not 1 (the rows before it were deleted)`
    if (row.prev_hash !== GENESIS_HASH)
      return 'the first row does not start from the genesis hash (rows before it were deleted or it was inserted)'
  } else {
    if (row.id !== prev.id + 1)
      return `row ${prev.id + 1}${row.id - prev.id > 2 ? `–${row.id - 1}` : ''} is missing (deleted)`
    if (row.prev_hash !== prev.hash)
      return `prev_hash does not match row ${prev.id}'s hash (a row was inserted, deleted or moved)`
  }
  if (rowHash(key, row) !== row.hash)
    return 'hash does not match the row content (the row was edited, or written without the audit key)'
  return undefined
}
