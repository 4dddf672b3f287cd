import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import type { User } from '../domain/users.js'
import { newSecret, sha256 } from './secrets.js'

/** Creates an API token for the user; the token is returned once and only its hash is kept. */
export async function createApiToken(db: Kysely<Database>, userId: string): Promise<string> {
  // The prefix makes leaked tokens easy to recognise in secret scanners.
  const token = newSecret('alk_')
  await db
    .insertInto('api_tokens')
    .values({ token_hash: sha256(token), user_id: userId, created_at: new Date().toISOString() })
    .execute()
  return token
}

export async function tokenUser(db: Kysely<Database>, token: string): Promise<User | undefined> {
  return db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select(['users.id', 'users.username', 'users.role'])
    .where('api_tokens.token_hash', '=', sha256(token))
    .executeTakeFirst()
}
