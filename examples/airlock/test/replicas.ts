import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Child, runTs } from '../../../packages/rampart/test/support/child.js'
import { DEMO_PASSWORD } from './helpers.js'

const REPLICA = new URL('./fixtures/replica.ts', import.meta.url).pathname

/** The audit key the replicas share (and `rampart audit verify` in the tests' `cli()` uses). */
export const REPLICA_AUDIT_KEY = 'k'.repeat(40)

/** One airlock process of `startReplicas`. */
export interface Replica {
  child: Child
  port: number
  url: string
  /** Its JSON log lines so far. */
  lines(): Array<Record<string, unknown>>
}

/**
 * Starts `count` airlock processes sharing one configuration (`env` on top of a shared secret,
 * audit key and data directory): the first alone (it migrates and seeds), the others together.
 */
export async function startReplicas(
  count: number,
  env: Record<string, string>,
): Promise<{ replicas: Replica[]; dataDir: string; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'airlock-replicas-'))
  const shared = {
    SECRET_KEY: randomBytes(32).toString('hex'),
    AUDIT_KEY: REPLICA_AUDIT_KEY,
    DATA_DIR: dataDir,
    ...env,
  }
  const start = async (): Promise<Replica> => {
    const child = runTs(REPLICA, shared)
    const port = await child.port
    return {
      child,
      port,
      url: `http://127.0.0.1:${port}`,
      lines: () =>
        child
          .stdoutText()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
    }
  }
  const first = await start()
  const rest = await Promise.all(Array.from({ length: count - 1 }, start))
  const replicas = [first, ...rest]
  return {
    replicas,
    dataDir,
    async stop() {
      for (const r of replicas) if (r.child.exitCode === null) r.child.kill('SIGKILL')
      await Promise.all(replicas.map((r) => r.child.exited))
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** A bearer token for a demo user, from `replica`. */
export async function apiToken(replica: Replica, username: string): Promise<string> {
  const res = await fetch(`${replica.url}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: DEMO_PASSWORD }),
  })
  if (res.status !== 201)
    throw new Error(`token for ${username}: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { token: string }).token
}

/** Sends a JSON request with a bearer token; resolves with status, headers and body text. */
export async function call(
  url: string,
  token: string | undefined,
  method = 'GET',
  body?: unknown,
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

/** Polls `probe` every 100 ms until it returns true; resolves with the ms it took. */
export async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    if (await probe().catch(() => false)) return Date.now() - started
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}
