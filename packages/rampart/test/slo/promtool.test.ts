import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { loadConfig } from '../../src/slo/load-config.js'
import { renderRuleTests } from '../../src/slo/rule-tests.js'
import { renderRules } from '../../src/slo/rules.js'
import { service } from '../support/services.js'
import { AIRLOCK_CONFIG_FILE, cli, REPO_ROOT, run, tempDir, VARIED } from './support.js'

const PROMTOOL = service('PROMTOOL_BIN')
const AMTOOL = service('AMTOOL_BIN')

interface TestFile {
  tests: Array<{
    name: string
    alert_rule_test?: Array<{
      eval_time: string
      alertname: string
      exp_alerts: Array<{ exp_labels: Record<string, string> }>
    }>
  }>
}

describe.skipIf(!PROMTOOL)('generated rules under promtool', () => {
  const promtool = PROMTOOL as string

  it('passes promtool check rules --lint-fatal for airlock and a varied config', async () => {
    const dir = tempDir()
    for (const [name, text] of [
      ['ops', readFileSync(join(REPO_ROOT, 'ops/rules/airlock.rules.yml'), 'utf8')],
      ['varied', renderRules(VARIED)],
    ] as const) {
      const file = join(dir, `${name}.rules.yml`)
      writeFileSync(file, text)
      const r = await run(promtool, ['check', 'rules', '--lint-fatal', file])
      expect(r.out).toMatch(/SUCCESS: \d+ rules found/)
      expect(r.code).toBe(0)
    }
  })

  it('`rampart slo rules` on airlock’s config (p99 < 200 ms, a ratio SLO) writes the committed rules and tests, which promtool accepts', async () => {
    const dir = tempDir()
    const r = await cli(
      [
        'slo',
        'rules',
        '--config',
        AIRLOCK_CONFIG_FILE,
        '--out',
        'airlock.rules.yml',
        '--tests',
        'airlock.rules.test.yml',
      ],
      dir,
    )
    expect(r.code).toBe(0)
    // 90 % leaves 10 %: the 14.4x tier would need 144 % bad events, so it is left out, loudly.
    expect(r.stderr).toContain(
      'warning: SLO "login-success": the 14.4x page tier (1h/5m) is left out',
    )
    for (const f of ['airlock.rules.yml', 'airlock.rules.test.yml'])
      expect(readFileSync(join(dir, f), 'utf8')).toBe(
        readFileSync(join(REPO_ROOT, 'ops/rules', f), 'utf8'),
      )
    const check = await run(promtool, [
      'check',
      'rules',
      '--lint-fatal',
      join(dir, 'airlock.rules.yml'),
    ])
    expect(check.out).toMatch(/SUCCESS: \d+ rules found/)
    expect(check.code).toBe(0)
  })

  it("airlock's generated unit tests pass: 14.4x pages at the minute the 1h window fills, 1x never pages, le=0.5 is the bucket counted", async () => {
    const { config } = await loadConfig(REPO_ROOT, AIRLOCK_CONFIG_FILE)
    const doc = parse(renderRuleTests(config, 'airlock.rules.yml')) as TestFile
    // What the generated tests assert (so a generator that asserted nothing would fail here).
    const fast = doc.tests.find((t) => t.name.startsWith('availability: a 14.4x burn'))
    const pages = (t: string) =>
      fast?.alert_rule_test
        ?.find((a) => a.eval_time === t)
        ?.exp_alerts.some((e) => e.exp_labels.burn_rate === '14.4')
    expect(pages('419m')).toBe(false)
    expect(pages('420m')).toBe(true)
    const slow = doc.tests.find((t) => t.name.startsWith('availability: a 1x burn'))
    expect(slow?.alert_rule_test?.map((a) => a.exp_alerts)).toEqual([[], [], []])
    expect(doc.tests.some((t) => t.name.includes('counts the le="0.5" bucket'))).toBe(true)
    // p99 < 200 ms: a threshold off the default buckets, counted at exactly le="0.2".
    expect(doc.tests.some((t) => t.name.includes('counts the le="0.2" bucket'))).toBe(true)
    expect(doc.tests.map((t) => t.name)).toContain(
      'login-success: 45 good and 15 bad events a minute are an error ratio of 0.25',
    )

    const dir = tempDir()
    cpSync(join(REPO_ROOT, 'ops/rules'), dir, { recursive: true })
    const r = await run(promtool, ['test', 'rules', 'airlock.rules.test.yml'], dir)
    expect(r.out).toContain('SUCCESS')
    expect(r.code).toBe(0)
  }, 240_000)

  it('a varied config’s generated unit tests pass (service-wide 0.3 s threshold, a ratio over two counters, 28d)', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'varied.rules.yml'), renderRules(VARIED))
    writeFileSync(join(dir, 'varied.rules.test.yml'), renderRuleTests(VARIED, 'varied.rules.yml'))
    const doc = parse(readFileSync(join(dir, 'varied.rules.test.yml'), 'utf8')) as TestFile
    expect(doc.tests.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'all-latency: the latency SLI counts the le="0.3" bucket (half the requests are slower)',
        'payments: 45 good and 15 bad events a minute are an error ratio of 0.25',
      ]),
    )
    const r = await run(promtool, ['test', 'rules', 'varied.rules.test.yml'], dir)
    expect(r.out).toContain('SUCCESS')
    expect(r.code).toBe(0)
  }, 240_000)

  it('the generated tests fail when the page threshold or the latency bucket is wrong (mutations)', async () => {
    const dir = tempDir()
    cpSync(join(REPO_ROOT, 'ops/rules'), dir, { recursive: true })
    const rules = readFileSync(join(dir, 'airlock.rules.yml'), 'utf8')
    const suite = parse(readFileSync(join(dir, 'airlock.rules.test.yml'), 'utf8')) as TestFile
    // Each mutant against the generated cases of the SLO it breaks (all of them would take
    // minutes per mutant on a loaded machine).
    const mutants: Array<[string, string, string]> = [
      [
        'page threshold 1.44 % → 14.4 %',
        'availability',
        rules.replaceAll('>= 0.0144 and', '>= 0.144 and').replaceAll('>= 0.0144\n', '>= 0.144\n'),
      ],
      [
        'latency bucket le=0.5 → le=0.25',
        'login-latency',
        rules.replaceAll('le="0.5"', 'le="0.25"'),
      ],
      [
        'latency bucket le=0.2 → le=0.25',
        'request-list-latency',
        rules.replaceAll('le="0.2"', 'le="0.25"'),
      ],
      [
        'ratio good events ok="true" → ok="false"',
        'login-success',
        rules.replaceAll('ok="true"', 'ok="false"'),
      ],
      // The jobs SLOs: retries counted as failures, and the wrong wait bucket.
      [
        'jobs failures outcome="failed" → outcome=~"failed|retried"',
        'scans-succeed',
        rules.replaceAll('outcome="failed"', 'outcome=~"failed|retried"'),
      ],
      [
        'jobs wait bucket le=30 → le=10',
        'scans-start',
        rules.replaceAll('le=~"30|30\\\\.0"', 'le=~"10|10\\\\.0"'),
      ],
    ]
    for (const [what, slo, text] of mutants) {
      expect(text, what).not.toBe(rules)
      writeFileSync(join(dir, 'airlock.rules.yml'), text)
      const cases = suite.tests.filter((t) => t.name.startsWith(`${slo}: `))
      expect(cases.length, slo).toBeGreaterThan(1)
      writeFileSync(join(dir, 'mutant.test.yml'), stringify({ ...suite, tests: cases }))
      const r = await run(promtool, ['test', 'rules', 'mutant.test.yml'], dir)
      expect(r.code, `${what} should fail the tests`).not.toBe(0)
      expect(r.out).toContain('FAILED')
    }
  }, 300_000)

  it('passes promtool check config on the generated prometheus.yml', async () => {
    const dir = tempDir()
    cpSync(join(REPO_ROOT, 'ops'), dir, { recursive: true })
    // The operator puts the service's METRICS_TOKEN here (ops init creates one); the check needs the file.
    writeFileSync(join(dir, 'secrets/metrics-token'), 'a-token-for-the-test')
    const r = await run(promtool, ['check', 'config', '--lint-fatal', join(dir, 'prometheus.yml')])
    expect(r.out).toMatch(/SUCCESS: 1 rule files found/)
    expect(r.code).toBe(0)
  })

  it.skipIf(!AMTOOL)('passes amtool check-config on the generated alertmanager.yml', async () => {
    const r = await run(AMTOOL as string, ['check-config', join(REPO_ROOT, 'ops/alertmanager.yml')])
    expect(r.out).toMatch(/SUCCESS/)
    expect(r.out).toMatch(/- 3 receivers/)
    expect(r.code).toBe(0)
  })
})
