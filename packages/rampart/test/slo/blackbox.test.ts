import { spawn } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { generateOpsBundle } from '../../src/ops/bundle.js'
import { loadConfig } from '../../src/slo/load-config.js'
import { defineConfig } from '../../src/slo/options.js'
import { listeningAirlock } from '../support/airlock.js'
import { freePort } from '../support/free-port.js'
import { startPrometheus, until } from '../support/prometheus.js'
import { service } from '../support/services.js'
import { AIRLOCK_CONFIG_FILE, REPO_ROOT, run, tempDir } from './support.js'

const BLACKBOX = service('BLACKBOX_EXPORTER_BIN')
const PROMETHEUS = service('PROMETHEUS_BIN')

interface ScrapeJob {
  job_name: string
  params: { module: string[] }
  static_configs: Array<{ targets: string[] }>
  relabel_configs: Array<{ target_label: string; replacement?: string }>
}

describe('the probe job', () => {
  it('probes publicUrl over HTTPS with the certificate-checking module when given one', async () => {
    const { config } = await loadConfig(REPO_ROOT, AIRLOCK_CONFIG_FILE)
    const prom = parse(
      generateOpsBundle({ ...config, publicUrl: 'https://airlock.example.org/' }).get(
        'prometheus.yml',
      ) as string,
    ) as { scrape_configs: ScrapeJob[] }
    const job = prom.scrape_configs.find((j) => j.job_name === 'airlock-probe')
    expect(job?.params.module).toEqual(['https_2xx'])
    expect(job?.static_configs[0]?.targets).toEqual([
      'https://airlock.example.org/healthz',
      'https://airlock.example.org/readyz',
    ])
    const blackbox = parse(generateOpsBundle(config).get('blackbox.yml') as string)
    expect(blackbox.modules.https_2xx.http).toMatchObject({
      fail_if_not_ssl: true,
      tls_config: { insecure_skip_verify: false },
    })
  })

  it('refuses a publicUrl that is not an http(s) URL', () => {
    expect(() =>
      defineConfig({
        service: 'shop',
        publicUrl: 'airlock.example.org',
        slos: [{ name: 'a', kind: 'availability', objective: 99 }],
      }),
    ).toThrow('config: publicUrl: expected an http:// or https:// URL without a query')
  })
})

describe.skipIf(!BLACKBOX)('the blackbox probe from outside', () => {
  const exporter = BLACKBOX as string

  it('ops/blackbox.yml passes the exporter’s --config.check, and a broken module does not', async () => {
    const ok = await run(exporter, [
      '--config.check',
      `--config.file=${join(REPO_ROOT, 'ops/blackbox.yml')}`,
    ])
    expect(ok.out).toContain('Config file is ok')
    expect(ok.code).toBe(0)
    const dir = tempDir()
    const broken = join(dir, 'blackbox.yml')
    writeFileSync(
      broken,
      readFileSync(join(REPO_ROOT, 'ops/blackbox.yml'), 'utf8').replace(
        'valid_status_codes',
        'valid_status_code',
      ),
    )
    const bad = await run(exporter, ['--config.check', `--config.file=${broken}`])
    expect(bad.out).toMatch(/Error loading config.*field valid_status_code not found/)
    expect(bad.code).not.toBe(0)
  })

  it.skipIf(!PROMETHEUS)(
    'Prometheus scrapes probe_success 1 for airlock through the generated probe job, and 0 once airlock stops',
    async () => {
      const { config } = await loadConfig(REPO_ROOT, AIRLOCK_CONFIG_FILE)
      const bundle = generateOpsBundle(config)
      const prometheusYml = parse(bundle.get('prometheus.yml') as string) as {
        scrape_configs: ScrapeJob[]
      }
      const job = prometheusYml.scrape_configs.find((j) => j.job_name === 'airlock-probe')
      expect(job?.static_configs[0]?.targets).toEqual([
        'http://airlock:3000/healthz',
        'http://airlock:3000/readyz',
      ])

      const dir = tempDir()
      writeFileSync(join(dir, 'blackbox.yml'), bundle.get('blackbox.yml') as string)
      const port = await freePort()
      const child = spawn(
        exporter,
        [`--config.file=${join(dir, 'blackbox.yml')}`, `--web.listen-address=127.0.0.1:${port}`],
        { stdio: 'ignore' },
      )
      const airlock = await listeningAirlock()
      // The generated job as it is, but aimed at this airlock and this exporter.
      const local = structuredClone(job as ScrapeJob)
      local.static_configs = [{ targets: [`${airlock.url}/healthz`, `${airlock.url}/readyz`] }]
      for (const r of local.relabel_configs)
        if (r.target_label === '__address__') r.replacement = `127.0.0.1:${port}`
      const prom = await startPrometheus(PROMETHEUS as string, {
        job: 'blackbox-exporter',
        target: `127.0.0.1:${port}`,
        scrapeConfigs: [local],
      })
      let closed = false
      try {
        const probes = async () =>
          (await prom.query('probe_success{job="airlock-probe"}')).sort().join(',')
        await until('both probes succeed', async () =>
          (await probes()) === '1,1' ? true : undefined,
        )
        const [status] = await prom.query(
          `probe_http_status_code{job="airlock-probe",instance="${airlock.url}/readyz"}`,
        )
        expect(status).toBe(200)
        await airlock.close()
        closed = true
        await until('both probes fail', async () => ((await probes()) === '0,0' ? true : undefined))
      } finally {
        prom.stop()
        child.kill('SIGTERM')
        if (!closed) await airlock.close()
        rmSync(dir, { recursive: true, force: true })
      }
    },
    90_000,
  )
})
