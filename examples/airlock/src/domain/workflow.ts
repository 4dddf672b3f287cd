import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import { HttpError, type Rampart } from 'rampart'
import type { Database } from '../db/schema.js'
import { audit } from '../support/audit.js'
import type { BusinessMetrics } from '../support/business-metrics.js'
import { type NewRequest, RequestStore, type RequestView } from './requests.js'
import type { Scans } from './scans.js'
import { storeUpload, type UploadedPart } from './uploads.js'
import type { User } from './users.js'

/**
 * The airlock workflow shared by the pages and the JSON API: each step checks the role, changes
 * the database, and counts, logs and audits what happened.
 */
export class Workflow {
  readonly requests: RequestStore
  private readonly uploadDir: string

  constructor(
    db: Kysely<Database>,
    private readonly core: Rampart,
    private readonly metrics: BusinessMetrics,
    private readonly scans: Scans,
  ) {
    this.requests = new RequestStore(db)
    this.uploadDir = join(core.config.dataDir, 'uploads')
  }

  async create(user: User, input: NewRequest): Promise<RequestView> {
    requireRole(user, 'researcher', 'create requests')
    const request = await this.requests.create(user, input)
    this.core.logger.info(
      { event: 'request.created', airlock_request_id: request.id, direction: request.direction },
      'request created',
    )
    return request
  }

  async upload(user: User, id: string, part: UploadedPart | undefined): Promise<RequestView> {
    await this.requests.ownDraft(user, id)
    if (!part)
      throw new HttpError(422, {
        detail: 'Choose a file to upload.',
        errors: [{ field: 'file', message: 'A file is required' }],
      })
    const file = await storeUpload(this.uploadDir, part, this.core.config.maxUploadBytes)
    try {
      await part.finish?.()
      await this.requests.addFile(user, id, file)
    } catch (err) {
      // Refused form, or the row could not be written: keep no file nobody points to.
      await rm(join(this.uploadDir, file.stored_name), { force: true })
      throw err
    }
    this.core.logger.info(
      { event: 'request.file_added', airlock_request_id: id, file_id: file.id, size: file.size },
      'file added',
    )
    // Checked in the background: the answer shows the file's scan as `pending`.
    this.scans.request(file.id)
    return this.requests.get(user, id)
  }

  async submit(user: User, id: string): Promise<RequestView> {
    const request = await this.requests.submit(user, id)
    this.metrics.submitted(request.direction)
    this.core.logger.info(
      { event: 'request.submitted', airlock_request_id: id, direction: request.direction },
      'request submitted',
    )
    return request
  }

  /** Approve or reject. The audit row is written before the change: no row, no decision. */
  async decide(
    user: User,
    id: string,
    decision: 'approved' | 'rejected',
    reason: string,
  ): Promise<RequestView> {
    requireRole(user, 'checker', 'decide requests')
    const before = await this.requests.get(user, id)
    if (before.status !== 'submitted')
      throw new HttpError(409, { detail: `This request is ${before.status}, not submitted.` })
    await audit(this.core, {
      action: decision === 'approved' ? 'request.approved' : 'request.rejected',
      target: `request:${id}`,
      details: { direction: before.direction, owner: before.owner, reason },
    })
    const request = await this.requests.decide(user, id, decision, reason)
    if (decision === 'approved') this.metrics.approved(request.direction)
    else this.metrics.rejected(request.direction)
    this.core.logger.info(
      { event: `request.${decision}`, airlock_request_id: id, direction: request.direction },
      `request ${decision}`,
    )
    return request
  }
}

/** 403 unless the user has the role. */
export function requireRole(user: User, role: User['role'], doing: string): void {
  if (user.role !== role)
    throw new HttpError(403, {
      detail: `Only a ${role} can ${doing}; you are signed in as a ${user.role}.`,
    })
}
