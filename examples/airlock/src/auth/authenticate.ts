import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import { bindUser, HttpError, isInternalPath, type Rampart } from 'rampart'
import type { Database, Role } from '../db/schema.js'
import { findUserByUsername, type User } from '../domain/users.js'
import type { BusinessMetrics } from '../support/business-metrics.js'
import { verifyPassword } from './passwords.js'
import { SESSION_COOKIE, sessionUser } from './sessions.js'
import { tokenUser } from './tokens.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user, set by the global `onRequest` hook. */
    user: User | undefined
    /** How `user` was authenticated. */
    authMethod: 'session' | 'bearer' | undefined
    /** The session id from the verified cookie (for logout and CSRF binding). */
    sessionId: string | undefined
  }
}

/**
 * Authenticates every request in a global `onRequest` hook, before Rampart's route-level rate
 * limiter, so limits key on the principal: a bearer token for the API, else the signed
 * session cookie. Success binds the user to the request context (`user_id` in logs).
 */
export function installAuthentication(app: FastifyInstance, db: Kysely<Database>): void {
  app.decorateRequest('user', undefined)
  app.decorateRequest('authMethod', undefined)
  app.decorateRequest('sessionId', undefined)
  app.addHook('onRequest', async (request) => {
    if (isInternalPath(request.url) || request.url.startsWith('/static/')) return
    const authorization = request.headers.authorization
    let user: User | undefined
    if (authorization?.startsWith('Bearer ')) {
      user = await tokenUser(db, authorization.slice('Bearer '.length).trim())
      if (user) request.authMethod = 'bearer'
    } else {
      const raw = request.cookies[SESSION_COOKIE]
      const unsigned = raw ? request.unsignCookie(raw) : undefined
      if (unsigned?.valid && unsigned.value) {
        user = await sessionUser(db, unsigned.value)
        if (user) {
          request.authMethod = 'session'
          request.sessionId = unsigned.value
        }
      }
    }
    if (user) {
      request.user = user
      bindUser(user.id)
    }
  })
}

/** Route preHandler for pages: a signed-in user (with one of `roles`, when given), else /login. */
export function pageUser(...roles: Role[]) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.user || request.authMethod !== 'session') return reply.redirect('/login', 303)
    if (roles.length && !roles.includes(request.user.role))
      throw new HttpError(403, { detail: `This page is for ${roles.join(' or ')} accounts.` })
  }
}

/** Route preHandler for the API: a bearer token (with one of `roles`, when given), else 401. */
export function apiUser(...roles: Role[]) {
  return async (request: FastifyRequest) => {
    if (!request.user || request.authMethod !== 'bearer')
      throw new HttpError(401, {
        detail: 'Send an API token: Authorization: Bearer <token> (POST /api/v1/tokens).',
        headers: { 'www-authenticate': 'Bearer realm="airlock"' },
      })
    if (roles.length && !roles.includes(request.user.role))
      throw new HttpError(403, { detail: `This needs a ${roles.join(' or ')} account.` })
  }
}

/** The authenticated user of a route behind `pageUser`/`apiUser`. */
export function userOf(request: FastifyRequest): User {
  if (!request.user) throw new HttpError(401)
  return request.user
}

/**
 * Checks a username and password (argon2id, in the `auth.argon2_verify` span), counts
 * `airlock_login_attempts_total{ok}` and logs the outcome with a fingerprint of the username,
 * never the password.
 */
export async function checkCredentials(
  deps: { db: Kysely<Database>; core: Rampart; metrics: BusinessMetrics },
  username: string,
  password: string,
): Promise<User | undefined> {
  const row = await findUserByUsername(deps.db, username)
  const ok = await verifyPassword(row?.password_hash, password)
  deps.metrics.loginAttempt(ok)
  const user_fp = deps.core.fingerprint(username)
  if (!ok || !row) {
    deps.core.logger.warn({ event: 'login.failed', user_fp }, 'login failed')
    return undefined
  }
  bindUser(row.id)
  deps.core.logger.info({ event: 'login.succeeded', user_fp }, 'login succeeded')
  return { id: row.id, username: row.username, role: row.role }
}
