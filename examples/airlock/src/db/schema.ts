import type { Generated } from 'kysely'

/** Roles of docs/airlock.md: researchers create requests, checkers decide, admins manage users. */
export const ROLES = ['researcher', 'checker', 'admin'] as const
export type Role = (typeof ROLES)[number]

export const DIRECTIONS = ['egress', 'ingress'] as const
export type Direction = (typeof DIRECTIONS)[number]

export const STATUSES = ['draft', 'submitted', 'approved', 'rejected'] as const
export type Status = (typeof STATUSES)[number]

// Ids are random UUIDs and times ISO-8601 text, so one schema serves SQLite and Postgres alike.
export interface UsersTable {
  id: string
  username: string
  password_hash: string
  role: Role
  created_at: string
}

export interface SessionsTable {
  /** SHA-256 of the session id: the cookie holds the id, the table only its hash. */
  id_hash: string
  user_id: string
  created_at: string
  expires_at: string
}

export interface ApiTokensTable {
  /** SHA-256 of the token; the token itself is shown once and never stored. */
  token_hash: string
  user_id: string
  created_at: string
}

export interface RequestsTable {
  id: string
  owner_id: string
  title: string
  direction: Direction
  justification: string
  status: Status
  decision_reason: string | null
  decided_by: string | null
  created_at: string
  updated_at: string
}

export interface RequestFilesTable {
  id: string
  request_id: string
  /** The client's file name, for display only; never used as a path. */
  name: string
  /** Generated name under `DATA_DIR/uploads`. */
  stored_name: string
  size: number
  sha256: string
  created_at: string
  /** The output check's verdict; `pending` until the scan job ran. */
  scan_status: Generated<ScanStatus>
  /** JSON of the scan's findings (`ScanFinding[]`, plus `detail` when it failed); null while pending. */
  scan_findings: string | null
}

export const SCAN_STATUSES = ['pending', 'clean', 'flagged', 'failed'] as const
export type ScanStatus = (typeof SCAN_STATUSES)[number]

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  api_tokens: ApiTokensTable
  requests: RequestsTable
  request_files: RequestFilesTable
}
