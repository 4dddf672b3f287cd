import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  descendsFrom,
  type OtlpReceiver,
  startOtlpReceiver,
} from '../../../packages/rampart/test/support/otlp-receiver.js'
import {
  DATABASES,
  DEMO_PASSWORD,
  multipartFile,
  startAirlock,
  type TestAirlock,
} from './helpers.js'

// docs/airlock.md: airlock's manual spans are auth.argon2_verify and upload.store, each a child of
// the request's server span; the password never reaches the collector.
for (const { name, url } of DATABASES)
  describe.skipIf(!url)(`airlock traces on ${name}`, () => {
    let receiver: OtlpReceiver
    let t: TestAirlock
    beforeAll(async () => {
      receiver = await startOtlpReceiver()
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url
      process.env.OTEL_BSP_SCHEDULE_DELAY = '20'
      t = await startAirlock(url)
    })
    afterAll(async () => {
      await t?.close()
      await receiver?.close()
    })

    it('exports the login and upload spans under their server spans', async () => {
      const login = await t.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        payload: { username: 'researcher', password: DEMO_PASSWORD },
      })
      expect(login.statusCode).toBe(201)
      const auth = { authorization: `Bearer ${login.json<{ token: string }>().token}` }
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/requests',
        headers: auth,
        payload: { title: 'Tables', direction: 'egress', justification: 'Paper' },
      })
      const file = multipartFile('table.csv', 'a,b\n')
      const uploaded = await t.app.inject({
        method: 'POST',
        url: `/api/v1/requests/${created.json<{ id: string }>().id}/files`,
        headers: { ...auth, ...file.headers },
        payload: file.payload,
      })
      expect(uploaded.statusCode).toBe(200)

      // The server span ends after the response (onResponse), so it can reach the collector in
      // a later batch than its children: wait for both.
      await receiver.waitFor(
        (s) =>
          s.some((x) => x.name === 'upload.store') &&
          s.some((x) => x.name === 'POST /api/v1/requests/:id/files'),
      )
      const spans = receiver.spans
      const tokenServer = spans.find((s) => s.name === 'POST /api/v1/tokens')
      const argon = spans.find((s) => s.name === 'auth.argon2_verify')
      expect(argon?.parentSpanId).toBe(tokenServer?.spanId)
      const uploadServer = spans.find((s) => s.name === 'POST /api/v1/requests/:id/files')
      const store = spans.find((s) => s.name === 'upload.store')
      expect(descendsFrom(spans, store?.spanId, uploadServer?.spanId)).toBe(true)
      expect(uploadServer?.attributes['enduser.pseudo.id']).toMatch(/^[0-9a-f]{8}$/)
      expect(Buffer.concat(receiver.bodies).includes(DEMO_PASSWORD)).toBe(false)
    })
  })
