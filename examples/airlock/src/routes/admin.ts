import type { FastifyInstance } from 'fastify'
import { pageUser } from '../auth/authenticate.js'
import { check, newUserSchema } from '../domain/schemas.js'
import { createUser, findUserByUsername, listUsers } from '../domain/users.js'
import { audit } from '../support/audit.js'
import type { RouteDeps } from './deps.js'

/** User management for admins; every read and change is audited. */
export function adminRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { db, core, render } = deps

  app.get(
    '/admin/users',
    { config: { rateLimit: 'write', audit: 'admin.users.read' }, preHandler: pageUser('admin') },
    async (request, reply) =>
      render(request, reply, 'admin-users', {
        title: 'Users',
        users: await listUsers(db),
        values: {},
        errors: [],
      }),
  )

  app.post<{ Body: Record<string, unknown> | undefined }>(
    '/admin/users',
    { config: { rateLimit: 'write', audit: 'user.create' }, preHandler: pageUser('admin') },
    async (request, reply) => {
      const form = check(newUserSchema, request.body)
      const values = { username: request.body?.username, role: request.body?.role }
      let errors = form.ok ? [] : form.errors
      if (form.ok) {
        const { username, role } = form.data
        if (await findUserByUsername(db, username)) {
          errors = [{ field: 'username', message: 'That username is taken' }]
        } else {
          // Audited before the change: if the row cannot be written the user is not created.
          await audit(core, {
            action: 'user.created',
            target: `user:${username}`,
            details: { role },
          })
          await createUser(db, form.data)
          core.logger.info({ event: 'user.created', role }, 'user created')
          return reply.redirect('/admin/users', 303)
        }
      }
      const users = await listUsers(db)
      return render(request, reply, 'admin-users', { title: 'Users', users, values, errors }, 422)
    },
  )
}
