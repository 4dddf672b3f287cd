import type { FastifyInstance } from 'fastify'
import { HttpError } from 'rampart'
import { checkCredentials, pageUser, userOf } from '../auth/authenticate.js'
import { createSession, deleteSession, SESSION_COOKIE, SESSION_TTL_MS } from '../auth/sessions.js'
import { check, credentialsSchema, decisionSchema, newRequestSchema } from '../domain/schemas.js'
import type { RouteDeps } from './deps.js'
import { uploadedFile } from './upload-form.js'

type IdParams = { Params: { id: string } }
type Form = Record<string, unknown> | undefined

/** Server-rendered pages: sign-in, the request list and detail, and the workflow forms. */
export function pageRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { db, core, workflow, render } = deps
  const secure = core.config.isProduction

  app.get('/', async (request, reply) => reply.redirect(request.user ? '/requests' : '/login', 303))

  // Showing the form checks no credential: a read, which keeps working while the limiter's
  // store is down (the credential policy `auth` then refuses the POST).
  app.get('/login', { config: { rateLimit: 'read' } }, async (request, reply) => {
    if (request.user && request.authMethod === 'session') return reply.redirect('/requests', 303)
    return render(request, reply, 'login', { title: 'Sign in', demo: deps.showDemoLogins })
  })

  app.post<{ Body: Form }>('/login', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    const form = check(credentialsSchema, request.body)
    const user = form.ok
      ? await checkCredentials(deps, form.data.username, form.data.password)
      : undefined
    if (!user) {
      const username = typeof request.body?.username === 'string' ? request.body.username : ''
      const data = {
        title: 'Sign in',
        demo: deps.showDemoLogins,
        username,
        error: 'Wrong username or password.',
      }
      return render(request, reply, 'login', data, 401)
    }
    // A new session id on every sign-in (no session fixation); the old one is ended.
    if (request.sessionId) await deleteSession(db, request.sessionId)
    const sessionId = await createSession(db, user.id)
    reply.setCookie(SESSION_COOKIE, sessionId, {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      secure,
      path: '/',
      maxAge: SESSION_TTL_MS / 1000,
    })
    return reply.redirect('/requests', 303)
  })

  app.post(
    '/logout',
    { config: { rateLimit: 'write' }, preHandler: pageUser() },
    async (request, reply) => {
      if (request.sessionId) await deleteSession(db, request.sessionId)
      reply.clearCookie(SESSION_COOKIE, { path: '/' })
      return reply.redirect('/login', 303)
    },
  )

  app.get<{ Querystring: { cursor?: string } }>(
    '/requests',
    { config: { rateLimit: 'read' }, preHandler: pageUser() },
    async (request, reply) => {
      const page = await workflow.requests.list(userOf(request), request.query.cursor)
      return render(request, reply, 'requests', { title: 'Requests', ...page })
    },
  )

  app.get(
    '/requests/new',
    { config: { rateLimit: 'write' }, preHandler: pageUser('researcher') },
    async (request, reply) =>
      render(request, reply, 'request-new', { title: 'New request', values: {}, errors: [] }),
  )

  app.post<{ Body: Form }>(
    '/requests',
    { config: { rateLimit: 'write' }, preHandler: pageUser('researcher') },
    async (request, reply) => {
      const form = check(newRequestSchema, request.body)
      if (!form.ok) {
        const data = { title: 'New request', values: request.body ?? {}, errors: form.errors }
        return render(request, reply, 'request-new', data, 422)
      }
      const created = await workflow.create(userOf(request), form.data)
      return reply.redirect(`/requests/${created.id}`, 303)
    },
  )

  app.get<IdParams>(
    '/requests/:id',
    { config: { rateLimit: 'read' }, preHandler: pageUser() },
    async (request, reply) => {
      const user = userOf(request)
      const r = await workflow.requests.get(user, request.params.id)
      return render(request, reply, 'request', {
        title: r.title,
        request: r,
        canEdit: r.status === 'draft' && r.owner === user.username,
        canDecide: r.status === 'submitted' && user.role === 'checker',
      })
    },
  )

  app.post<IdParams>(
    '/requests/:id/files',
    { config: { rateLimit: 'write' }, preHandler: pageUser('researcher') },
    async (request, reply) => {
      const part = await uploadedFile(request)
      await workflow.upload(userOf(request), request.params.id, part)
      return reply.redirect(`/requests/${request.params.id}`, 303)
    },
  )

  app.post<IdParams>(
    '/requests/:id/submit',
    { config: { rateLimit: 'submit' }, preHandler: pageUser('researcher') },
    async (request, reply) => {
      await workflow.submit(userOf(request), request.params.id)
      return reply.redirect(`/requests/${request.params.id}`, 303)
    },
  )

  for (const [verb, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    app.post<IdParams & { Body: Form }>(
      `/requests/:id/${verb}`,
      { config: { rateLimit: 'write', audit: `request.${verb}` }, preHandler: pageUser('checker') },
      async (request, reply) => {
        const form = check(decisionSchema, request.body)
        if (!form.ok)
          throw new HttpError(422, { detail: 'A reason is required.', errors: form.errors })
        await workflow.decide(userOf(request), request.params.id, decision, form.data.reason)
        return reply.redirect(`/requests/${request.params.id}`, 303)
      },
    )
  }
}
