import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../../../packages/rampart/test/support/free-port.js'

const MAIN = new URL('../src/main.ts', import.meta.url).pathname
const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function start(
  env: Record<string, string>,
): ChildProcess & { out: () => string; err: () => string; dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'airlock-start-'))
  dirs.push(dataDir)
  const child = spawn(process.execPath, ['--conditions=rampart-source', '--import', 'tsx', MAIN], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d) => {
    out += d
  })
  child.stderr?.on('data', (d) => {
    err += d
  })
  return Object.assign(child, { out: () => out, err: () => err, dataDir })
}

function exited(child: ChildProcess, timeoutMs = 20_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('process did not exit in time')), timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
  })
}

async function waitFor(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('airlock process', () => {
  it('serves on 127.0.0.1 and stops cleanly on Ctrl-C (SIGINT)', async () => {
    const port = await freePort()
    const child = start({ PORT: String(port), LOG_FORMAT: 'json' })
    await waitFor(() => child.out().includes('"event":"service.started"'))
    const res = await fetch(`http://127.0.0.1:${port}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toBeTruthy()
    child.kill('SIGINT')
    expect(await exited(child)).toBe(0)
    const lines = child
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.some((l) => l.event === 'request.completed' && l.route === '/')).toBe(true)
  })

  it('NODE_ENV=production without SECRET_KEY exits ≠ 0 with one line naming SECRET_KEY', async () => {
    const child = start({ NODE_ENV: 'production', PORT: String(await freePort()) })
    const code = await exited(child)
    expect(code).not.toBe(0)
    const err = child.err().trim()
    expect(err.split('\n')).toHaveLength(1)
    expect(err).toContain('SECRET_KEY')
  })

  it('in development creates DATA_DIR, seeds the demo users and prints URL, logins, metrics, console and tracing state', async () => {
    const port = await freePort()
    const dataDir = join(mkdtempSync(join(tmpdir(), 'airlock-fresh-')), 'data')
    dirs.push(dataDir)
    const child = start({ PORT: String(port), DATA_DIR: dataDir })
    await waitFor(() => child.out().includes('tracing:'))
    const out = child.out()
    expect(out).toContain(`airlock is running on http://127.0.0.1:${port}`)
    expect(out).toContain('password "airlock-demo"')
    for (const user of ['researcher', 'checker', 'admin']) expect(out).toContain(user)
    expect(out).toContain(`http://127.0.0.1:${port}/metrics`)
    expect(out).toMatch(/tracing: +off \(set OTEL_EXPORTER_OTLP_ENDPOINT/)
    expect(out).toContain(`ops console:  http://127.0.0.1:${port}/_rampart`)
    const consolePage = await fetch(`http://127.0.0.1:${port}/_rampart`)
    expect(consolePage.status).toBe(200)
    expect(await consolePage.text()).toContain('<h1>airlock</h1>')
    expect(existsSync(join(dataDir, 'airlock.db'))).toBe(true)
    const login = await fetch(`http://127.0.0.1:${port}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'checker', password: 'airlock-demo' }),
    })
    expect(login.status).toBe(201)
    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
  })

  it('NODE_ENV=production with SECRET_KEY starts without demo users; AIRLOCK_ADMIN_PASSWORD bootstraps admin', async () => {
    const port = await freePort()
    const child = start({
      NODE_ENV: 'production',
      PORT: String(port),
      SECRET_KEY: 'p'.repeat(40),
      AIRLOCK_ADMIN_PASSWORD: 'first-admin-password',
    })
    await waitFor(() => child.out().includes('"event":"service.started"'))
    const token = (username: string, password: string) =>
      fetch(`http://127.0.0.1:${port}/api/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      })
    for (const user of ['researcher', 'checker', 'admin'])
      expect((await token(user, 'airlock-demo')).status).toBe(401)
    expect((await token('admin', 'first-admin-password')).status).toBe(201)
    // The session cookie is Secure in production.
    const form = await fetch(`http://127.0.0.1:${port}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=admin&password=first-admin-password',
      redirect: 'manual',
    })
    expect(form.status).toBe(303)
    expect(form.headers.get('set-cookie')).toMatch(/airlock_session=.*; Secure/)
    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
    expect(child.out()).toContain('"event":"user.bootstrapped"')
    expect(child.out()).not.toContain('first-admin-password')
    // The users table holds the bootstrapped admin and nobody else.
    const db = new Database(join(child.dataDir, 'airlock.db'), { readonly: true })
    try {
      expect(db.prepare('select username, role from users').all()).toEqual([
        { username: 'admin', role: 'admin' },
      ])
    } finally {
      db.close()
    }
  })

  it('LOG_LEVEL=loud exits ≠ 0 naming the allowed levels', async () => {
    const child = start({ LOG_LEVEL: 'loud', PORT: String(await freePort()) })
    const code = await exited(child)
    expect(code).not.toBe(0)
    const err = child.err().trim()
    expect(err.split('\n')).toHaveLength(1)
    expect(err).toContain('LOG_LEVEL')
    expect(err).toContain('trace, debug, info, warn, error, fatal, silent')
  })
})
