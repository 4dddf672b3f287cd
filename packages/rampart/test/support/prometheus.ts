import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.js'

/** Polls `fn` every 250 ms until it returns something other than undefined. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 40_000,
): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

export interface RunningPrometheus {
  /** Instant query through the HTTP API: the value of each series in the result. */
  query(promql: string): Promise<number[]>
  stop(): void
}

/**
 * Starts the real Prometheus binary on 127.0.0.1 with a 1 s scrape and evaluation interval,
 * scraping `target` (host:port) as `job`, with the given rules files copied in by the caller.
 */
export async function startPrometheus(
  binary: string,
  options: {
    job: string
    target: string
    ruleFiles?: Array<{ name: string; text: string }>
    /** More scrape jobs, as prometheus.yml holds them (written as JSON, which is YAML too). */
    scrapeConfigs?: object[]
  },
): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-prom-'))
  const rules = options.ruleFiles ?? []
  for (const r of rules) writeFileSync(join(dir, r.name), r.text)
  const port = await freePort()
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      ...(rules.length ? [`rule_files: [${rules.map((r) => r.name).join(', ')}]`] : []),
      'scrape_configs:',
      `  - job_name: ${options.job}`,
      '    static_configs:',
      `      - targets: ['${options.target}']`,
      ...(options.scrapeConfigs ?? []).map((c) => `  - ${JSON.stringify(c)}`),
      '',
    ].join('\n'),
  )
  const child = spawn(
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  )
  return {
    async query(promql) {
      const res = await fetch(
        `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`,
      )
      const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } }
      return body.data.result.map((r) => Number(r.value[1]))
    },
    stop() {
      child.kill('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
