import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import type { User } from '../domain/users.js'
import { newSecret, sha256 } from './secrets.js'

export const SESSION_COOKIE = 'airlock_session'
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000

/** Starts a session and returns its id (goes in the signed cookie; the table keeps its hash). */
export async function createSession(db: Kysely<Database>, userId: string): Promise<string> {
  const id = newSecret()
  const now = Date.now()
  await db
    .insertInto('sessions')
    .values({
      id_hash: sha256(id),
      user_id: userId,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + SESSION_TTL_MS).toISOString(),
    })
    .execute()
  return id
}

export async function sessionUser(db: Kysely<Database>, id: string): Promise<User | undefined> {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['users.id', 'users.username', 'users.role'])
    .where('sessions.id_hash', '=', sha256(id))
    .where('sessions.expires_at', '>', new Date().toISOString())
    .executeTakeFirst()
}

export async function deleteSession(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id_hash', '=', sha256(id)).execute()
}
