import { describe, expect, it } from 'vitest'
import type { SloConfig } from '../../src/slo/options.js'
import { defineConfig } from '../../src/slo/options.js'
import { generateRules } from '../../src/slo/rules.js'
import { AIRLOCK_CONFIG_FILE, cli, tempDir, writeTemp } from './support.js'

const base = (slo: object, extra: object = {}) =>
  `export default ${JSON.stringify({ service: 'shop', ...extra, slos: [slo] })}\n`

describe('SLO config validation (one clear line, exit != 0)', () => {
  const dir = tempDir()
  const cases: Array<[string, string, RegExp]> = [
    [
      'a latency threshold finer than a millisecond',
      base({
        name: 'lat',
        kind: 'latency',
        route: 'POST /login',
        thresholdSeconds: 0.2005,
        objective: 95,
      }),
      /slos\[0\]\.thresholdSeconds \(lat\): must be a whole number of milliseconds \(0\.2, not 0\.2005\)/,
    ],
    [
      'a latency threshold of 0 s',
      base({ name: 'lat', kind: 'latency', thresholdSeconds: 0, objective: 95 }),
      /slos\[0\]\.thresholdSeconds \(lat\): must be above 0 s/,
    ],
    [
      'an objective of 100 %',
      base({ name: 'av', kind: 'availability', objective: 100 }),
      /slos\[0\]\.objective \(av\): must be below 100 %/,
    ],
    [
      'an objective above 100 %',
      base({ name: 'av', kind: 'availability', objective: 120 }),
      /slos\[0\]\.objective \(av\): must be below 100 %/,
    ],
    [
      'an unknown route',
      base(
        { name: 'av', kind: 'availability', route: 'POST /logon', objective: 99 },
        { routes: ['GET /login', 'POST /login'] },
      ),
      /slos\[0\]\.route \(av\): "POST \/logon" is not a route of shop; its routes: GET \/login, POST \/login/,
    ],
    [
      'a route that is a raw URL, not a template',
      base({ name: 'av', kind: 'availability', route: 'POST /login?next=/', objective: 99 }),
      /slos\[0\]\.route \(av\): expected a route template/,
    ],
  ]
  for (const [what, text, message] of cases) {
    it(`refuses ${what}`, async () => {
      const file = writeTemp(dir, `c${cases.findIndex((c) => c[0] === what)}.mjs`, text)
      for (const command of [['slo', 'rules'], ['dashboard'], ['ops', 'init', '--dir', dir]]) {
        const r = await cli([...command, '--config', file], dir)
        expect(r.code).toBe(1)
        expect(r.stdout).toBe('')
        expect(r.stderr.trim().split('\n')).toHaveLength(1)
        expect(r.stderr).toMatch(message)
      }
    })
  }

  it('refuses airlock’s own config with a misspelled SLO route (its routes list is checked)', async () => {
    const { default: airlock } = (await import(AIRLOCK_CONFIG_FILE)) as { default: SloConfig }
    const typo = {
      ...airlock,
      slos: airlock.slos.map((s) =>
        s.route === 'POST /login' ? { ...s, route: 'POST /logn' } : s,
      ),
    }
    const file = writeTemp(dir, 'airlock-typo.mjs', `export default ${JSON.stringify(typo)}\n`)
    const r = await cli(['slo', 'rules', '--config', file], dir)
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(
      /\(login-latency\): "POST \/logn" is not a route of airlock; its routes: GET \/, /,
    )
    // The real file passes.
    expect((await cli(['slo', 'rules', '--config', AIRLOCK_CONFIG_FILE], dir)).code).toBe(0)
  })

  it('names a missing config file, and a file without a default export', async () => {
    const missing = await cli(['slo', 'rules'], dir)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(
      /^rampart slo rules: no rampart\.config\.ts in .*; create one with defineConfig\(\) or pass --config <file>\n$/,
    )
    const noExport = writeTemp(dir, 'none.mjs', 'export const x = 1\n')
    const r = await cli(['slo', 'rules', '--config', noExport], dir)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/has no default export; export default defineConfig/)
    const broken = writeTemp(dir, 'broken.ts', 'export default {{\n')
    const b = await cli(['slo', 'rules', '--config', broken], dir)
    expect(b.code).toBe(1)
    expect(b.stderr.trim().split('\n')).toHaveLength(1)
    expect(b.stderr).toMatch(/broken\.ts: cannot load: /)
  })

  it('refuses unknown options with a usage line (exit 2) and prints --help', async () => {
    const r = await cli(['slo', 'rules', '--bogus'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/Unknown option '--bogus'.*; see --help/)
    const h = await cli(['slo', 'rules', '--help'])
    expect(h.code).toBe(0)
    expect(h.stdout).toMatch(/^Usage: rampart slo rules/)
  })

  it('rounds budgets, scales burn factors with the window, and drops tiers that can never fire', () => {
    const c = defineConfig({
      service: 'shop',
      slos: [
        { name: 'a', kind: 'availability', objective: 99.9 },
        { name: 'b', kind: 'availability', objective: 99.9, window: '28d' },
        { name: 'c', kind: 'latency', thresholdSeconds: 0.5, objective: 90 },
      ],
    })
    const { groups, warnings } = generateRules(c)
    const burn = groups.flatMap((g) => g.rules).filter((r) => r.alert === 'SLOErrorBudgetBurn')
    const of = (slo: string) =>
      burn.filter((r) => r.labels?.rampart_slo === slo).map((r) => r.labels?.burn_rate)
    expect(of('a')).toEqual(['14.4', '6', '3', '1'])
    expect(of('b')).toEqual(['13.44', '5.6', '2.8', '1'])
    expect(burn.find((r) => r.labels?.rampart_slo === 'a')?.expr).toContain('>= 0.0144 and')
    expect(JSON.stringify(groups)).not.toMatch(/0\.000999/)
    // 90 %: 14.4x of a 10 % budget is 144 % bad, impossible; 6x is 60 %, possible.
    expect(of('c')).toEqual(['6', '3', '1'])
    expect(warnings).toEqual([
      expect.stringMatching(
        /SLO "c": the 14\.4x page tier \(1h\/5m\) is left out: it would need 144 % of all requests to fail/,
      ),
    ])
  })
})
