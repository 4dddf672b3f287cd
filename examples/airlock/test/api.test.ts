import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DATABASES,
  DEMO_PASSWORD,
  multipartFile,
  startAirlock,
  type TestAirlock,
} from './helpers.js'

const REQUEST_KEYS = [
  'created_at',
  'decision_reason',
  'direction',
  'files',
  'id',
  'justification',
  'owner',
  'status',
  'title',
  'updated_at',
].sort()

for (const { name, url } of DATABASES)
  describe.skipIf(!url)(`airlock JSON API on ${name}`, () => {
    let t: TestAirlock
    let researcher: string
    let checker: string
    beforeAll(async () => {
      t = await startAirlock(url)
      researcher = await token('researcher')
      checker = await token('checker')
    })
    afterAll(async () => {
      await t?.close()
    })

    async function token(username: string): Promise<string> {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        payload: { username, password: DEMO_PASSWORD },
      })
      expect(res.statusCode).toBe(201)
      const body = res.json<{ token: string }>()
      expect(body.token).toMatch(/^alk_[A-Za-z0-9_-]{43}$/)
      return body.token
    }
    const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` })

    it('runs the workflow in JSON with a bearer token and no CSRF token', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/requests',
        headers: bearer(researcher),
        payload: {
          title: 'Regression tables',
          direction: 'egress',
          justification: 'Paper, table 2',
        },
      })
      expect(created.statusCode).toBe(201)
      const draft = created.json()
      expect(Object.keys(draft).sort()).toEqual(REQUEST_KEYS)
      expect(draft).toMatchObject({
        title: 'Regression tables',
        direction: 'egress',
        justification: 'Paper, table 2',
        status: 'draft',
        owner: 'researcher',
        files: [],
        decision_reason: null,
      })
      expect(Date.parse(draft.created_at)).not.toBeNaN()

      const file = multipartFile('../../etc/table2.csv', 'a,b\n1,2\n')
      const uploaded = await t.app.inject({
        method: 'POST',
        url: `/api/v1/requests/${draft.id}/files`,
        headers: { ...bearer(researcher), ...file.headers },
        payload: file.payload,
      })
      expect(uploaded.statusCode).toBe(200)
      const [f] = uploaded.json().files
      expect(f).toEqual({
        id: expect.any(String),
        name: 'table2.csv',
        size: 8,
        sha256: createHash('sha256').update('a,b\n1,2\n').digest('hex'),
        // Answered before the background output check ran.
        scan: { status: 'pending', findings: [] },
      })
      // Stored under a generated name inside DATA_DIR/uploads, never the client's name or path.
      const stored = readdirSync(join(t.dataDir, 'uploads'))
      expect(stored).toEqual([`${f.id}.bin`])
      expect(readFileSync(join(t.dataDir, 'uploads', stored[0] as string), 'utf8')).toBe(
        'a,b\n1,2\n',
      )
      expect(existsSync(join(t.dataDir, 'etc'))).toBe(false)

      const submitted = await t.app.inject({
        method: 'POST',
        url: `/api/v1/requests/${draft.id}/submit`,
        headers: bearer(researcher),
      })
      expect(submitted.statusCode).toBe(200)
      expect(submitted.json().status).toBe('submitted')

      const forbidden = await t.app.inject({
        method: 'POST',
        url: `/api/v1/requests/${draft.id}/approve`,
        headers: bearer(researcher),
        payload: { reason: 'I approve of myself' },
      })
      expect(forbidden.statusCode).toBe(403)
      expect(forbidden.headers['content-type']).toContain('application/problem+json')

      const approved = await t.app.inject({
        method: 'POST',
        url: `/api/v1/requests/${draft.id}/approve`,
        headers: bearer(checker),
        payload: { reason: 'No disclosure risk' },
      })
      expect(approved.statusCode).toBe(200)
      expect(approved.json()).toMatchObject({
        id: draft.id,
        status: 'approved',
        decision_reason: 'No disclosure risk',
      })

      const again = await t.app.inject({
        method: 'POST',
        url: `/api/v1/requests/${draft.id}/reject`,
        headers: bearer(checker),
        payload: { reason: 'changed my mind' },
      })
      expect(again.statusCode).toBe(409)

      // The file's output check runs in the background: compare once it is done (a, b = 1, 2
      // are small counts: flagged).
      const scanned = async () => {
        for (let i = 0; i < 200; i++) {
          const res = await t.app.inject({
            url: `/api/v1/requests/${draft.id}`,
            headers: bearer(researcher),
          })
          if (res.json().files[0].scan.status !== 'pending') return res
          await new Promise((r) => setTimeout(r, 25))
        }
        throw new Error('the scan did not finish')
      }
      const got = await scanned()
      expect(got.statusCode).toBe(200)
      expect(got.json().files[0].scan.status).toBe('flagged')
      const withScan = { ...approved.json(), files: got.json().files }
      expect(got.json()).toEqual(withScan)

      const list = await t.app.inject({ url: '/api/v1/requests', headers: bearer(checker) })
      expect(list.statusCode).toBe(200)
      expect(list.json()).toEqual({ items: [withScan], next_cursor: null })
    })

    it('answers 422 with field errors for a bad payload', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/requests',
        headers: bearer(researcher),
        payload: { title: '   ', direction: 'sideways' },
      })
      expect(res.statusCode).toBe(422)
      const body = res.json()
      expect(body.status).toBe(422)
      const fields = (body.errors as Array<{ field: string }>).map((e) => e.field).sort()
      expect(fields).toEqual(['direction', 'justification', 'title'])
    })

    it('answers 401 without a token and 403 when a checker tries to create', async () => {
      const anon = await t.app.inject({ url: '/api/v1/requests' })
      expect(anon.statusCode).toBe(401)
      const wrongRole = await t.app.inject({
        method: 'POST',
        url: '/api/v1/requests',
        headers: bearer(checker),
        payload: { title: 't', direction: 'ingress', justification: 'j' },
      })
      expect(wrongRole.statusCode).toBe(403)
    })

    it('does not show one researcher the request of another, nor drafts to checkers', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/requests',
        headers: bearer(researcher),
        payload: { title: 'private draft', direction: 'ingress', justification: 'j' },
      })
      const id = created.json().id
      const asChecker = await t.app.inject({
        url: `/api/v1/requests/${id}`,
        headers: bearer(checker),
      })
      expect(asChecker.statusCode).toBe(404)
    })
  })

/** A researcher's bearer headers and a new draft request of theirs. */
async function researcherDraft(t: TestAirlock, title: string) {
  const auth = await t.app.inject({
    method: 'POST',
    url: '/api/v1/tokens',
    payload: { username: 'researcher', password: DEMO_PASSWORD },
  })
  const headers = { authorization: `Bearer ${auth.json().token}` }
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/v1/requests',
    headers,
    payload: { title, direction: 'egress', justification: 'j' },
  })
  return { headers, created }
}

for (const { name, url } of DATABASES)
  describe.skipIf(!url)(`uploads over the limit on ${name}`, () => {
    let t: TestAirlock
    beforeAll(async () => {
      t = await startAirlock(url, { maxUploadMb: 1 })
    })
    afterAll(async () => {
      await t?.close()
    })

    it('answers 413 and keeps no partial file', async () => {
      const { headers, created } = await researcherDraft(t, 'big')
      const file = multipartFile('big.bin', Buffer.alloc(1_048_576 + 10, 7))
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/v1/requests/${created.json().id}/files`,
        headers: { ...headers, ...file.headers },
        payload: file.payload,
      })
      expect(res.statusCode).toBe(413)
      // Rampart refuses the body before the handler runs, so no upload is even started.
      const uploads = join(t.dataDir, 'uploads')
      expect(existsSync(uploads) ? readdirSync(uploads) : []).toEqual([])
      const after = await t.app.inject({ url: `/api/v1/requests/${created.json().id}`, headers })
      expect(after.json().files).toEqual([])
    })
  })

