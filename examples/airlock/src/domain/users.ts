import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { hashPassword } from '../auth/passwords.js'
import type { Database, Role } from '../db/schema.js'

/** The signed-in user as handlers see it. */
export interface User {
  readonly id: string
  readonly username: string
  readonly role: Role
}

export const DEMO_PASSWORD = 'airlock-demo'
export const DEMO_USERS: ReadonlyArray<{ username: string; role: Role }> = [
  { username: 'researcher', role: 'researcher' },
  { username: 'checker', role: 'checker' },
  { username: 'admin', role: 'admin' },
]

export class UsernameTakenError extends Error {
  override readonly name = 'UsernameTakenError'
}

export async function createUser(
  db: Kysely<Database>,
  input: { username: string; password: string; role: Role },
): Promise<User> {
  const existing = await findUserByUsername(db, input.username)
  if (existing) throw new UsernameTakenError(`username ${input.username} is taken`)
  const user = { id: randomUUID(), username: input.username, role: input.role }
  await db
    .insertInto('users')
    .values({
      ...user,
      password_hash: await hashPassword(input.password),
      created_at: new Date().toISOString(),
    })
    .execute()
  return user
}

export async function findUserByUsername(db: Kysely<Database>, username: string) {
  return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst()
}

export async function findUserById(db: Kysely<Database>, id: string): Promise<User | undefined> {
  return db
    .selectFrom('users')
    .select(['id', 'username', 'role'])
    .where('id', '=', id)
    .executeTakeFirst()
}

export async function listUsers(db: Kysely<Database>) {
  return db
    .selectFrom('users')
    .select(['id', 'username', 'role', 'created_at'])
    .orderBy('username')
    .execute()
}

async function isEmpty(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('users').select('id').limit(1).executeTakeFirst()
  return row === undefined
}

/** Development only: the three demo users with the demo password, once. Returns who was created. */
export async function seedDemoUsers(db: Kysely<Database>): Promise<string[]> {
  const created: string[] = []
  for (const demo of DEMO_USERS) {
    if (await findUserByUsername(db, demo.username)) continue
    await createUser(db, { ...demo, password: DEMO_PASSWORD })
    created.push(demo.username)
  }
  return created
}

/** Production: creates `admin` with the given password when the user table is empty. */
export async function bootstrapAdmin(db: Kysely<Database>, password: string): Promise<boolean> {
  if (!(await isEmpty(db))) return false
  await createUser(db, { username: 'admin', password, role: 'admin' })
  return true
}
