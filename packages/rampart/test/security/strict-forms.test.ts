import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import Fastify, { type FastifyInstance } from 'fastify'
import rampart from 'rampart/fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multipartGuard } from '../../src/security/multipart-guard.js'

/**
 * Forms are parsed strictly: what busboy would silently skip or store (a part with no name or
 * no Content-Disposition, two files under one name, a nested multipart part, a header flood)
 * and urlencoded bodies with too many fields or too-deep names are refused with a problem.
 */

const BOUNDARY = 'XyZb0undary'
const part = (headers: string[], body = 'data') =>
  `--${BOUNDARY}\r\n${headers.join('\r\n')}\r\n\r\n${body}\r\n`
const form = (...parts: string[]) => `${parts.join('')}--${BOUNDARY}--\r\n`
const file = (name: string, filename = 'a.txt') =>
  part([
    `Content-Disposition: form-data; name="${name}"; filename="${filename}"`,
    'Content-Type: text/plain',
  ])
const field = (name: string, value = 'v') =>
  part([`Content-Disposition: form-data; name="${name}"`], value)

let app: FastifyInstance
const completed: string[][] = []

beforeAll(async () => {
  app = Fastify()
  await app.register(rampart, { logLevel: 'silent', shutdown: { signals: false } })
  await app.register(formbody)
  await app.register(multipart, { limits: app.rampart.limits.multipart })
  app.post('/upload', async (request) => {
    const names: string[] = []
    for await (const p of request.parts()) {
      if (p.type === 'file') await p.toBuffer()
      names.push(p.fieldname)
    }
    // Recorded only once the whole form was read, as a real handler stores a record.
    completed.push(names)
    return { names }
  })
  app.post('/form', async (request) => ({ keys: Object.keys(request.body as object).length }))
})
afterAll(async () => {
  await app.close()
})

const upload = (payload: string) =>
  app.inject({
    method: 'POST',
    url: '/upload',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    payload,
  })

describe('multipart bodies', () => {
  it('a well-formed form goes through', async () => {
    const res = await upload(form(field('title'), file('file')))
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ names: ['title', 'file'] })
  })

  const refused: Array<[string, string, number, RegExp]> = [
    [
      'a part with no name',
      form(field('title'), part(['Content-Disposition: form-data; filename="x.txt"'])),
      400,
      /no field name/,
    ],
    [
      'a part with no Content-Disposition',
      form(part(['Content-Type: text/plain'])),
      400,
      /no Content-Disposition/,
    ],
    ['a part with no header at all', form(part([])), 400, /no Content-Disposition/],
    [
      'a part that is not form-data',
      form(part(['Content-Disposition: attachment; name="a"'])),
      400,
      /Content-Disposition/,
    ],
    [
      'two files under one name',
      form(file('file'), file('file', 'b.txt')),
      400,
      /more than one file/,
    ],
    [
      'a nested multipart part',
      form(
        part(
          [
            'Content-Disposition: form-data; name="inner"',
            'Content-Type: multipart/mixed; boundary=in',
          ],
          '--in--',
        ),
      ),
      400,
      /nested multipart/,
    ],
    [
      'a header flood',
      form(
        part([
          'Content-Disposition: form-data; name="a"',
          ...Array.from({ length: 150 }, (_, i) => `X-H${i}: 1`),
        ]),
      ),
      413,
      /more header lines/,
    ],
    [
      'a header block over 8 KiB',
      form(part(['Content-Disposition: form-data; name="a"', `X-Big: ${'b'.repeat(9000)}`])),
      413,
      /header block larger/,
    ],
  ]
  for (const [name, payload, status, detail] of refused) {
    it(`${name} → ${status} problem, never stored`, async () => {
      const before = completed.length
      const res = await upload(payload)
      expect(res.statusCode).toBe(status)
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(res.json().detail).toMatch(detail)
      expect(completed.length).toBe(before)
    })
  }

  it('the guard holds when the body arrives one byte at a time', () => {
    const shape = { headerPairs: 100, headerBytes: 8192 }
    const feed = (body: string) => {
      const guard = multipartGuard(BOUNDARY, shape)
      for (const byte of Buffer.from(body)) {
        const refusal = guard.write(Buffer.from([byte]))
        if (refusal !== undefined) return refusal.status
      }
      return 'accepted'
    }
    expect(feed(form(field('title'), file('file'), file('other')))).toBe('accepted')
    expect(feed(form(field('title'), part(['Content-Type: text/plain'])))).toBe(400)
    expect(feed(form(file('f'), file('f')))).toBe(400)
  })
})

describe('urlencoded bodies', () => {
  const post = (payload: string) =>
    app.inject({
      method: 'POST',
      url: '/form',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload,
    })

  it('an ordinary form goes through', async () => {
    const res = await post('a=1&b[c]=2&d=%5Bx%5D')
    expect(res.statusCode).toBe(200)
  })

  it('more than 1000 fields → 413', async () => {
    const res = await post(Array.from({ length: 1001 }, (_, i) => `k${i}=v`).join('&'))
    expect(res.statusCode).toBe(413)
    expect(res.json().detail).toMatch(/more fields/)
  })

  it('a field name nested deeper than 8 brackets, plain or percent-encoded → 400', async () => {
    for (const payload of [`a${'[x]'.repeat(9)}=1`, `a${'%5Bx%5D'.repeat(9)}=1`]) {
      const res = await post(payload)
      expect(res.statusCode, payload).toBe(400)
      expect(res.json().detail).toMatch(/nested too deeply/)
    }
  })
})