for (const { name, url } of DATABASES)
  describe.skipIf(!url)(`airlock readiness and form limits on ${name}`, () => {
    let t: TestAirlock
    beforeAll(async () => {
      t = await startAirlock(url)
    })
    afterAll(async () => {
      await t?.close()
    })

    it('multipart limits: more parts, files or a larger field than allowed → 413, a file repeated under one name → 400, nothing stored', async () => {
      const { headers, created } = await researcherDraft(t, 'parts')
      const id = created.json().id as string
      const boundary = '----airlock-limits'
      const body = (parts: string[]) =>
        Buffer.from(`${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--\r\n`)
      const field = (name: string, value: string) =>
        `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`
      const file = (name: string, fieldName = 'file') =>
        `Content-Disposition: form-data; name="${fieldName}"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\nx`
      const cases: Record<string, [string[], number]> = {
        // airlock narrows Rampart's limits to one file, 4 fields, 5 parts per form
        'two files': [[file('a.txt'), file('b.txt', 'other')], 413],
        // Rampart's multipart guard: never one of them silently kept
        'two files under one name': [[file('a.txt'), file('b.txt')], 400],
        'ten fields before the file': [
          [...Array.from({ length: 10 }, (_, i) => field(`f${i}`, 'v')), file('a.txt')],
          413,
        ],
        'a field over the field size': [[field('note', 'x'.repeat(70 * 1024)), file('a.txt')], 413],
      }
      for (const [what, [parts, status]] of Object.entries(cases)) {
        const res = await t.app.inject({
          method: 'POST',
          url: `/api/v1/requests/${id}/files`,
          headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}` },
          payload: body(parts),
        })
        expect(res.statusCode, what).toBe(status)
        expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/)
      }
      const after = await t.app.inject({ url: `/api/v1/requests/${id}`, headers })
      expect(after.json().files).toEqual([])
      // The file stored before the rest of the form was read is removed again.
      const uploads = join(t.dataDir, 'uploads')
      expect(existsSync(uploads) ? readdirSync(uploads) : []).toEqual([])
    })

    it('/readyz checks the database: 200 while it answers, 503 naming it once it is gone', async () => {
      const ok = await t.app.inject({ url: '/readyz' })
      expect(ok.statusCode).toBe(200)
      expect(ok.json()).toMatchObject({ status: 'ok', checks: { database: { status: 'ok' } } })
      await t.app.airlock.db.destroy()
      const down = await t.app.inject({ url: '/readyz' })
      expect(down.statusCode).toBe(503)
      expect(down.json()).toMatchObject({ status: 'unavailable', failing: ['database'] })
    })
  })
