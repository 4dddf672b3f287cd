import type { AuditRecord, Rampart } from 'rampart'

/**
 * Writes one audit row and resolves once it is durable; rejects when it cannot be written, so
 * the caller does not perform the action unrecorded (docs/audit-log.md). The actor is the request's
 * bound user.
 */
export function audit(core: Rampart, entry: AuditRecord): Promise<unknown> {
  return core.audit.record(entry)
}
