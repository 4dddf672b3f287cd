/**
 * The `jobs` SLO kind: background jobs of one queue, read from `rampart/bullmq`'s metrics.
 * Without `waitSeconds` it is a failure ratio (runs that failed for good among runs that
 * finished: retries and stalls are not failures yet); with it, a queue-wait objective (runs that
 * started within `waitSeconds` of being enqueued). Kept apart from the HTTP kinds: the SLO
 * modules call in here for the few places where a jobs SLO differs.
 */
import { z } from 'zod'
import { JOB_WAIT_BUCKETS_SECONDS } from '../jobs/metrics.js'
import type { Slo, SloConfig } from './options.js'
import { leMatcher, selector } from './promql.js'

const waitBuckets = JOB_WAIT_BUCKETS_SECONDS.join(', ')

/** The schema of a jobs SLO, given the fields every SLO shares (`name`, `objective`, …). */
export function jobsSloSchema<C extends z.ZodRawShape>(common: C) {
  return z.object({
    ...common,
    /** A jobs SLO names a queue, never a route. */
    route: z.undefined({ message: 'a jobs SLO has no route; name its queue' }).optional(),
    /** Background jobs of one queue. */
    kind: z.literal('jobs'),
    /** The queue (`scans`). */
    queue: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected a queue name'),
    /**
     * Queue wait: the share of runs that started within this many seconds. A bucket boundary of
     * `job_wait_seconds`. Without it, the SLO is the share of jobs that did not fail for good.
     */
    waitSeconds: z
      .number()
      .superRefine((t, ctx) => {
        if (!(JOB_WAIT_BUCKETS_SECONDS as readonly number[]).includes(t))
          ctx.addIssue({
            code: 'custom',
            message: `${t} s is not a bucket boundary of job_wait_seconds; use one of ${waitBuckets}`,
          })
      })
      .optional(),
  })
}

export type JobsSlo = Extract<Slo, { kind: 'jobs' }>

const RUNS = 'job_runs_total'
const WAIT = 'job_wait_seconds'

/** The worker process's scrape job: `<service>-worker`. */
export function workerJobName(config: SloConfig): string {
  return `${config.service}-worker`
}

/**
 * Jobs run in the web process or in workers (their own scrape job), so a jobs SLO selects both:
 * the configured selector when there is one, else `job=~"<service>|<service>-worker"`.
 */
function jobsSelector(config: SloConfig, slo: JobsSlo, raw: string[] = []): string {
  return jobsServiceSelector(config, { queue: slo.queue }, raw)
}

/** The service's job series (web and worker processes), plus `labels` and `raw` matchers. */
export function jobsServiceSelector(
  config: SloConfig,
  labels: Record<string, string> = {},
  raw: string[] = [],
): string {
  if (config.selector) return selector({ ...config.selector, ...labels }, raw)
  const jobs = `job=~"${config.service}|${workerJobName(config)}"`
  return selector(labels, [jobs, ...raw])
}

/** Rate of the runs a jobs SLO counts over `window`. */
export function jobsTotalRate(config: SloConfig, slo: JobsSlo, window: string): string {
  return slo.waitSeconds === undefined
    ? `sum(rate(${RUNS}${jobsSelector(config, slo, ['outcome=~"completed|failed"'])}[${window}]))`
    : `sum(rate(${WAIT}_count${jobsSelector(config, slo)}[${window}]))`
}

/** Rate of bad runs over `window`: failed for good, or started later than `waitSeconds`. */
export function jobsBadRate(config: SloConfig, slo: JobsSlo, window: string): string {
  const total = jobsTotalRate(config, slo, window)
  if (slo.waitSeconds === undefined)
    return `(sum(rate(${RUNS}${jobsSelector(config, slo, ['outcome="failed"'])}[${window}])) or 0 * ${total})`
  const good = `sum(rate(${WAIT}_bucket${jobsSelector(config, slo, [leMatcher(slo.waitSeconds)])}[${window}]))`
  return `(${total} - ${good})`
}

/** `99 % of scans jobs started within 30 s over 30d`. */
export function jobsSloTitle(slo: JobsSlo): string {
  const what =
    slo.waitSeconds === undefined
      ? 'finished without failing'
      : `started within ${slo.waitSeconds} s`
  return `${slo.objective} % of ${slo.queue} jobs ${what} over ${slo.window}`
}

/** What the SLO counts, for alert descriptions ("scans jobs"). */
export function jobsSubject(slo: JobsSlo): string {
  return `${slo.queue} jobs`
}

/** Extra labels of `rampart_slo_info` for a jobs SLO. */
export function jobsInfoLabels(slo: JobsSlo): Record<string, string> {
  return {
    rampart_queue: slo.queue,
    ...(slo.waitSeconds === undefined ? {} : { rampart_wait_seconds: String(slo.waitSeconds) }),
  }
}

/** Labels of the synthetic series in promtool tests. */
function sampleLabels(config: SloConfig, slo: JobsSlo): Record<string, string> {
  return {
    ...(config.selector ?? { job: config.service }),
    queue: slo.queue,
    job_name: 'job',
    instance: 'app:3000',
  }
}

