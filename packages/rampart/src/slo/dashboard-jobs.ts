import type { PanelSpec } from './dashboard.js'
import { jobsServiceSelector } from './jobs.js'
import type { SloConfig } from './options.js'

/**
 * The background-job rows of the dashboard (`rampart/bullmq`'s metrics), for a service with a
 * jobs SLO or a worker process: run rate by outcome, failures, duration, wait, queue depth.
 */
export function jobsPanels(config: SloConfig): PanelSpec[] {
  if (config.worker === undefined && !config.slos.some((s) => s.kind === 'jobs')) return []
  const sel = jobsServiceSelector(config)
  const failed = jobsServiceSelector(config, {}, ['outcome=~"failed|retried|stalled"'])
  const quantile = (metric: string, q: number) =>
    `histogram_quantile(${q}, sum by (queue, le) (rate(${metric}_bucket${sel}[5m])))`
  return [
    {
      title: 'Job runs by outcome',
      description:
        'Job runs finished per second, by queue and outcome (completed, failed, retried, stalled).',
      type: 'timeseries',
      w: 12,
      unit: 'ops',
      targets: [
        {
          expr: `sum by (queue, outcome) (rate(job_runs_total${sel}[5m]))`,
          legend: '{{queue}} {{outcome}}',
        },
      ],
    },
    {
      title: 'Job failures',
      description:
        'Runs that failed (for good), were retried, or stalled (their worker died), per second, by queue and job.',
      type: 'timeseries',
      w: 12,
      unit: 'ops',
      targets: [
        {
          expr: `sum by (queue, job_name, outcome) (rate(job_runs_total${failed}[5m]))`,
          legend: '{{queue}}/{{job_name}} {{outcome}}',
        },
      ],
    },
    {
      title: 'Job duration p50/p95',
      description: 'Processing time of job runs by queue.',
      type: 'timeseries',
      w: 8,
      unit: 's',
      targets: [
        { expr: quantile('job_duration_seconds', 0.5), legend: '{{queue}} p50' },
        { expr: quantile('job_duration_seconds', 0.95), legend: '{{queue}} p95' },
      ],
    },
    {
      title: 'Job wait p95',
      description:
        'Time from enqueue to the start of a run (the queue latency users feel), by queue.',
      type: 'timeseries',
      w: 8,
      unit: 's',
      targets: [{ expr: quantile('job_wait_seconds', 0.95), legend: '{{queue}} p95' }],
    },
    {
      title: 'Queue depth',
      description:
        'Jobs waiting, active, delayed and failed per queue, read from Redis at each scrape (every process reports the queues it knows: max, not sum).',
      type: 'timeseries',
      w: 8,
      unit: 'short',
      targets: [
        {
          expr: `max by (queue, state) (queue_jobs${sel})`,
          legend: '{{queue}} {{state}}',
        },
      ],
    },
  ]
}
