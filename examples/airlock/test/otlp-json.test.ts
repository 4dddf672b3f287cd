import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  descendsFrom,
  type OtlpReceiver,
  startOtlpReceiver,
} from '../../../packages/rampart/test/support/otlp-receiver.js'
import { DEMO_PASSWORD, startAirlock, type TestAirlock } from './helpers.js'

// OTEL_EXPORTER_OTLP_PROTOCOL=http/json is one of the three protocols the OpenTelemetry spec
// lists: airlock starts with it and its spans reach the collector as OTLP/JSON. The tracing
// pipeline is per process and reads its variables once, so this file sets them first.
describe('airlock exporting over OTLP http/json', () => {
  let receiver: OtlpReceiver
  let t: TestAirlock
  beforeAll(async () => {
    receiver = await startOtlpReceiver()
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json'
    process.env.OTEL_BSP_SCHEDULE_DELAY = '20'
    t = await startAirlock('sqlite')
  })
  afterAll(async () => {
    await t?.close()
    await receiver?.close()
    delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL
  })

  it('starts, and exports the login span under its server span as JSON', async () => {
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      payload: { username: 'researcher', password: DEMO_PASSWORD },
    })
    expect(login.statusCode).toBe(201)
    await receiver.waitFor(
      (s) =>
        s.some((x) => x.name === 'auth.argon2_verify') &&
        s.some((x) => x.name === 'POST /api/v1/tokens'),
    )
    expect(receiver.contentTypes.length).toBeGreaterThan(0)
    for (const type of receiver.contentTypes) expect(type).toMatch(/^application\/json/)
    const server = receiver.spans.find((s) => s.name === 'POST /api/v1/tokens')
    const argon = receiver.spans.find((s) => s.name === 'auth.argon2_verify')
    expect(server?.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(server?.service).toBe('airlock')
    expect(descendsFrom(receiver.spans, argon?.spanId, server?.spanId)).toBe(true)
    expect(Buffer.concat(receiver.bodies).includes(DEMO_PASSWORD)).toBe(false)
  })
})
