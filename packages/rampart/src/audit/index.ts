export type { AuditDeps, AuditLog, AuditReceipt, AuditRecord } from './audit-log.js'
export { createAuditLog } from './audit-log.js'
export {
  type AuditRow,
  type Checkpoint,
  canonicalJson,
  canonicalRow,
  checkpointIsValid,
  GENESIS_HASH,
  rowHash,
  signCheckpoint,
} from './canonical.js'
export { AUDIT_DEFAULTS, type AuditOptions } from './options.js'
export { type AuditStore, openStore, type StoreOptions } from './store.js'
export { type VerifyOptions, type VerifyResult, verifyChain } from './verify.js'

import type { AuditLog } from './audit-log.js'

declare module '../core/rampart.js' {
  interface Rampart {
    /** The tamper-evident audit log (docs/audit-log.md); opened on first use. */
    readonly audit: AuditLog
  }
}
