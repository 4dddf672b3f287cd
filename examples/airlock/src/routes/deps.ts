import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import type { Rampart } from 'rampart'
import type { Database } from '../db/schema.js'
import type { Workflow } from '../domain/workflow.js'
import type { BusinessMetrics } from '../support/business-metrics.js'

/** What the route modules need, passed explicitly. */
export interface RouteDeps {
  db: Kysely<Database>
  core: Rampart
  metrics: BusinessMetrics
  workflow: Workflow
  /** Renders a page with the layout, the user and the CSRF field filled in. */
  render(
    request: FastifyRequest,
    reply: FastifyReply,
    view: string,
    data: Record<string, unknown>,
    status?: number,
  ): FastifyReply
  /** Whether the demo logins are shown on the sign-in page. */
  showDemoLogins: boolean
}
