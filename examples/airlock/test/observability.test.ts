import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATABASES, DEMO_PASSWORD, metricValue, startAirlock, type TestAirlock } from './helpers.js'

const run = promisify(execFile)
const CLI = new URL('../../../packages/rampart/bin/rampart.js', import.meta.url).pathname
const SECRET = 'airlock-observability-test-secret-0123456789abcdef'
const CANARY = 'canary-password-Zq81x'

for (const { name, url } of DATABASES)
  describe.skipIf(!url)(`airlock logins, metrics, logs and audit on ${name}`, () => {
    let t: TestAirlock
    const seen: string[] = []
    beforeAll(async () => {
      t = await startAirlock(url, { secretKey: SECRET })
      // Three failed logins (form and API), two good ones.
      for (const password of [CANARY, `${CANARY}-2`]) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/login',
          payload: { username: 'researcher', password },
        })
        expect(res.statusCode).toBe(401)
      }
      const bad = await t.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        payload: { username: 'nobody', password: `${CANARY}-3` },
      })
      expect(bad.statusCode).toBe(401)
      const form = await t.app.inject({
        method: 'POST',
        url: '/login',
        payload: { username: 'checker', password: DEMO_PASSWORD },
      })
      expect(form.statusCode).toBe(303)
      expect(form.headers.location).toBe('/requests')
      const cookie = String(form.headers['set-cookie'])
      expect(cookie).toMatch(/^airlock_session=[^;]+;/)
      expect(cookie).toContain('HttpOnly')
      expect(cookie).toContain('SameSite=Lax')
      seen.push(decodeURIComponent(cookie.split(';')[0]?.split('=')[1] ?? ''))

      const tok = async (u: string) => {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/v1/tokens',
          payload: { username: u, password: DEMO_PASSWORD },
        })
        const token = res.json().token as string
        seen.push(token)
        return { authorization: `Bearer ${token}` }
      }
      const researcher = await tok('researcher')
      const checker = await tok('checker')
      // Workflow: egress approved, ingress rejected, one more egress left submitted.
      for (const [direction, decision] of [
        ['egress', 'approve'],
        ['ingress', 'reject'],
        ['egress', undefined],
      ] as const) {
        const created = await t.app.inject({
          method: 'POST',
          url: '/api/v1/requests',
          headers: researcher,
          payload: { title: `${direction} ${decision}`, direction, justification: 'j' },
        })
        const id = created.json().id
        const sub = await t.app.inject({
          method: 'POST',
          url: `/api/v1/requests/${id}/submit`,
          headers: researcher,
        })
        expect(sub.statusCode).toBe(200)
        if (decision) {
          const res = await t.app.inject({
            method: 'POST',
            url: `/api/v1/requests/${id}/${decision}`,
            headers: checker,
            payload: { reason: `${decision} reason` },
          })
          expect(res.statusCode).toBe(200)
        }
      }
    })
    afterAll(async () => {
      await t?.close()
    })

    it('logs failed logins with a fingerprint and never a password, cookie or token', () => {
      const text = t.logs.text()
      const failed = t.logs.lines().filter((l) => l.event === 'login.failed')
      expect(failed).toHaveLength(3)
      for (const line of failed) expect(line.user_fp).toMatch(/^[0-9a-f]{8}$/)
      expect(t.logs.lines().filter((l) => l.event === 'login.succeeded')).toHaveLength(3)
      for (const secret of [CANARY, DEMO_PASSWORD, ...seen]) {
        expect(secret.length).toBeGreaterThan(8)
        expect(text).not.toContain(secret)
      }
      // user_id is bound by the global authentication hook: the submit lines carry it.
      const submitted = t.logs.lines().filter((l) => l.event === 'request.submitted')
      expect(submitted).toHaveLength(3)
      for (const line of submitted) expect(line.user_id).toMatch(/^[0-9a-f-]{36}$/)
    })

    it('shows exact business counters on /metrics', async () => {
      const res = await t.app.inject({ url: '/metrics' })
      expect(res.statusCode).toBe(200)
      const text = res.body
      const m = (s: string) => metricValue(text, s)
      expect(m('airlock_login_attempts_total{ok="false"}')).toBe(3)
      expect(m('airlock_login_attempts_total{ok="true"}')).toBe(3)
      expect(m('airlock_requests_submitted_total{direction="egress"}')).toBe(2)
      expect(m('airlock_requests_submitted_total{direction="ingress"}')).toBe(1)
      expect(m('airlock_requests_approved_total{direction="egress"}')).toBe(1)
      expect(m('airlock_requests_approved_total{direction="ingress"}')).toBe(0)
      expect(m('airlock_requests_rejected_total{direction="egress"}')).toBe(0)
      expect(m('airlock_requests_rejected_total{direction="ingress"}')).toBe(1)
    })

    it('lets an admin read and add users through forms carrying the CSRF token', async () => {
      const login = await t.app.inject({
        method: 'POST',
        url: '/login',
        payload: { username: 'admin', password: DEMO_PASSWORD },
      })
      const cookie = String(login.headers['set-cookie']).split(';')[0] as string
      const page = await t.app.inject({ url: '/admin/users', headers: { cookie } })
      expect(page.statusCode).toBe(200)
      const token = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1] as string
      expect(token).toBeTruthy()
      const form = { username: 'grace', password: 'a-long-password-2', role: 'checker' }
      const forged = await t.app.inject({
        method: 'POST',
        url: '/admin/users',
        headers: { cookie },
        payload: form,
      })
      expect(forged.statusCode).toBe(403)
      const created = await t.app.inject({
        method: 'POST',
        url: '/admin/users',
        headers: { cookie },
        payload: { ...form, csrf_token: token },
      })
      expect(created.statusCode).toBe(303)
      const taken = await t.app.inject({
        method: 'POST',
        url: '/admin/users',
        headers: { cookie },
        payload: { ...form, csrf_token: token },
      })
      expect(taken.statusCode).toBe(422)
      expect(taken.body).toContain('That username is taken')
    })

    it('keeps an audit chain that `rampart audit verify` accepts, with the approve row', async () => {
      const env = { ...process.env, SECRET_KEY: SECRET, DATA_DIR: t.dataDir }
      const db = `sqlite:${join(t.dataDir, 'audit.db')}`
      const verify = await run(process.execPath, [CLI, 'audit', 'verify', '--list', '--db', db], {
        env,
      })
      // execFile rejects on a non-zero exit, so reaching here means verify exited 0.
      const lines = verify.stdout.trim().split('\n')
      const summary = lines.pop() as string
      const listed = lines.map((l) => {
        const [id, at, actor, action, target, outcome] = l.split('\t')
        return { id: Number(id), at, actor, action, target, outcome }
      })
      // Every row listed, in chain order, and the summary counts exactly those.
      expect(listed.map((r) => r.id)).toEqual(listed.map((_, i) => i + 1))
      expect(summary).toMatch(new RegExp(`^verified ${listed.length} rows, head [0-9a-f]{64}$`))
      // verify lists the approve row: the checker approved it.
      expect(listed.filter((r) => r.action === 'request.approved')).toEqual([
        expect.objectContaining({
          actor: expect.stringMatching(/^(?!-$)\S+$/),
          outcome: 'success',
        }),
      ])
      const exported = await run(process.execPath, [CLI, 'audit', 'export', '--db', db], { env })
      const rows = exported.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { action: string; outcome: string; target: string })
      expect(rows).toHaveLength(listed.length)
      const approved = rows.filter((r) => r.action === 'request.approved')
      expect(approved).toHaveLength(1)
      expect(approved[0]?.outcome).toBe('success')
      expect(rows.filter((r) => r.action === 'request.rejected')).toHaveLength(1)
      // Admin reads and user changes are audited too; the refused duplicate wrote no user row.
      expect(rows.filter((r) => r.action === 'admin.users.read')).toHaveLength(1)
      expect(rows.filter((r) => r.action === 'user.created')).toEqual([
        expect.objectContaining({ target: 'user:grace', outcome: 'success' }),
      ])
    })
  })

for (const { name, url } of DATABASES)
  describe.skipIf(!url)(`login rate limit on ${name}`, () => {
    let t: TestAirlock
    beforeAll(async () => {
      t = await startAirlock(url)
    })
    afterAll(async () => {
      await t?.close()
    })

    it('answers the 11th login within a minute with 429 and Retry-After', async () => {
      const attempt = () =>
        t.app.inject({
          method: 'POST',
          url: '/login',
          payload: { username: 'researcher', password: 'wrong-password' },
        })
      const first = await attempt()
      expect(first.headers['ratelimit-policy']).toBe('"auth";q=10;w=60')
      for (let i = 2; i <= 10; i++) expect((await attempt()).statusCode).toBe(401)
      const eleventh = await attempt()
      expect(eleventh.statusCode).toBe(429)
      expect(Number(eleventh.headers['retry-after'])).toBeGreaterThan(0)
      // The refused attempt never reached the password check: 10 failures counted, not 11.
      const metrics = await t.app.inject({ url: '/metrics' })
      expect(metricValue(metrics.body, 'airlock_login_attempts_total{ok="false"}')).toBe(10)
    })
  })
