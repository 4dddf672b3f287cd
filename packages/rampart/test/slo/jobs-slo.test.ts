import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { generateOpsBundle } from '../../src/ops/bundle.js'
import { generateDashboard } from '../../src/slo/dashboard.js'
import { parseConfig } from '../../src/slo/options.js'
import { renderRuleTests } from '../../src/slo/rule-tests.js'
import { generateRules } from '../../src/slo/rules.js'
import { renderRunbook } from '../../src/slo/runbook.js'

const config = parseConfig({
  service: 'shop',
  worker: { port: 9100 },
  slos: [
    { name: 'mail-start', kind: 'jobs', queue: 'mail', waitSeconds: 60, objective: 99 },
    { name: 'mail-ok', kind: 'jobs', queue: 'mail', objective: 99.5 },
  ],
})

describe('the jobs SLO kind', () => {
  it('refuses a wait that is not a job_wait_seconds bucket, and a route, in one line', () => {
    expect(() =>
      parseConfig({
        service: 'shop',
        slos: [{ name: 'm', kind: 'jobs', queue: 'mail', waitSeconds: 45, objective: 99 }],
      }),
    ).toThrow(
      'config: slos[0].waitSeconds (m): 45 s is not a bucket boundary of job_wait_seconds; use one of 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600',
    )
    expect(() =>
      parseConfig({
        service: 'shop',
        slos: [{ name: 'm', kind: 'jobs', queue: 'mail', route: '/x', objective: 99 }],
      }),
    ).toThrow('slos[0].route (m): a jobs SLO has no route; name its queue')
  })

  it('reads failures (not retries) and the wait bucket, from the web and worker scrape jobs', () => {
    const records = generateRules(config).groups.flatMap((g) => g.rules)
    const of = (slo: string) =>
      records.find(
        (r) => r.record === 'slo:sli_error:ratio_rate5m' && r.labels?.rampart_slo === slo,
      )?.expr
    expect(of('mail-ok')).toBe(
      '(sum(rate(job_runs_total{queue="mail",job=~"shop|shop-worker",outcome="failed"}[5m])) or 0 * sum(rate(job_runs_total{queue="mail",job=~"shop|shop-worker",outcome=~"completed|failed"}[5m]))) / sum(rate(job_runs_total{queue="mail",job=~"shop|shop-worker",outcome=~"completed|failed"}[5m]))',
    )
    expect(of('mail-start')).toContain(
      'job_wait_seconds_bucket{queue="mail",job=~"shop|shop-worker",le=~"60|60\\\\.0"}',
    )
    const burn = records.find(
      (r) => r.alert === 'SLOErrorBudgetBurn' && r.labels?.rampart_slo === 'mail-ok',
    )
    expect(burn?.annotations?.description).toContain('of mail jobs were bad')
    const info = records.find(
      (r) => r.record === 'rampart_slo_info' && r.labels?.rampart_slo === 'mail-start',
    )
    expect(info?.labels).toMatchObject({
      rampart_kind: 'jobs',
      rampart_queue: 'mail',
      rampart_wait_seconds: '60',
    })
  })

  it('generates promtool tests that feed retries the failure SLI must ignore', () => {
    const doc = parse(renderRuleTests(config, 'shop.rules.yml')) as {
      tests: Array<{ name: string; input_series: Array<{ series: string }> }>
    }
    const burn = doc.tests.find((t) => t.name.startsWith('mail-ok: a 14.4x burn'))
    expect(burn?.input_series.map((s) => s.series)).toEqual([
      'job_runs_total{job="shop",queue="mail",job_name="job",instance="app:3000",outcome="completed"}',
      'job_runs_total{job="shop",queue="mail",job_name="job",instance="app:3000",outcome="failed"}',
      'job_runs_total{job="shop",queue="mail",job_name="job",instance="app:3000",outcome="retried"}',
    ])
    expect(doc.tests.some((t) => t.name.startsWith('mail-ok: without any failed series'))).toBe(
      true,
    )
  })

  it('adds the worker scrape job, the job dashboard rows and the runbook entries', () => {
    const prometheus = parse(generateOpsBundle(config).get('prometheus.yml') as string) as {
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>
    }
    // A worker the bundle does not run (no `command`) is not scraped: it would read as down.
    expect(prometheus.scrape_configs.map((j) => j.job_name)).not.toContain('shop-worker')
    const deployed = {
      ...config,
      worker: { port: 9100, command: ['node', 'worker.js'], env: { QUEUE_MODE: 'off' } },
    }
    const bundle = generateOpsBundle(deployed)
    const scraped = parse(bundle.get('prometheus.yml') as string) as typeof prometheus
    expect(
      scraped.scrape_configs.find((j) => j.job_name === 'shop-worker')?.static_configs,
    ).toEqual([{ targets: ['shop-worker:9100'] }])
    // …and deployed: the same image with its own command, the service's settings plus `env`
    // (the web process gets `env` too), its port, and a readiness healthcheck on that port.
    const compose = parse(bundle.get('compose.yml') as string) as {
      services: Record<string, { command?: string[]; environment: Record<string, string> }>
    }
    const worker = compose.services['shop-worker']
    expect(worker?.command).toEqual(['node', 'worker.js'])
    expect(worker?.environment).toMatchObject({ WORKER_PORT: '9100', QUEUE_MODE: 'off' })
    expect(compose.services.shop?.environment.QUEUE_MODE).toBe('off')
    expect(bundle.get('k8s/worker-deployment.yaml')).toContain('- worker.js')
    const titles = generateDashboard(config).panels.map((p) => p.title)
    expect(titles).toEqual(
      expect.arrayContaining([
        'Job runs by outcome',
        'Job failures',
        'Job duration p50/p95',
        'Job wait p95',
        'Queue depth',
      ]),
    )
    const runbook = renderRunbook(config)
    expect(runbook).toContain('**Queue backing up** (mail-start)')
    expect(runbook).toContain('**Jobs failing** (mail-ok)')
  })
})