/** Input series of a traffic pattern (per-minute totals and bad runs) for promtool. */
export function jobsTrafficSeries(
  config: SloConfig,
  slo: JobsSlo,
  total: number[],
  bad: number[],
  values: (increments: number[]) => string,
): Array<{ series: string; values: string }> {
  const labels = sampleLabels(config, slo)
  const good = total.map((t, i) => t - (bad[i] ?? 0))
  if (slo.waitSeconds === undefined)
    return [
      { series: `${RUNS}${selector({ ...labels, outcome: 'completed' })}`, values: values(good) },
      { series: `${RUNS}${selector({ ...labels, outcome: 'failed' })}`, values: values(bad) },
      // Retries are not failures: a steady stream of them must not move the SLI.
      { series: `${RUNS}${selector({ ...labels, outcome: 'retried' })}`, values: values(bad) },
    ]
  return [
    { series: `${WAIT}_count${selector(labels)}`, values: values(total) },
    {
      series: `${WAIT}_bucket${selector({ ...labels, le: String(slo.waitSeconds) })}`,
      values: values(good),
    },
    { series: `${WAIT}_bucket${selector({ ...labels, le: '+Inf' })}`, values: values(total) },
  ]
}

/** True when two jobs SLOs read the same series the same way (promtool expects both to fire). */
export function sameJobsSli(a: JobsSlo, b: Slo): boolean {
  return b.kind === 'jobs' && a.queue === b.queue && a.waitSeconds === b.waitSeconds
}

/** promtool: with completed runs and no failed series at all, the failure ratio is 0, not empty. */
export function jobsNoFailuresScenario(
  config: SloConfig,
  slo: JobsSlo,
  values: (increments: number[]) => string,
) {
  const id = selector({ rampart_service: config.service, rampart_slo: slo.name })
  return {
    name: `${slo.name}: without any failed series the failure ratio is 0, not empty`,
    interval: '1m',
    input_series: [
      {
        series: `${RUNS}${selector({ ...sampleLabels(config, slo), outcome: 'completed' })}`,
        values: values(Array.from({ length: 20 }, () => 60)),
      },
    ],
    promql_expr_test: [
      {
        expr: `slo:sli_error:ratio_rate5m${id}`,
        eval_time: '15m',
        exp_samples: [{ labels: `slo:sli_error:ratio_rate5m${id}`, value: 0 }],
      },
    ],
  }
}

/** The worker process's Prometheus scrape job, when the bundle runs one (`worker.command`). */
export function workerScrapeConfigs(config: SloConfig): Array<Record<string, unknown>> {
  // Only a worker the bundle runs: a target that never exists would read as a worker down.
  if (config.worker?.command === undefined) return []
  return [
    {
      job_name: workerJobName(config),
      metrics_path: '/metrics',
      // The worker checks the same METRICS_TOKEN as the web process.
      authorization: { type: 'Bearer', credentials_file: 'secrets/metrics-token' },
      static_configs: [{ targets: [`${workerJobName(config)}:${config.worker.port}`] }],
    },
  ]
}

/** Runbook lines for the jobs SLOs, under SLOErrorBudgetBurn: a queue backing up, jobs failing. */
export function jobsRunbook(config: SloConfig): string[] {
  const jobs = config.slos.filter((s): s is JobsSlo => s.kind === 'jobs')
  if (jobs.length === 0) return []
  const wait = jobs.filter((s) => s.waitSeconds !== undefined).map((s) => s.name)
  const fail = jobs.filter((s) => s.waitSeconds === undefined).map((s) => s.name)
  const out = ['### Background jobs', '']
  if (wait.length > 0)
    out.push(
      `**Queue backing up** (${wait.join(', ')}): jobs wait longer than the SLO allows before they start.`,
      '',
      '1. Dashboard, "Queue depth" and "Job wait p95": is `waiting` growing, and since when? Compare with "Job runs by outcome": are runs finishing at all?',
      `2. Are workers up? \`up{job="${workerJobName(config)}"}\`, their \`/readyz\` (Redis reachable) and their logs (\`job.backend_error\`, \`job.stalled\`). With no worker process, jobs run in the web process: look at its logs instead.`,
      '3. If workers are healthy but saturated (`active` equals their concurrency), scale workers out; if one job type is slow ("Job duration"), look at its traces (`<queue> process` spans).',
      '',
    )
  if (fail.length > 0)
    out.push(
      `**Jobs failing** (${fail.join(', ')}): jobs fail for good (every attempt used) more often than the SLO allows.`,
      '',
      '1. Dashboard, "Job failures": which queue and job name; retried without failing for good is noise, `failed` is not.',
      '2. Logs: `event="job.failed"` with `will_retry=false` carries the error, `job_id` and the `request_id` and `trace_id` of the request that enqueued it; error tracking has one report per final failure.',
      '3. Many `stalled` runs mean workers die mid-job (out of memory, killed past their drain deadline): check restarts and the `job.drain_timed_out` line.',
      '',
    )
  return out
}
