/**
 * Every alert Rampart generates, with what it means and what to do: the rules' annotations and
 * the runbook are both rendered from this one list, so they cannot drift apart.
 */
export interface AlertDoc {
  readonly name: string
  readonly severity: 'page' | 'ticket' | 'page or ticket'
  readonly meaning: string
  readonly actions: readonly string[]
}

export const ALERT_DOCS: readonly AlertDoc[] = [
  {
    name: 'SLOErrorBudgetBurn',
    severity: 'page or ticket',
    meaning:
      'The SLO is failing fast enough, over both a long and a short window, to spend a set share of its error budget: a page means the budget is gone within days at this rate, a ticket within weeks. The `long_window`, `short_window` and `burn_rate` labels say which of the four tiers fired; the short window resets the alert soon after the problem stops.',
    actions: [
      'Open the service dashboard: find the route and status behind the error or latency ratio ("Error rate by route", "Latency p95/p99").',
      'Check what changed in the long window: deploys, configuration, dependencies (database, Redis), traffic shape.',
      'Mitigate first (roll back, scale out, shed load), then find the cause; for a latency SLO look at the slowest traces of the route.',
      'A ticket-tier alert can wait for working hours, but should be understood before the budget runs out.',
    ],
  },
  {
    name: 'SLOLatencyBucketMissing',
    severity: 'ticket',
    meaning:
      "The service serves the SLO's route, but the histogram has no bucket at the SLO's threshold, so the latency SLI is empty and its burn alerts can never fire.",
    actions: [
      'Compare the threshold in rampart.config.ts with the `le` values `/metrics` exposes for http_request_duration_seconds_bucket.',
      'The service adds each latency threshold of the rampart.config.ts it was started with as a bucket: a missing bucket means the running service read an older or different config (or was not given `slo` at all). Redeploy it with the same config the rules were generated from.',
    ],
  },
  {
    name: 'ServiceTargetDown',
    severity: 'page',
    meaning:
      'Prometheus cannot scrape the service (the instance is down, unreachable, or /metrics refuses the token), or has no target for it at all.',
    actions: [
      'Check the instance: is it running, is `/healthz` answering, did it restart (look for the last `service.started` and crash logs)?',
      "If the service is up, check the scrape: `up` and `scrape_samples_scraped` on Prometheus' Targets page; a 401 means METRICS_TOKEN differs between the service and prometheus.yml.",
    ],
  },
  {
    name: 'ServiceProbeFailed',
    severity: 'page',
    meaning:
      "The blackbox exporter's probe from outside the process has not had a 200 from `/healthz` or `/readyz` for 2 minutes (the `instance` label is the URL). Either users cannot reach the service (DNS, load balancer, TLS, network) or it answers but is not ready (a dependency check fails, or it is draining).",
    actions: [
      "Open the URL in the alert's `instance` label yourself; `probe_http_status_code`, `probe_failed_due_to_regex` and the exporter's `/probe?target=<url>&module=<module>&debug=true` page say which step failed (DNS, connect, TLS, status).",
      'If `/healthz` fails too, the process is down or unreachable: check ServiceTargetDown and the load balancer. If only `/readyz` fails, its body names the failing check (database, Redis).',
    ],
  },
  {
    name: 'ServiceCertificateExpiringSoon',
    severity: 'ticket',
    meaning:
      'The certificate the service presents over HTTPS (probed through `publicUrl`) expires in less than 14 days. After it expires every client refuses the connection. Only HTTPS targets report an expiry, so this alert never fires for plain HTTP.',
    actions: [
      'Check the renewal job (ACME client, cert-manager) and its logs; renew by hand if it is stuck.',
      'After renewing, confirm `probe_ssl_earliest_cert_expiry` moved forward: a proxy may still serve the old certificate until reloaded.',
    ],
  },
  {
    name: 'ServiceInFlightRequestsHigh',
    severity: 'ticket',
    meaning:
      'An instance has had more requests in flight than the saturation threshold for 10 minutes: requests queue up faster than they finish, so latency will follow.',
    actions: [
      'Look for a slow dependency (database, Redis, upstream APIs) in traces and in the latency panels.',
      'Scale out, or lower the rate limits of the heaviest policy while investigating.',
    ],
  },
  {
    name: 'ServiceEventLoopLagHigh',
    severity: 'ticket',
    meaning:
      'The Node.js event loop of an instance has lagged behind for 10 minutes: synchronous work (CPU-heavy code, large JSON, sync I/O) blocks every request on that instance.',
    actions: [
      'Take a CPU profile of the instance (`node --cpu-prof`, or the inspector) and look for long synchronous frames.',
      'Check CPU limits and throttling of the container; move CPU-heavy work (hashing, compression) off the request path.',
    ],
  },
  {
    name: 'ServiceErrorSpike',
    severity: 'ticket',
    meaning:
      'The service sent at least 10 error reports to Sentry in 5 minutes, 5 times the rate of the hour before: a new failure (a 5xx from a handler, a crash, a background job failing its last attempt) started. Only services with error tracking on (`SENTRY_DSN`) have the `rampart_error_reports_total` series this watches.',
    actions: [
      "Open Sentry for the service and the alert's time window, sorted by events: the new issue is usually on top. Its `route`, `status` and `release` tags say where and since which deploy.",
      "Follow one event: its `request_id` tag finds the request's log lines (`request.failed` has the stack), its `trace_id` tag (the same as the logs' and the trace's) opens the trace.",
      'A spike right after a deploy: roll back first. A spike of crashes (`origin` tag `uncaught_exception`): look for `process.crashed` lines and restarts.',
      'If Sentry shows fewer events than the spike, check `rampart_error_reports_dropped_total` (the Sentry endpoint slow or down, or the queue full): reports are dropped, never waited for.',
    ],
  },
]

/** The runbook anchor of an alert (GitHub-style heading slug). */
export function runbookAnchor(alert: string): string {
  return alert.toLowerCase()
}
