// Shared by the airlock benchmark servers: a fresh SQLite database with one researcher, a known
// API token and one request with a file, so both variants answer the same request.
import { createHash } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import type { Database } from '../../examples/airlock/src/db/schema.js'

export const BENCH_TOKEN = 'alk_bench-token-0123456789abcdefghijklmnopqrstuv'
export const BENCH_REQUEST_ID = '00000000-0000-4000-8000-000000000001'

export function benchDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'airlock-bench-'))
}

export async function seedBench(db: Kysely<Database>): Promise<void> {
  const now = new Date().toISOString()
  const userId = '00000000-0000-4000-8000-00000000000a'
  await db
    .insertInto('users')
    .values({
      id: userId,
      username: 'researcher',
      password_hash: 'x',
      role: 'researcher',
      created_at: now,
    })
    .execute()
  await db
    .insertInto('api_tokens')
    .values({
      token_hash: createHash('sha256').update(BENCH_TOKEN).digest('hex'),
      user_id: userId,
      created_at: now,
    })
    .execute()
  await db
    .insertInto('requests')
    .values({
      id: BENCH_REQUEST_ID,
      owner_id: userId,
      title: 'Survival model outputs',
      direction: 'egress',
      justification: 'Tables 1-3 for the paper',
      status: 'submitted',
      decision_reason: null,
      decided_by: null,
      created_at: now,
      updated_at: now,
    })
    .execute()
  await db
    .insertInto('request_files')
    .values({
      id: '00000000-0000-4000-8000-0000000000f1',
      request_id: BENCH_REQUEST_ID,
      name: 'table1.csv',
      stored_name: 'f1.bin',
      size: 1234,
      sha256: 'a'.repeat(64),
      created_at: now,
    })
    .execute()
}
