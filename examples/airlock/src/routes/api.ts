import type { FastifyInstance } from 'fastify'
import { HttpError } from 'rampart'
import { apiUser, checkCredentials, userOf } from '../auth/authenticate.js'
import { createApiToken } from '../auth/tokens.js'
import { credentialsSchema, decisionSchema, newRequestSchema, parse } from '../domain/schemas.js'
import type { RouteDeps } from './deps.js'
import { uploadedFile } from './upload-form.js'

type IdParams = { Params: { id: string } }

/**
 * The JSON API under `/api/v1`: the same workflow as the pages, authenticated by bearer tokens
 * (so CSRF-exempt), answering with the request body of docs/airlock.md.
 */
export function apiRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { db, workflow } = deps

  app.post('/api/v1/tokens', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    const { username, password } = parse(credentialsSchema, request.body)
    const user = await checkCredentials(deps, username, password)
    if (!user)
      throw new HttpError(401, {
        detail: 'Wrong username or password.',
        headers: { 'www-authenticate': 'Bearer realm="airlock"' },
      })
    return reply.code(201).send({ token: await createApiToken(db, user.id) })
  })

  app.get<{ Querystring: { cursor?: string } }>(
    '/api/v1/requests',
    { config: { rateLimit: 'read' }, preHandler: apiUser() },
    async (request) => workflow.requests.list(userOf(request), request.query.cursor),
  )

  app.post(
    '/api/v1/requests',
    { config: { rateLimit: 'write' }, preHandler: apiUser('researcher') },
    async (request, reply) => {
      const input = parse(newRequestSchema, request.body)
      return reply.code(201).send(await workflow.create(userOf(request), input))
    },
  )

  app.get<IdParams>(
    '/api/v1/requests/:id',
    { config: { rateLimit: 'read' }, preHandler: apiUser() },
    async (request) => workflow.requests.get(userOf(request), request.params.id),
  )

  app.post<IdParams>(
    '/api/v1/requests/:id/files',
    { config: { rateLimit: 'write' }, preHandler: apiUser('researcher') },
    async (request) => {
      const part = await uploadedFile(request)
      return workflow.upload(userOf(request), request.params.id, part)
    },
  )

  app.post<IdParams>(
    '/api/v1/requests/:id/submit',
    { config: { rateLimit: 'submit' }, preHandler: apiUser('researcher') },
    async (request) => workflow.submit(userOf(request), request.params.id),
  )

  for (const [verb, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    app.post<IdParams>(
      `/api/v1/requests/:id/${verb}`,
      { config: { rateLimit: 'write', audit: `request.${verb}` }, preHandler: apiUser('checker') },
      async (request) => {
        const { reason } = parse(decisionSchema, request.body)
        return workflow.decide(userOf(request), request.params.id, decision, reason)
      },
    )
  }
}
