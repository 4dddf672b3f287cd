import Fastify, { type FastifyInstance } from 'fastify'
import { defineConfig } from 'rampart'
import rampart from 'rampart/fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { renderRules } from '../../src/slo/rules.js'
import { cli, tempDir, writeTemp } from './support.js'

const ratio = (extra: object = {}) => ({
  name: 'login-success',
  kind: 'ratio',
  good: 'logins_total{ok="true"}',
  total: 'logins_total',
  objective: 90,
  ...extra,
})

describe('ratio SLO config (one clear line, exit 1)', () => {
  const dir = tempDir()
  const cases: Array<[string, object, RegExp]> = [
    [
      'a regular-expression matcher',
      ratio({ good: 'logins_total{ok=~"t.*"}' }),
      /slos\[0\]\.good \(login-success\): "ok=~"t\.\*"": only label="value" and label!="value" matchers, no regular expressions/,
    ],
    [
      'a selector that is not one',
      ratio({ total: 'sum(logins_total)' }),
      /slos\[0\]\.total \(login-success\): expected a counter selector such as metric_total\{label="value"\}/,
    ],
    [
      'a good selector outside the total',
      ratio({ good: 'logins_total{ok="true"}', total: 'logins_total{method="password"}' }),
      /slos\[0\]\.good \(login-success\): good must keep every matcher of total \(logins_total\{method="password"\}\)/,
    ],
    [
      'a good selector equal to the total',
      ratio({ good: 'logins_total{ok="true"}', total: 'logins_total{ok="true"}' }),
      /slos\[0\]\.good \(login-success\): good selects the same series as total: the ratio would always be 100 %/,
    ],
    [
      'a route on a ratio SLO',
      ratio({ route: 'POST /login' }),
      /slos\[0\]\.route \(login-success\): a ratio SLO has no route/,
    ],
  ]
  for (const [what, slo, message] of cases)
    it(`refuses ${what}`, async () => {
      const text = `export default ${JSON.stringify({ service: 'shop', slos: [slo] })}\n`
      const file = writeTemp(dir, `r${cases.findIndex((c) => c[0] === what)}.mjs`, text)
      const r = await cli(['slo', 'rules', '--config', file], dir)
      expect(r.code).toBe(1)
      expect(r.stdout).toBe('')
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(message)
    })

  it('generates PromQL over the two counters with the service selector added', () => {
    const rules = renderRules(defineConfig({ service: 'shop', slos: [ratio() as never] }))
    expect(rules).toContain(
      'sum(rate(logins_total{job="shop"}[5m])) - (sum(rate(logins_total{job="shop",ok="true"}[5m])) or 0 * sum(rate(logins_total{job="shop"}[5m])))',
    )
    expect(rules).toContain('rampart_good: logins_total{ok="true"}')
  })
})

describe('ratio SLOs at start-up: checked against the metrics the service registers', () => {
  const apps: FastifyInstance[] = []
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()))
  })

  async function start(slo: object, register: (app: FastifyInstance) => void) {
    const app = Fastify()
    apps.push(app)
    await app.register(rampart, {
      logLevel: 'silent',
      slo: defineConfig({ service: 'shop', slos: [slo as never] }),
    })
    register(app)
    return app
  }
  const logins = (app: FastifyInstance, labelNames = ['ok'] as const) =>
    app.rampart.metrics.counter({ name: 'logins_total', help: 'Logins', labelNames })

  it('starts when both counters and their labels exist', async () => {
    const app = await start(ratio(), (a) => logins(a))
    await expect(app.ready()).resolves.toBeDefined()
  })

  it('refuses an unknown metric, naming the SLO and the field', async () => {
    const app = await start(ratio({ good: 'login_total{ok="true"}' }), (a) => logins(a))
    await expect(app.ready()).rejects.toThrow(
      'SLO login-success: good: login_total is not a metric shop registers (register it before the app is ready)',
    )
  })

  it('refuses a label the counter does not have, listing its labels', async () => {
    const app = await start(ratio({ good: 'logins_total{success="true"}' }), (a) => logins(a))
    await expect(app.ready()).rejects.toThrow(
      'SLO login-success: good: "success" is not a label of logins_total (its labels: ok)',
    )
  })

  it('refuses a business metric label the counter does not have', async () => {
    const app = Fastify()
    apps.push(app)
    await app.register(rampart, {
      logLevel: 'silent',
      slo: defineConfig({
        service: 'shop',
        slos: [{ name: 'availability', kind: 'availability', objective: 99 }],
        businessMetrics: [{ name: 'logins_total', by: ['result'] }],
      }),
    })
    logins(app)
    await expect(app.ready()).rejects.toThrow(
      'businessMetrics logins_total: "result" is not a label of logins_total (its labels: ok)',
    )
  })

  it('refuses a metric that is not a counter', async () => {
    const app = await start(ratio({ total: 'logins_total', good: 'logins_ok{ok="true"}' }), (a) => {
      logins(a)
      a.rampart.metrics.gauge({ name: 'logins_ok', help: 'x', labelNames: ['ok'] as const })
    })
    await expect(app.ready()).rejects.toThrow(
      'SLO login-success: good: logins_ok is a gauge, not a counter',
    )
  })
})
