import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parser } from '@prometheus-io/lezer-promql'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { envSchema } from '../../src/config/env.js'
import { generateOpsBundle } from '../../src/ops/bundle.js'
import { SECRET_VARS } from '../../src/ops/env.js'
import { ALERT_DOCS } from '../../src/slo/alerts.js'
import { dashboardExpressions, generateDashboard } from '../../src/slo/dashboard.js'
import { grafanaDashboardSchema } from '../../src/slo/dashboard-schema.js'
import { loadConfig } from '../../src/slo/load-config.js'
import { generateRules } from '../../src/slo/rules.js'
import { grafanaSchemaErrors } from './grafana-types.js'
import { AIRLOCK_CONFIG_FILE, REPO_ROOT, VARIED } from './support.js'

/** Error nodes (⚠) the PromQL grammar of Prometheus' own UI finds in an expression. */
function promqlErrors(expr: string): string[] {
  const errors: string[] = []
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError)
        errors.push(
          `error at ${node.from}: ${expr.slice(Math.max(0, node.from - 20), node.to + 20)}`,
        )
    },
  })
  return errors
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

describe('Grafana dashboard', () => {
  it('the PromQL check catches a broken expression (so it can fail)', () => {
    expect(promqlErrors('sum(rate(x[5m]) /')).not.toEqual([])
    expect(promqlErrors('rate(x[5 m])')).not.toEqual([])
    expect(promqlErrors('sum by (le) (rate(x_bucket{a="b"}[5m]))')).toEqual([])
  })

  for (const [name, load] of [
    ['airlock', async () => (await loadConfig(REPO_ROOT, AIRLOCK_CONFIG_FILE)).config],
    ['a varied config', async () => VARIED],
  ] as const) {
    it(`${name}: validates against the dashboard schema; every panel query and rule parses as PromQL`, async () => {
      const config = await load()
      const dashboard = generateDashboard(config)
      const result = grafanaDashboardSchema.safeParse(dashboard)
      expect(result.error?.issues ?? []).toEqual([])
      expect(grafanaSchemaErrors(dashboard)).toEqual([])
      const exprs = dashboardExpressions(dashboard)
      expect(exprs.length).toBeGreaterThan(10)
      for (const e of exprs) expect(promqlErrors(e), e).toEqual([])
      for (const r of generateRules(config).groups.flatMap((g) => g.rules))
        expect(promqlErrors(r.expr), r.expr).toEqual([])
    })
  }

  it("Grafana's schema check catches a wrong type, an unknown field and a missing required one", () => {
    const dashboard = generateDashboard(VARIED) as unknown as Record<string, unknown>
    expect(grafanaSchemaErrors({ ...dashboard, graphTooltip: 'shared' }).join('\n')).toMatch(
      /graphTooltip/,
    )
    expect(grafanaSchemaErrors({ ...dashboard, dashboardColour: 'red' }).join('\n')).toMatch(
      /dashboardColour/,
    )
    const { schemaVersion: _, ...noVersion } = dashboard
    expect(grafanaSchemaErrors(noVersion).join('\n')).toMatch(/schemaVersion/)
  })

  it('has the panels of the issue, with the SLO thresholds drawn on the latency panels', async () => {
    const { config } = await loadConfig(REPO_ROOT, AIRLOCK_CONFIG_FILE)
    const d = generateDashboard(config)
    const titles = d.panels.map((p) => p.title)
    for (const t of [
      'Latency p50 / p95 / p99 by route',
      'Requests per second by route',
      'Error rate (5xx share) by route',
      'Rate-limit blocks',
      'CSRF blocks',
      'Requests in flight',
      'Event-loop lag',
      'login-latency: compliance (30d)',
      'login-latency: error budget remaining',
      'login-latency: burn rate',
      'availability: burn rate',
      'login-latency: p95 latency of POST /login',
    ])
      expect(titles).toContain(t)
    const drawn = (title: string) =>
      d.panels
        .find((p) => p.title === title)
        ?.fieldConfig.defaults.thresholds.steps.map((s) => s.value)
    expect(drawn('Latency p50 / p95 / p99 by route')).toEqual([null, 0.2, 0.5])
    expect(drawn('login-latency: p95 latency of POST /login')).toEqual([null, 0.5])
    expect(d.templating.list[0]).toMatchObject({
      name: 'datasource',
      type: 'datasource',
      query: 'prometheus',
    })
    expect(JSON.stringify(d.panels)).not.toMatch(/"uid":"(?!\$\{datasource\})/)
  })

  it('has rows for SLO burn, auth health and business counters, latency exemplars, and links exemplars to Tempo', async () => {
    const { config } = await loadConfig(REPO_ROOT, AIRLOCK_CONFIG_FILE)
    const d = generateDashboard(config)
    const rows = d.panels.filter((p) => p.type === 'row')
    expect(rows.map((r) => r.title)).toEqual([
      'SLO burn',
      'SLOs',
      'Traffic, latency and saturation',
      'Auth health',
      'Business',
      'Jobs',
    ])
    // Which row a panel sits in: the last row above it.
    const rowOf = (title: string) => {
      const p = d.panels.find((x) => x.title === title)
      expect(p, title).toBeDefined()
      return rows.filter((r) => r.gridPos.y < (p?.gridPos.y ?? 0)).at(-1)?.title
    }
    expect(rowOf('SLO burn rate (5m) of every SLO')).toBe('SLO burn')
    expect(rowOf('Burn alerts firing')).toBe('SLO burn')
    for (const t of [
      'Login attempts per hour',
      'Security events by kind',
      '401 / 403 / 429 by route',
      'CSRF blocks',
      'Rate-limit blocks',
    ])
      expect(rowOf(t), t).toBe('Auth health')
    for (const t of [
      'Requests submitted per hour',
      'Requests approved per hour',
      'Requests rejected per hour',
      'login-success: good and total events',
    ])
      expect(rowOf(t), t).toBe('Business')
    const exprOf = (title: string) =>
      d.panels.flatMap((p) => (p.title === title && 'targets' in p ? (p.targets ?? []) : []))
    expect(exprOf('Requests submitted per hour')[0]?.expr).toBe(
      'sum by (direction) (increase(airlock_requests_submitted_total{job="airlock"}[1h]))',
    )
    // Exemplars on the latency panels (once per panel), nowhere else.
    const withExemplars = d.panels.filter(
      (p) => 'targets' in p && (p.targets ?? []).some((t) => 'exemplar' in t && t.exemplar),
    )
    expect(withExemplars.map((p) => p.title).sort()).toEqual([
      'Latency p50 / p95 / p99 by route',
      'login-latency: p95 latency of POST /login',
      'request-list-latency: p99 latency of GET /api/v1/requests',
    ])
    // The provisioned Prometheus datasource turns an exemplar's trace_id into a Tempo link.
    const ds = parse(
      generateOpsBundle(config).get('grafana/provisioning/datasources/datasources.yml') as string,
    ) as { datasources: Array<{ type: string; uid: string; jsonData?: Record<string, unknown> }> }
    const tempo = ds.datasources.find((x) => x.type === 'tempo')
    const prometheus = ds.datasources.find((x) => x.type === 'prometheus')
    expect(prometheus?.jsonData?.exemplarTraceIdDestinations).toEqual([
      { name: 'trace_id', datasourceUid: tempo?.uid, urlDisplayLabel: 'Open trace' },
    ])
    const compose = parse(generateOpsBundle(config).get('compose.yml') as string)
    expect(compose.services.prometheus.command).toContain('--enable-feature=exemplar-storage')
  })

  it('the schema rejects what Grafana would (overlapping ids, off-grid panels, a missing datasource variable)', async () => {
    const d = generateDashboard(VARIED)
    const bad = structuredClone(d)
    bad.panels[1] = {
      ...(bad.panels[1] as (typeof bad.panels)[number]),
      id: 1,
      gridPos: { x: 20, y: 0, w: 8, h: 8 },
    }
    bad.templating.list = []
    const issues = grafanaDashboardSchema.safeParse(bad).error?.issues.map((i) => i.message) ?? []
    expect(issues).toEqual(
      expect.arrayContaining([
        'a panel must fit the 24-column grid',
        'needs a "datasource" variable of type datasource',
        'panel ids must be unique',
      ]),
    )
  })
})

describe("airlock's ops bundle (ops/ at the repository root)", () => {
  it('is current: regenerating from examples/airlock/rampart.config.ts gives the committed files', async () => {
    const { config } = await loadConfig(REPO_ROOT, AIRLOCK_CONFIG_FILE)
    const bundle = generateOpsBundle(config)
    const ops = join(REPO_ROOT, 'ops')
    const onDisk = filesUnder(ops)
      .map((f) => relative(ops, f))
      .filter((f) => f !== 'secrets/metrics-token')
      .sort()
    expect(onDisk).toEqual([...bundle.keys()].sort())
    for (const [path, content] of bundle)
      expect(
        readFileSync(join(ops, path), 'utf8'),
        `ops/${path} is stale: run "npx rampart ops init --dir ../../ops" in examples/airlock`,
      ).toBe(content)
  })

  it('every YAML and JSON file parses; the ConfigMap carries every configuration variable', () => {
    const ops = join(REPO_ROOT, 'ops')
    let parsed = 0
    for (const file of filesUnder(ops)) {
      if (/\.ya?ml$/.test(file)) {
        expect(() => parse(readFileSync(file, 'utf8')), file).not.toThrow()
        parsed++
      } else if (file.endsWith('.json')) {
        expect(() => JSON.parse(readFileSync(file, 'utf8')), file).not.toThrow()
        parsed++
      }
    }
    expect(parsed).toBe(25)
    // Every variable of the schema is in the ConfigMap, or a secret the Deployment reads from
    // its Secret: a variable added to the schema fails here until the bundle is regenerated.
    const configMap = parse(readFileSync(join(ops, 'k8s/configmap.yaml'), 'utf8'))
    // Beside them, airlock's own settings for handing scans to the worker the bundle runs.
    const workerEnv = ['AIRLOCK_WORKER', 'REDIS_URL']
    const covered = [...Object.keys(configMap.data), ...SECRET_VARS]
    expect(covered.sort()).toEqual([...Object.keys(envSchema.shape), ...workerEnv].sort())
    expect(configMap.data.NODE_ENV).toBe('production')
    expect(configMap.data.RATE_LIMIT_STORE).toMatch(/^redis:\/\//)
    const compose = parse(readFileSync(join(ops, 'compose.yml'), 'utf8'))
    expect(Object.keys(compose.services).sort()).toEqual([
      'airlock',
      'airlock-worker',
      'alertmanager',
      'blackbox',
      'grafana',
      'otel-collector',
      'postgres',
      'prometheus',
      'redis',
      'tempo',
    ])
    const prom = parse(readFileSync(join(ops, 'prometheus.yml'), 'utf8'))
    expect(prom.scrape_configs[0]).toMatchObject({
      job_name: 'airlock',
      authorization: { type: 'Bearer' },
    })
  })

  it("the runbook has one section per alert the rules raise, and docs/runbook.md is airlock's", async () => {
    const { config } = await loadConfig(REPO_ROOT, AIRLOCK_CONFIG_FILE)
    const runbook = readFileSync(join(REPO_ROOT, 'ops/runbook.md'), 'utf8')
    const sections = [...runbook.matchAll(/^## (\S+)$/gm)].map((m) => m[1])
    const alerts = [
      ...new Set(
        generateRules(config).groups.flatMap((g) =>
          g.rules.flatMap((r) => (r.alert ? [r.alert] : [])),
        ),
      ),
    ]
    expect(sections.sort()).toEqual(alerts.sort())
    expect(alerts.sort()).toEqual(ALERT_DOCS.map((a) => a.name).sort())
    for (const r of generateRules(config)
      .groups.flatMap((g) => g.rules)
      .filter((x) => x.alert))
      expect(r.annotations?.runbook_url).toBe(`runbook.md#${r.alert?.toLowerCase()}`)
    expect(existsSync(join(REPO_ROOT, 'docs/runbook.md'))).toBe(true)
    expect(readFileSync(join(REPO_ROOT, 'docs/runbook.md'), 'utf8')).toBe(runbook)
  })
})
