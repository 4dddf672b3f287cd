import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { cli } from './support.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return `http://127.0.0.1:${port}`
}

describe('rampart check', () => {
  it('fails against a bare Fastify server, naming each failed check, exit 1', async () => {
    const app = Fastify()
    app.get('/', async () => ({ hello: 'world' }))
    const url = await listen(app)
    const r = await cli(['check', url])
    expect(r.code).toBe(1)
    const lines = r.stdout.trim().split('\n')
    expect(lines).toHaveLength(8)
    for (const name of [
      'liveness GET /healthz: expected 200, got 404',
      'readiness GET /readyz: expected 200, got 404',
      'metrics GET /metrics: expected 200, got 404',
      '404 as problem+json: expected application/problem+json, got application/json',
      '404 as an HTML page: expected text/html, got application/json',
      'security headers: missing or wrong: x-content-type-options (want nosniff), content-security-policy',
      'CSRF refusal of a cross-site POST: POST /login is not a route here (404); pass --csrf-path',
    ])
      expect(
        lines.some((l) => l.startsWith(`FAILED  ${name}`)),
        name,
      ).toBe(true)
    expect(lines.at(-1)).toBe(
      '7 of 7 checks failed: liveness GET /healthz; readiness GET /readyz; metrics GET /metrics; 404 as problem+json; 404 as an HTML page; security headers; CSRF refusal of a cross-site POST',
    )
  })

  it('names an unreachable service and bad arguments in one line', async () => {
    const app = Fastify()
    const url = await listen(app)
    await app.close()
    const r = await cli(['check', url, '--timeout', '2000'])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/FAILED {2}liveness GET \/healthz: fetch failed \(ECONNREFUSED\)/)
    const usage = await cli(['check'])
    expect(usage.code).toBe(2)
    expect(usage.stderr).toBe(
      'rampart check: expected exactly one <base-url>, e.g. rampart check http://127.0.0.1:3000\n',
    )
    const notUrl = await cli(['check', 'localhost:3000'])
    expect(notUrl.code).toBe(2)
    expect(notUrl.stderr).toMatch(/<base-url> must be an http:\/\/ or https:\/\/ URL/)
  })

  it('against airlock (rampart/fastify): health, readiness and the /metrics token gate pass', async () => {
    const { buildApp } = await import('../../../../examples/airlock/src/app.js')
    const token = 'check-token-0123456789abcdef'
    // Its own SQLite file: never the shared DATABASE_URL's default schema.
    const dataDir = mkdtempSync(join(tmpdir(), 'rampart-check-'))
    const app = await buildApp(
      {
        metrics: { token },
        logLevel: 'silent',
        dataDir,
        databaseUrl: `sqlite:${join(dataDir, 'airlock.db')}`,
      } as never,
      {},
    )
    const url = await listen(app)
    const r = await cli([
      'check',
      url,
      '--metrics-token',
      token,
      '--session-cookie',
      'airlock_session',
    ])
    const passed = (name: string) =>
      r.stdout.split('\n').some((l) => l.startsWith(`passed  ${name}`))
    expect(passed('liveness GET /healthz'), r.stdout).toBe(true)
    expect(passed('readiness GET /readyz'), r.stdout).toBe(true)
    expect(
      passed('metrics GET /metrics: 200 with the RED metrics, 401 without the token'),
      r.stdout,
    ).toBe(true)
    const wrong = await cli(['check', url, '--metrics-token', 'not-the-token-at-all'])
    expect(wrong.stdout).toContain(
      'FAILED  metrics GET /metrics: the token given with --metrics-token was refused (401)',
    )
    expect(r.stdout, r.stdout).toMatch(/all 7 checks passed\n$/)
    expect(r.code).toBe(0)
  })
})
