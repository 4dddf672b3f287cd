import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { HttpError } from 'rampart'
import type { Database, Direction, RequestsTable, ScanStatus, Status } from '../db/schema.js'
import type { ScanFinding } from './scan.js'
import type { User } from './users.js'

/** The API body of a request (docs/airlock.md), also what the pages render. */
export interface RequestView {
  id: string
  title: string
  direction: Direction
  justification: string
  status: Status
  owner: string
  files: Array<{
    id: string
    name: string
    size: number
    sha256: string
    /** The output check (`pending` until its job ran); see `scan.ts`. */
    scan: FileScan
  }>
  decision_reason: string | null
  created_at: string
  updated_at: string
}

/** A file's output check as the API shows it. */
export interface FileScan {
  status: ScanStatus
  findings: ScanFinding[]
  /** Offending cells beyond the listed ones. */
  truncated?: number
  /** Why a `failed` scan could not read the file. */
  detail?: string
}

export interface NewRequest {
  title: string
  direction: Direction
  justification: string
}

export interface NewFile {
  id: string
  name: string
  stored_name: string
  size: number
  sha256: string
}

const PAGE_SIZE = 50

/** Researchers see their own requests; checkers and admins see everything that left draft. */
function visibleTo(user: User, row: Pick<RequestsTable, 'owner_id' | 'status'>): boolean {
  if (row.owner_id === user.id) return true
  return user.role !== 'researcher' && row.status !== 'draft'
}

function encodeCursor(row: { created_at: string; id: string }): string {
  return Buffer.from(`${row.created_at}|${row.id}`).toString('base64url')
}

function decodeCursor(cursor: string): { created_at: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString().split('|')
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)))
    throw new HttpError(422, { errors: [{ field: 'cursor', message: 'Invalid cursor' }] })
  return { created_at: createdAt, id }
}

function scanOf(status: ScanStatus, stored: string | null): FileScan {
  const saved = stored ? (JSON.parse(stored) as Omit<FileScan, 'status'>) : undefined
  return { status, ...saved, findings: saved?.findings ?? [] }
}

/** Reads, creates and moves requests through draft → submitted → approved / rejected. */
export class RequestStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(owner: User, input: NewRequest): Promise<RequestView> {
    const now = new Date().toISOString()
    const id = randomUUID()
    await this.db
      .insertInto('requests')
      .values({
        id,
        owner_id: owner.id,
        ...input,
        status: 'draft',
        decision_reason: null,
        decided_by: null,
        created_at: now,
        updated_at: now,
      })
      .execute()
    return this.get(owner, id)
  }

  /** The request as `user` may see it; 404 when it does not exist or is not theirs to see. */
  async get(user: User, id: string): Promise<RequestView> {
    const row = await this.db
      .selectFrom('requests')
      .innerJoin('users', 'users.id', 'requests.owner_id')
      .selectAll('requests')
      .select('users.username as owner')
      .where('requests.id', '=', id)
      .executeTakeFirst()
    if (!row || !visibleTo(user, row)) throw new HttpError(404, { detail: 'No such request.' })
    const files = await this.db
      .selectFrom('request_files')
      .select(['id', 'name', 'size', 'sha256', 'scan_status', 'scan_findings'])
      .where('request_id', '=', id)
      .orderBy('created_at')
      .orderBy('id')
      .execute()
    return {
      id: row.id,
      title: row.title,
      direction: row.direction,
      justification: row.justification,
      status: row.status,
      owner: row.owner,
      files: files.map(({ scan_status, scan_findings, ...f }) => ({
        ...f,
        size: Number(f.size),
        scan: scanOf(scan_status, scan_findings),
      })),
      decision_reason: row.decision_reason,
      created_at: row.created_at,
      updated_at: row.updated_at,
    }
  }

  /** Newest first, `PAGE_SIZE` at a time, keyset-paginated. */
  async list(
    user: User,
    cursor?: string,
  ): Promise<{ items: RequestView[]; next_cursor: string | null }> {
    let q = this.db
      .selectFrom('requests')
      .select(['id', 'created_at'])
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(PAGE_SIZE + 1)
    if (user.role === 'researcher') q = q.where('owner_id', '=', user.id)
    else q = q.where((eb) => eb.or([eb('owner_id', '=', user.id), eb('status', '!=', 'draft')]))
    if (cursor) {
      const c = decodeCursor(cursor)
      q = q.where((eb) =>
        eb.or([
          eb('created_at', '<', c.created_at),
          eb.and([eb('created_at', '=', c.created_at), eb('id', '<', c.id)]),
        ]),
      )
    }
    const rows = await q.execute()
    const page = rows.slice(0, PAGE_SIZE)
    const items = await Promise.all(page.map((r) => this.get(user, r.id)))
    const last = page.at(-1)
    return { items, next_cursor: rows.length > PAGE_SIZE && last ? encodeCursor(last) : null }
  }

  /** The owner's draft, or 404 / 403 / 409 saying why it cannot be changed. */
  async ownDraft(user: User, id: string): Promise<RequestView> {
    const request = await this.get(user, id)
    if (request.owner !== user.username)
      throw new HttpError(403, { detail: 'Only the owner can change this request.' })
    if (request.status !== 'draft')
      throw new HttpError(409, { detail: `This request is ${request.status}, no longer a draft.` })
    return request
  }

  /** Attaches a stored file to a draft: both statements in one transaction, so a request that
   * stopped being a draft meanwhile (409) gets no file row. */
  async addFile(user: User, id: string, file: NewFile): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('request_files')
        .values({ ...file, request_id: id, created_at: new Date().toISOString() })
        .execute()
      await this.touch(id, user.id, 'draft', {}, trx)
    })
  }

  async submit(user: User, id: string): Promise<RequestView> {
    await this.ownDraft(user, id)
    await this.touch(id, user.id, 'draft', { status: 'submitted' })
    return this.get(user, id)
  }

  async decide(
    checker: User,
    id: string,
    decision: 'approved' | 'rejected',
    reason: string,
  ): Promise<RequestView> {
    const request = await this.get(checker, id)
    if (request.status !== 'submitted')
      throw new HttpError(409, { detail: `This request is ${request.status}, not submitted.` })
    const changed = await this.db
      .updateTable('requests')
      .set({
        status: decision,
        decision_reason: reason,
        decided_by: checker.id,
        updated_at: new Date().toISOString(),
      })
      .where('id', '=', id)
      .where('status', '=', 'submitted')
      .executeTakeFirst()
    if (Number(changed.numUpdatedRows) !== 1)
      throw new HttpError(409, { detail: 'Someone else decided this request first.' })
    return this.get(checker, id)
  }

  /** Updates a request only while it is still in `from` (a concurrent change gets 409). */
  private async touch(
    id: string,
    ownerId: string,
    from: Status,
    set: { status?: Status },
    db: Kysely<Database> = this.db,
  ): Promise<void> {
    const changed = await db
      .updateTable('requests')
      .set({ ...set, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .where('status', '=', from)
      .executeTakeFirst()
    if (Number(changed.numUpdatedRows) !== 1)
      throw new HttpError(409, { detail: 'This request changed meanwhile; reload it.' })
  }
}
